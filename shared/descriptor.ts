// What a relay signs with its identity key: its descriptor (how to reach it and what its exit
// does), and the heartbeats and unregister notices it sends to pools. Each signature covers a
// domain string then the exact UTF-8 text, so a signature made for one purpose never verifies
// for another, and no JSON canonicalisation is needed. docs/POOL.md specifies the formats.
import { decodeKey, fromHex, toBase64Url, toHex, utf8 } from './bytes.ts';
import { ACCEPT_ALL, parsePortPolicy } from './port-policy.ts';
import {
  ED25519_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  X25519_KEY_BYTES,
  type CryptoProvider,
  type KeyPair,
} from './crypto/provider.ts';

export const DESCRIPTOR_DOMAIN = 'allium-descriptor-v1\n';
const HEARTBEAT_DOMAIN = 'allium-heartbeat-v1\n';
const UNREGISTER_DOMAIN = 'allium-unregister-v1\n';

export type RelayDescriptor = {
  version: 2;
  /** Lowercase hex of the first 20 bytes of SHA-256(identityKey). */
  id: string;
  /** Ed25519 public key, base64url. */
  identityKey: string;
  /** X25519 public key for the ntor handshake, base64url. */
  onionKey: string;
  url: string;
  /** Addresses the relay's exit traffic leaves from, so destinations can recognise it. */
  outbound: string[];
  exit: ExitSummary;
  nickname?: string;
  /** How to reach the operator (an e-mail address, a URL…), printable text. */
  contact?: string;
  /** Ids of the relays this operator runs besides this one; a family is mutual (docs/TPDP.md §8.2). */
  family?: string[];
  /** Advertised bytes per second: the configured rate, else the observed bandwidth. */
  bandwidth: number;
  /** Milliseconds since the epoch. */
  published: number;
  /** 16 random bytes, base64url. */
  nonce: string;
};

export type ExitSummary = {
  allowPrivate: boolean;
  /** Canonical port policy summary (shared/port-policy.ts), e.g. "accept 80,443" or "reject 1-65535". */
  policy: string;
};

/**
 * What the relay operator chooses; the rest of a descriptor is derived when signing. A missing
 * policy accepts every port, a missing bandwidth is 0 (not measured yet).
 */
export type DescriptorFields = Pick<RelayDescriptor, 'onionKey' | 'url' | 'outbound' | 'nickname' | 'contact' | 'family'> & {
  exit: { allowPrivate: boolean; policy?: string };
  bandwidth?: number;
};

export type SignedDescriptor = { descriptor: string; signature: string };

/** A heartbeat or unregister notice: proves the relay is alive (or leaving) at `time`. */
export type RelayStatement = { id: string; time: number; nonce: string };
export type StatementKind = 'heartbeat' | 'unregister';
/** Both kinds travel under the key "heartbeat"; the signing domain tells them apart. */
export type SignedStatement = { heartbeat: string; signature: string };

