// The BEGIN relay message (docs/TPDP.md §6.1): which kind of stream the client wants from the exit.
import { fromUtf8, readU16, utf8, writeU16 } from './bytes.ts';
import { TpdpError } from './errors.ts';

export const STREAM_KINDS = { connect: 1, fetch: 2 } as const;

export type BeginRequest = { kind: 'connect'; host: string; port: number } | { kind: 'fetch' };

const MAX_HOST_LENGTH = 255;
// Host names, IPv4 literals and bracket-less IPv6 literals; the exit resolves names itself.
const HOST_PATTERN = /^[A-Za-z0-9._:-]+$/;

export function encodeBegin(request: BeginRequest): Uint8Array {
  if (request.kind === 'fetch') return Uint8Array.of(STREAM_KINDS.fetch);
  const host = utf8(request.host);
  if (!HOST_PATTERN.test(request.host) || host.length > MAX_HOST_LENGTH) throw new TpdpError('PROTOCOL_ERROR', `invalid destination host "${request.host}"`);
  if (!Number.isInteger(request.port) || request.port < 1 || request.port > 65535) throw new TpdpError('PROTOCOL_ERROR', `invalid destination port ${request.port}`);
  const out = new Uint8Array(4 + host.length);
  out[0] = STREAM_KINDS.connect;
  writeU16(out, 1, request.port);
  out[3] = host.length;
  out.set(host, 4);
  return out;
}

export function decodeBegin(data: Uint8Array): BeginRequest {
  if (data.length === 1 && data[0] === STREAM_KINDS.fetch) return { kind: 'fetch' };
  if (data.length < 5 || data[0] !== STREAM_KINDS.connect) throw new TpdpError('PROTOCOL_ERROR', 'malformed BEGIN');
  const port = readU16(data, 1);
  const length = data[3];
  if (data.length !== 4 + length || port === 0) throw new TpdpError('PROTOCOL_ERROR', 'malformed BEGIN');
  let host: string;
  try {
    host = fromUtf8(data.subarray(4));
  } catch {
    throw new TpdpError('PROTOCOL_ERROR', 'BEGIN host is not UTF-8');
  }
  if (!HOST_PATTERN.test(host)) throw new TpdpError('PROTOCOL_ERROR', 'BEGIN host has invalid characters');
  return { kind: 'connect', host, port };
}
