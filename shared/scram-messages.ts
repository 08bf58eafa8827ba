// The four SCRAM messages (RFC 5802 §7) parsed and formatted, shared by the site and every client so
// both sides read the same grammar. Parsers take hostile text and throw ScramSyntaxError, never
// anything else, so a server can turn any malformed message into a clean 400.
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './bytes.ts';

export class ScramSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramSyntaxError';
  }
}

/** Caps a message before parsing: every legitimate SCRAM-SHA-256 message is far below this. */
export const MAX_MESSAGE_LENGTH = 2048;

// --- base64 (RFC 4648 §4, with padding): SCRAM's alphabet, built on the strict base64url codec ---

export function toBase64(bytes: Uint8Array): string {
  const url = toBase64Url(bytes).replace(/-/g, '+').replace(/_/g, '/');
  return url + '='.repeat((4 - (url.length % 4)) % 4);
}

/** Strict: canonical padding only, no whitespace, no foreign characters. */
export function fromBase64(text: string): Uint8Array {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ScramSyntaxError('invalid base64');
  try {
    return fromBase64Url(text.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'));
  } catch {
    throw new ScramSyntaxError('invalid base64');
  }
}

// --- strings ---

// RFC 3454 tables C.1.2 (non-ASCII spaces) and B.1 (commonly mapped to nothing).
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;
// Control characters, surrogates, private use and non-characters: prohibited by SASLprep (C.2–C.7).
const PROHIBITED = /[\p{Cc}\p{Cs}\p{Co}\uFFFE\uFFFF]/u;

/**
 * SASLprep (RFC 4013) as far as interoperable passwords and names need it: the two mappings and
 * NFKC, and the prohibited characters refused. The bidirectional rule and unassigned code points
 * are not checked; both ends run this same function, so they always agree.
 */
export function saslPrep(text: string): string {
  const prepared = text.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  if (prepared.length === 0) throw new ScramSyntaxError('empty after SASLprep');
  if (PROHIBITED.test(prepared)) throw new ScramSyntaxError('prohibited character');
  return prepared;
}

/** saslname (RFC 5802 §5.1): ',' and '=' travel as =2C and =3D. */
export function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

export function unescapeSaslName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw new ScramSyntaxError('invalid escape in username');
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

// printable = %x21-2B / %x2D-7E: any visible ASCII character but ','.
const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;
const POSITIVE_NUMBER = /^[1-9][0-9]{0,9}$/;

// --- attributes ---

type Attribute = [name: string, value: string];

/** Splits `a=value,b=value,...`; values may contain '=' (base64) but never ','. */
function attributes(message: string): Attribute[] {
  if (message.length > MAX_MESSAGE_LENGTH) throw new ScramSyntaxError('message too long');
  return message.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw new ScramSyntaxError(`malformed attribute "${part.slice(0, 20)}"`);
    return [part[0], part.slice(2)];
  });
}

/** Takes the next attribute, which must be `name`: SCRAM fixes the order of the mandatory ones. */
function expect(list: Attribute[], index: number, name: string): string {
  const attribute = list[index];
  if (attribute === undefined || attribute[0] !== name) throw new ScramSyntaxError(`expected attribute "${name}"`);
  return attribute[1];
}

/** Optional extensions may follow the mandatory attributes; the reserved "m" must be refused (§5.1). */
function checkExtensions(list: Attribute[], from: number): void {
  for (let i = from; i < list.length; i++) {
    if (list[i][0] === 'm') throw new ScramSyntaxError('unsupported mandatory extension');
  }
}

function nonce(value: string): string {
  if (!NONCE.test(value)) throw new ScramSyntaxError('invalid nonce');
  return value;
}

// --- client-first-message ---

export interface ClientFirst {
  /** gs2-header, e.g. "n,,": echoed (base64) in the client-final channel binding. */
  gs2Header: string;
  /** client-first-message-bare: the part that enters the AuthMessage. */
  bare: string;
  /** The username, unescaped and SASLprep'd. */
  user: string;
  nonce: string;
}

export function formatClientFirst(user: string, clientNonce: string): ClientFirst {
  const prepared = saslPrep(user);
  const bare = `n=${escapeSaslName(prepared)},r=${nonce(clientNonce)}`;
  return { gs2Header: 'n,,', bare, user: prepared, nonce: clientNonce };
}

export function clientFirstMessage(first: ClientFirst): string {
  return first.gs2Header + first.bare;
}

