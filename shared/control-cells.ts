// Bodies of the circuit-building messages (docs/TPDP.md §4): CREATE/CREATED cells between
// neighbours, EXTEND/EXTENDED relay messages from the client, DESTROY with its reason.
import { fromUtf8, readU16, utf8, writeU16 } from './bytes.ts';
import { REASONS, reasonName, TpdpError, type ReasonName } from './errors.ts';
import { CLIENT_HANDSHAKE_SIZE, HANDSHAKE_TYPE_NTOR, SERVER_HANDSHAKE_SIZE } from './handshake.ts';

/** A relay URL in EXTEND: ws:// or wss://, at most this many bytes so EXTEND fits one cell. */
export const MAX_EXTEND_URL_BYTES = 255;

/** CREATE: HTYPE (2) | HLEN (2) | HDATA. */
export function encodeCreate(handshake: Uint8Array): Uint8Array {
  const body = new Uint8Array(4 + handshake.length);
  writeU16(body, 0, HANDSHAKE_TYPE_NTOR);
  writeU16(body, 2, handshake.length);
  body.set(handshake, 4);
  return body;
}

export function decodeCreate(body: Uint8Array): Uint8Array {
  const type = readU16(body, 0);
  const length = readU16(body, 2);
  if (type !== HANDSHAKE_TYPE_NTOR) throw new TpdpError('PROTOCOL_ERROR', `unsupported handshake type ${type}`);
  if (length !== CLIENT_HANDSHAKE_SIZE || 4 + length > body.length) throw new TpdpError('PROTOCOL_ERROR', 'bad handshake length');
  return body.slice(4, 4 + length);
}

/** CREATED and EXTENDED: HLEN (2) | HDATA. */
export function encodeCreated(reply: Uint8Array): Uint8Array {
  const body = new Uint8Array(2 + reply.length);
  writeU16(body, 0, reply.length);
  body.set(reply, 2);
  return body;
}

export function decodeCreated(body: Uint8Array): Uint8Array {
  const length = readU16(body, 0);
  if (length !== SERVER_HANDSHAKE_SIZE || 2 + length > body.length) throw new TpdpError('PROTOCOL_ERROR', 'bad CREATED length');
  return body.slice(2, 2 + length);
}

export interface ExtendRequest {
  url: string;
  handshake: Uint8Array;
}

/** EXTEND: HTYPE (2) | HLEN (2) | HDATA | URLLEN (2) | URL. The identity key is HDATA's ID. */
export function encodeExtend(request: ExtendRequest): Uint8Array {
  const url = utf8(request.url);
  if (url.length > MAX_EXTEND_URL_BYTES) throw new TpdpError('PROTOCOL_ERROR', `relay URL longer than ${MAX_EXTEND_URL_BYTES} bytes`);
  const create = encodeCreate(request.handshake);
  const out = new Uint8Array(create.length + 2 + url.length);
  out.set(create, 0);
  writeU16(out, create.length, url.length);
  out.set(url, create.length + 2);
  return out;
}

export function decodeExtend(data: Uint8Array): ExtendRequest {
  if (data.length < 4 + CLIENT_HANDSHAKE_SIZE + 2) throw new TpdpError('PROTOCOL_ERROR', 'EXTEND too short');
  const handshake = decodeCreate(data);
  const offset = 4 + CLIENT_HANDSHAKE_SIZE;
  const urlLength = readU16(data, offset);
  if (urlLength > MAX_EXTEND_URL_BYTES || offset + 2 + urlLength !== data.length) throw new TpdpError('PROTOCOL_ERROR', 'bad EXTEND URL length');
  let url: string;
  try {
    url = fromUtf8(data.subarray(offset + 2));
  } catch {
    throw new TpdpError('PROTOCOL_ERROR', 'EXTEND URL is not UTF-8');
  }
  if (!/^wss?:\/\/[^\s]+$/.test(url)) throw new TpdpError('PROTOCOL_ERROR', 'EXTEND URL must be ws:// or wss://');
  return { url, handshake };
}

export function encodeDestroy(reason: ReasonName): Uint8Array {
  return Uint8Array.of(REASONS[reason]);
}

export function decodeDestroy(body: Uint8Array): ReasonName {
  return reasonName(body[0]);
}
