// The bytes of a `fetch` stream (docs/TPDP.md §6.2): the client sends a request head and then the
// body, and half-closes; the exit answers a response head, then the body, and half-closes.
// A head is HEADLEN (4) | VERSION (1) | fields, each string length-prefixed, all bounded.
import { concatBytes, fromUtf8, readU16, readU32, utf8, writeU16, writeU32 } from './bytes.ts';
import { TpdpError } from './errors.ts';

export const FETCH_CODEC_VERSION = 1;
/** Bound on an encoded head (as Node's default HTTP header limit, 16 KiB, times four). */
export const MAX_HEAD_BYTES = 64 * 1024;
export const MAX_HEADERS = 256;

export interface RequestHead {
  method: string;
  url: string;
  headers: [string, string][];
}

export interface ResponseHead {
  status: number;
  statusText: string;
  headers: [string, string][];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; never CR or LF (no header injection).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
// A reason phrase crosses as printable ASCII only: it must fit a Response's ByteString statusText.
const REASON_PHRASE = /^[\t\x20-\x7e]*$/;

class Writer {
  private parts: Uint8Array[] = [];
  u8(value: number) {
    this.parts.push(Uint8Array.of(value));
  }
  u16(value: number) {
    const b = new Uint8Array(2);
    writeU16(b, 0, value);
    this.parts.push(b);
  }
  string8(text: string) {
    const bytes = utf8(text);
    if (bytes.length > 0xff) throw new TpdpError('PROTOCOL_ERROR', 'field too long');
    this.u8(bytes.length);
    this.parts.push(bytes);
  }
  string16(text: string) {
    const bytes = utf8(text);
    if (bytes.length > 0xffff) throw new TpdpError('PROTOCOL_ERROR', 'field too long');
    this.u16(bytes.length);
    this.parts.push(bytes);
  }
  headers(headers: [string, string][]) {
    if (headers.length > MAX_HEADERS) throw new TpdpError('PROTOCOL_ERROR', `more than ${MAX_HEADERS} headers`);
    this.u16(headers.length);
    for (const [name, value] of headers) {
      checkHeader(name, value);
      this.string16(name);
      this.string16(value);
    }
  }
  /** HEADLEN-prefixed head. */
  finish(): Uint8Array {
    const head = concatBytes(...this.parts);
    if (head.length > MAX_HEAD_BYTES) throw new TpdpError('PROTOCOL_ERROR', `head larger than ${MAX_HEAD_BYTES} bytes`);
    const prefix = new Uint8Array(4);
    writeU32(prefix, 0, head.length);
    return concatBytes(prefix, head);
  }
}

class Reader {
  private offset = 0;
  private readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  private need(n: number) {
    if (this.offset + n > this.bytes.length) throw new TpdpError('PROTOCOL_ERROR', 'truncated head');
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++];
  }
  u16(): number {
    this.need(2);
    const v = readU16(this.bytes, this.offset);
    this.offset += 2;
    return v;
  }
  private text(length: number): string {
    this.need(length);
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return fromUtf8(slice);
    } catch {
      throw new TpdpError('PROTOCOL_ERROR', 'head field is not UTF-8');
    }
  }
  string8(): string {
    return this.text(this.u8());
  }
  string16(): string {
    return this.text(this.u16());
  }
  headers(): [string, string][] {
    const count = this.u16();
    if (count > MAX_HEADERS) throw new TpdpError('PROTOCOL_ERROR', `more than ${MAX_HEADERS} headers`);
    const out: [string, string][] = [];
    for (let i = 0; i < count; i++) {
      const name = this.string16();
      const value = this.string16();
      checkHeader(name, value);
      out.push([name, value]);
    }
    return out;
  }
  end() {
    if (this.offset !== this.bytes.length) throw new TpdpError('PROTOCOL_ERROR', 'trailing bytes after head');
  }
}

function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new TpdpError('PROTOCOL_ERROR', `invalid header name "${name.slice(0, 40)}"`);
  if (!FIELD_VALUE.test(value)) throw new TpdpError('PROTOCOL_ERROR', `invalid value for header ${name}`);
}

function checkVersion(reader: Reader): void {
  const version = reader.u8();
  if (version !== FETCH_CODEC_VERSION) throw new TpdpError('PROTOCOL_ERROR', `unsupported fetch head version ${version}`);
}

export function encodeRequestHead(head: RequestHead): Uint8Array {
  if (!TOKEN.test(head.method)) throw new TpdpError('PROTOCOL_ERROR', `invalid method "${head.method}"`);
  const w = new Writer();
  w.u8(FETCH_CODEC_VERSION);
  w.string8(head.method);
  w.string16(head.url);
  w.headers(head.headers);
  return w.finish();
}

export function decodeRequestHead(bytes: Uint8Array): RequestHead {
  const r = new Reader(bytes);
  checkVersion(r);
  const method = r.string8();
  if (!TOKEN.test(method)) throw new TpdpError('PROTOCOL_ERROR', 'invalid method');
  const url = r.string16();
  const headers = r.headers();
  r.end();
  return { method, url, headers };
}

export function encodeResponseHead(head: ResponseHead): Uint8Array {
  if (!REASON_PHRASE.test(head.statusText)) throw new TpdpError('PROTOCOL_ERROR', 'invalid status text');
  const w = new Writer();
  w.u8(FETCH_CODEC_VERSION);
  w.u16(head.status);
  w.string8(head.statusText);
  w.headers(head.headers);
  return w.finish();
}

export function decodeResponseHead(bytes: Uint8Array): ResponseHead {
  const r = new Reader(bytes);
  checkVersion(r);
  const status = r.u16();
  // Informational answers stay at the exit: only a final response crosses the circuit.
  if (status < 200 || status > 599) throw new TpdpError('PROTOCOL_ERROR', `invalid status ${status}`);
  const statusText = r.string8();
  if (!REASON_PHRASE.test(statusText)) throw new TpdpError('PROTOCOL_ERROR', 'invalid status text');
  const headers = r.headers();
  r.end();
  return { status, statusText, headers };
}

/**
 * Collects stream chunks until a whole HEADLEN-prefixed head has arrived. push() returns the head
 * bytes and whatever body bytes followed them, or undefined while incomplete.
 */
export class HeadCollector {
  private buffered: Uint8Array[] = [];
  private length = 0;

  push(chunk: Uint8Array): { head: Uint8Array; rest: Uint8Array } | undefined {
    this.buffered.push(chunk);
    this.length += chunk.length;
    if (this.length < 4) return undefined;
    const all = this.buffered.length === 1 ? this.buffered[0] : concatBytes(...this.buffered);
    this.buffered = [all];
    const headLength = readU32(all, 0);
    if (headLength > MAX_HEAD_BYTES) throw new TpdpError('PROTOCOL_ERROR', `head larger than ${MAX_HEAD_BYTES} bytes`);
    if (all.length < 4 + headLength) return undefined;
    this.buffered = [];
    return { head: all.subarray(4, 4 + headLength), rest: all.subarray(4 + headLength) };
  }
}