export function parseClientFirst(message: string): ClientFirst {
  // Channel binding does not exist in HTTP SCRAM (RFC 7804 §4): "n" (client does not support it) or
  // "y" (client does, but thinks the server does not — true here, we offer no -PLUS variant).
  const header = /^([ny]),(a=[^,]*)?,/.exec(message);
  if (!header) throw new ScramSyntaxError('invalid or unsupported gs2 header');
  if (header[2] !== undefined) throw new ScramSyntaxError('authorization identities are not supported');
  const gs2Header = header[0];
  const bare = message.slice(gs2Header.length);
  const list = attributes(bare);
  if (list[0]?.[0] === 'm') throw new ScramSyntaxError('unsupported mandatory extension');
  const user = saslPrep(unescapeSaslName(expect(list, 0, 'n')));
  const clientNonce = nonce(expect(list, 1, 'r'));
  checkExtensions(list, 2);
  return { gs2Header, bare, user, nonce: clientNonce };
}

// --- server-first-message ---

export interface ServerFirst {
  nonce: string;
  salt: Uint8Array;
  iterations: number;
}

export function formatServerFirst(first: ServerFirst): string {
  return `r=${nonce(first.nonce)},s=${toBase64(first.salt)},i=${first.iterations}`;
}

export function parseServerFirst(message: string): ServerFirst {
  const list = attributes(message);
  if (list[0]?.[0] === 'm') throw new ScramSyntaxError('unsupported mandatory extension');
  const serverNonce = nonce(expect(list, 0, 'r'));
  const salt = fromBase64(expect(list, 1, 's'));
  if (salt.length === 0) throw new ScramSyntaxError('empty salt');
  const count = expect(list, 2, 'i');
  if (!POSITIVE_NUMBER.test(count)) throw new ScramSyntaxError('invalid iteration count');
  checkExtensions(list, 3);
  return { nonce: serverNonce, salt, iterations: Number(count) };
}

// --- client-final-message ---

export interface ClientFinal {
  /** client-final-message-without-proof: the part that enters the AuthMessage. */
  withoutProof: string;
  /** The decoded channel binding: the gs2 header the client sent first. */
  channelBinding: string;
  nonce: string;
  proof: Uint8Array;
}

export function formatClientFinalWithoutProof(gs2Header: string, combinedNonce: string): string {
  return `c=${toBase64(utf8(gs2Header))},r=${nonce(combinedNonce)}`;
}

export function clientFinalMessage(withoutProof: string, proof: Uint8Array): string {
  return `${withoutProof},p=${toBase64(proof)}`;
}

export function parseClientFinal(message: string): ClientFinal {
  const list = attributes(message);
  if (list.length < 3) throw new ScramSyntaxError('client-final-message too short');
  const channelBinding = decodeText(fromBase64(expect(list, 0, 'c')));
  const combinedNonce = nonce(expect(list, 1, 'r'));
  const proof = fromBase64(expect(list, list.length - 1, 'p'));
  for (let i = 2; i < list.length - 1; i++) {
    if (list[i][0] === 'm' || list[i][0] === 'p') throw new ScramSyntaxError(`unexpected attribute "${list[i][0]}"`);
  }
  return { withoutProof: message.slice(0, message.lastIndexOf(',p=')), channelBinding, nonce: combinedNonce, proof };
}

// --- server-final-message ---

export type ServerFinal = { verifier: Uint8Array } | { error: string };

export function formatServerFinal(final: ServerFinal): string {
  return 'verifier' in final ? `v=${toBase64(final.verifier)}` : `e=${final.error}`;
}

export function parseServerFinal(message: string): ServerFinal {
  const list = attributes(message);
  const [name, value] = list[0];
  if (name === 'e') return { error: value };
  if (name === 'v') return { verifier: fromBase64(value) };
  throw new ScramSyntaxError('expected attribute "v" or "e"');
}

/** AuthMessage (RFC 5802 §3): what both signatures cover. */
export function authMessage(clientFirstBare: string, serverFirst: string, clientFinalWithoutProof: string): string {
  return `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
}

function decodeText(bytes: Uint8Array): string {
  try {
    return fromUtf8(bytes);
  } catch {
    throw new ScramSyntaxError('invalid UTF-8');
  }
}

/** Decodes the base64 `data` of an HTTP SCRAM header into the SCRAM message it carries. */
export function decodeData(data: string): string {
  if (data.length > (MAX_MESSAGE_LENGTH * 4) / 3 + 4) throw new ScramSyntaxError('message too long');
  return decodeText(fromBase64(data));
}

export function encodeData(message: string): string {
  return toBase64(utf8(message));
}