/** Thrown when data is well formed but its signature does not verify. */
export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** Room for the largest valid descriptor (a 64-relay family, a full contact and policy: about 5.6 KiB). */
const MAX_DESCRIPTOR_CHARS = 8192;
const MAX_STATEMENT_CHARS = 512;
const MAX_URL_CHARS = 512;
const MAX_OUTBOUND = 8;
export const MAX_FAMILY = 64;
export const MAX_CONTACT_CODE_POINTS = 256;
/** Sanity bound on advertised bandwidth: 1 TB/s. */
export const MAX_BANDWIDTH = 1e12;
/** Printable text: no control, format (bidi overrides), line or paragraph separator, private-use, surrogate or unassigned code point. */
const PRINTABLE_TEXT = /^[^\p{C}\p{Zl}\p{Zp}]+$/u;
const NONCE_BYTES = 16;
const ID_HEX_CHARS = 40;
const NICKNAME = /^[A-Za-z0-9_-]{1,32}$/;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
const IPV4_PART = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${IPV4_PART}(\\.${IPV4_PART}){3}$`);
const DESCRIPTOR_KEYS = new Set(['version', 'id', 'identityKey', 'onionKey', 'url', 'outbound', 'exit', 'nickname', 'contact', 'family', 'bandwidth', 'published', 'nonce']);
const STATEMENT_KEYS = new Set(['id', 'time', 'nonce']);
const STATEMENT_DOMAINS: Record<StatementKind, string> = { heartbeat: HEARTBEAT_DOMAIN, unregister: UNREGISTER_DOMAIN };

export function relayIdOf(identityPublicKey: Uint8Array, crypto: CryptoProvider): string {
  return toHex(crypto.sha256(identityPublicKey).subarray(0, ID_HEX_CHARS / 2));
}

/** Signs `domain + text`; returns the base64url signature. */
export function signText(domain: string, text: string, secretKey: Uint8Array, crypto: CryptoProvider): string {
  return toBase64Url(crypto.ed25519Sign(utf8(domain + text), secretKey));
}

/**
 * Checks that `envelope` is `{[field]: string, signature: string}` with bounded sizes and returns
 * the text and the decoded signature; the caller verifies once it knows the key.
 */
export function openEnvelope(
  envelope: unknown,
  field: string,
  maxChars: number,
  what: string,
): { text: string; signature: Uint8Array } {
  if (!isPlainObject(envelope)) throw new Error(`${what}: expected a JSON object`);
  const text = envelope[field];
  if (typeof text !== 'string') throw new Error(`${what}: "${field}" must be a string`);
  if (text.length > maxChars) throw new Error(`${what}: "${field}" is longer than ${maxChars} characters`);
  const signature = decodeKey(envelope.signature, ED25519_SIGNATURE_BYTES, `${what}: signature`);
  return { text, signature };
}

/** Throws SignatureError unless `signature` is `publicKey`'s signature of `domain + text`. */
export function checkSignature(
  domain: string,
  text: string,
  signature: Uint8Array,
  publicKey: Uint8Array,
  crypto: CryptoProvider,
  what: string,
): void {
  if (!crypto.ed25519Verify(signature, utf8(domain + text), publicKey)) throw new SignatureError(`${what}: bad signature`);
}

export function signDescriptor(fields: DescriptorFields, identity: KeyPair, crypto: CryptoProvider, now = Date.now()): SignedDescriptor {
  const id = relayIdOf(identity.publicKey, crypto);
  // One family list can serve every relay of an operator: each drops its own id.
  const family = [...new Set(fields.family ?? [])].filter((member) => member !== id).sort();
  const descriptor: RelayDescriptor = {
    version: 2,
    id,
    identityKey: toBase64Url(identity.publicKey),
    onionKey: fields.onionKey,
    url: fields.url,
    outbound: fields.outbound,
    exit: { allowPrivate: fields.exit.allowPrivate, policy: fields.exit.policy ?? ACCEPT_ALL },
    nickname: fields.nickname,
    contact: fields.contact,
    family: family.length > 0 ? family : undefined,
    bandwidth: fields.bandwidth ?? 0,
    published: now,
    nonce: toBase64Url(crypto.randomBytes(NONCE_BYTES)),
  };
  const text = JSON.stringify(descriptor);
  // Same checks a pool applies, so a misconfigured relay fails at start with the reason.
  parseDescriptor(text, crypto);
  return { descriptor: text, signature: signText(DESCRIPTOR_DOMAIN, text, identity.secretKey, crypto) };
}

/** Validates a signed descriptor from the network; throws Error (SignatureError for a bad signature). */
export function verifyDescriptor(envelope: unknown, crypto: CryptoProvider): RelayDescriptor {
  const { text, signature } = openEnvelope(envelope, 'descriptor', MAX_DESCRIPTOR_CHARS, 'descriptor');
  const { descriptor, identityKey } = parseDescriptor(text, crypto);
  checkSignature(DESCRIPTOR_DOMAIN, text, signature, identityKey, crypto, 'descriptor');
  return descriptor;
}

export function signStatement(kind: StatementKind, identity: KeyPair, crypto: CryptoProvider, now = Date.now()): SignedStatement {
  const statement: RelayStatement = {
    id: relayIdOf(identity.publicKey, crypto),
    time: now,
    nonce: toBase64Url(crypto.randomBytes(NONCE_BYTES)),
  };
  const text = JSON.stringify(statement);
  return { heartbeat: text, signature: signText(STATEMENT_DOMAINS[kind], text, identity.secretKey, crypto) };
}

/**
 * Parses a heartbeat or unregister notice without verifying it, since the verifying key is the
 * one the pool registered for `statement.id`; `verify` then throws SignatureError on a forgery.
 */
export function openStatement(
  envelope: unknown,
  kind: StatementKind,
): { statement: RelayStatement; verify(identityKey: Uint8Array, crypto: CryptoProvider): void } {
  const { text, signature } = openEnvelope(envelope, 'heartbeat', MAX_STATEMENT_CHARS, kind);
  const value = parseJsonObject(text, kind);
  refuseUnknownKeys(value, STATEMENT_KEYS, kind);
  const statement: RelayStatement = {
    id: checkId(value.id, kind),
    time: checkTimestamp(value.time, `${kind}: time`),
    nonce: checkNonce(value.nonce, kind),
  };
  return {
    statement,
    verify: (identityKey, crypto) => checkSignature(STATEMENT_DOMAINS[kind], text, signature, identityKey, crypto, kind),
  };
}

function parseDescriptor(text: string, crypto: CryptoProvider): { descriptor: RelayDescriptor; identityKey: Uint8Array } {
  const value = parseJsonObject(text, 'descriptor');
  if (value.version !== 2) throw new Error(`descriptor: unsupported version ${JSON.stringify(value.version)}`);
  refuseUnknownKeys(value, DESCRIPTOR_KEYS, 'descriptor');
  const id = checkId(value.id, 'descriptor');
  const identityKey = decodeKey(value.identityKey, ED25519_KEY_BYTES, 'descriptor: identityKey');
  if (relayIdOf(identityKey, crypto) !== id) throw new Error('descriptor: id does not match identityKey');
  decodeKey(value.onionKey, X25519_KEY_BYTES, 'descriptor: onionKey');
  const descriptor: RelayDescriptor = {
    version: 2,
    id,
    identityKey: value.identityKey as string,
    onionKey: value.onionKey as string,
    url: checkRelayUrl(value.url),
    outbound: checkOutbound(value.outbound),
    exit: checkExit(value.exit),
    bandwidth: checkBandwidth(value.bandwidth),
    published: checkTimestamp(value.published, 'descriptor: published'),
    nonce: checkNonce(value.nonce, 'descriptor'),
  };
  if (value.nickname !== undefined) {
    if (typeof value.nickname !== 'string' || !NICKNAME.test(value.nickname)) {
      throw new Error('descriptor: nickname must be 1-32 characters from A-Z a-z 0-9 _ -');
    }
    descriptor.nickname = value.nickname;
  }
  if (value.contact !== undefined) descriptor.contact = checkContact(value.contact);
  if (value.family !== undefined) descriptor.family = checkFamily(value.family);
  return { descriptor, identityKey };
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${what}: not valid JSON`);
  }
  if (!isPlainObject(value)) throw new Error(`${what}: expected a JSON object`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuseUnknownKeys(value: Record<string, unknown>, known: Set<string>, what: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new Error(`${what}: unknown field ${JSON.stringify(key.slice(0, 40))}`);
  }
}

function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length !== ID_HEX_CHARS || value !== value.toLowerCase()) {
    throw new Error(`${what}: id must be ${ID_HEX_CHARS} lowercase hex characters`);
  }
  fromHex(value);
  return value;
}

function checkTimestamp(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${what} must be a non-negative integer (milliseconds since the epoch)`);
  }
  return value;
}

function checkNonce(value: unknown, what: string): string {
  decodeKey(value, NONCE_BYTES, `${what}: nonce`);
  return value as string;
}

function checkRelayUrl(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_URL_CHARS || !PRINTABLE_ASCII.test(value)) {
    throw new Error(`descriptor: url must be printable ASCII of at most ${MAX_URL_CHARS} characters`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('descriptor: url is not a valid URL');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new Error('descriptor: url must start with ws:// or wss://');
  if (url.hostname === '') throw new Error('descriptor: url has no host');
  if (url.username !== '' || url.password !== '' || url.hash !== '') {
    throw new Error('descriptor: url must not carry credentials or a fragment');
  }
  return value;
}

function checkOutbound(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > MAX_OUTBOUND) {
    throw new Error(`descriptor: outbound must be an array of at most ${MAX_OUTBOUND} IP addresses`);
  }
  for (const ip of value) {
    if (typeof ip !== 'string' || !isIpAddress(ip)) {
      throw new Error(`descriptor: outbound entry ${JSON.stringify(String(ip).slice(0, 60))} is not an IP address`);
    }
  }
  return value as string[];
}

function checkExit(value: unknown): ExitSummary {
  if (!isPlainObject(value) || typeof value.allowPrivate !== 'boolean' || typeof value.policy !== 'string' || Object.keys(value).length !== 2) {
    throw new Error('descriptor: exit must be {"allowPrivate": boolean, "policy": string}');
  }
  try {
    parsePortPolicy(value.policy);
  } catch (err) {
    throw new Error(`descriptor: exit policy ${(err as Error).message}`);
  }
  return { allowPrivate: value.allowPrivate, policy: value.policy };
}

function checkBandwidth(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_BANDWIDTH) {
    throw new Error(`descriptor: bandwidth must be an integer number of bytes per second from 0 to ${MAX_BANDWIDTH}`);
  }
  return value;
}

/** 1-256 printable code points (POOL.md, `contact`). */
export function isValidContact(value: unknown): value is string {
  return typeof value === 'string' && PRINTABLE_TEXT.test(value) && [...value].length <= MAX_CONTACT_CODE_POINTS;
}

function checkContact(value: unknown): string {
  if (!isValidContact(value)) {
    throw new Error(`descriptor: contact must be 1-${MAX_CONTACT_CODE_POINTS} printable characters`);
  }
  return value;
}

function checkFamily(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_FAMILY) {
    throw new Error(`descriptor: family must be an array of 1-${MAX_FAMILY} relay ids`);
  }
  for (const member of value) checkId(member, 'descriptor: family');
  if (new Set(value).size !== value.length) throw new Error('descriptor: family lists a relay twice');
  return value as string[];
}

/** Dotted-quad IPv4 without leading zeros, or IPv6 (checked by the URL parser, no zone index). */
function isIpAddress(text: string): boolean {
  if (IPV4.test(text)) return true;
  if (text.length > 45 || !text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}
