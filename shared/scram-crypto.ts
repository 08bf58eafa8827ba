// SCRAM-SHA-256 key schedule (RFC 5802 §3, RFC 7677) over a small injected interface, so the site,
// the Node client and the extension compute it with one code path. The interface is asynchronous
// because WebCrypto is; WebCrypto exists in Node, browsers and service workers alike.
import { constantTimeEqual, utf8 } from './bytes.ts';
import { saslPrep } from './scram-messages.ts';

export interface ScramCrypto {
  pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: number): Promise<Uint8Array>;
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  sha256(data: Uint8Array): Promise<Uint8Array>;
  randomBytes(length: number): Uint8Array;
}

/**
 * The part of WebCrypto used here, typed structurally: shared/ sees neither the DOM nor Node's
 * types, and both runtimes' `crypto` objects fit.
 */
export interface WebCrypto<Key> {
  subtle: {
    importKey(format: 'raw', key: Uint8Array, algorithm: string | { name: string; hash: string }, extractable: false, usages: ('deriveBits' | 'sign')[]): Promise<Key>;
    deriveBits(algorithm: { name: 'PBKDF2'; hash: 'SHA-256'; salt: Uint8Array; iterations: number }, key: Key, length: number): Promise<ArrayBuffer>;
    sign(algorithm: 'HMAC', key: Key, data: Uint8Array): Promise<ArrayBuffer>;
    digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer>;
  };
  getRandomValues<T extends Uint8Array>(array: T): T;
}

/** ScramCrypto on WebCrypto: `webCryptoScram(crypto)` in Node, browsers and service workers. */
export function webCryptoScram<Key>(webCrypto: WebCrypto<Key>): ScramCrypto {
  const subtle = webCrypto.subtle;
  return {
    async pbkdf2Sha256(password, salt, iterations) {
      const key = await subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
      return new Uint8Array(await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, 256));
    },
    async hmacSha256(key, data) {
      const hmacKey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', hmacKey, data));
    },
    async sha256(data) {
      return new Uint8Array(await subtle.digest('SHA-256', data));
    },
    randomBytes(length) {
      return webCrypto.getRandomValues(new Uint8Array(length));
    },
  };
}

/** RFC 7677 §4: at least 4096 iterations; a client must refuse fewer. */
export const MIN_ITERATIONS = 4096;

/** What the server stores instead of a password (RFC 5802 §3): enough to verify, not to log in. */
export interface ScramVerifier {
  salt: Uint8Array;
  iterations: number;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

interface ClientKeys {
  clientKey: Uint8Array;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

/** SaltedPassword := Hi(Normalize(password), salt, i), and the keys derived from it. */
async function deriveKeys(crypto: ScramCrypto, password: string, salt: Uint8Array, iterations: number): Promise<ClientKeys> {
  const salted = await crypto.pbkdf2Sha256(utf8(saslPrep(password)), salt, iterations);
  const clientKey = await crypto.hmacSha256(salted, utf8('Client Key'));
  const serverKey = await crypto.hmacSha256(salted, utf8('Server Key'));
  return { clientKey, storedKey: await crypto.sha256(clientKey), serverKey };
}

export async function deriveVerifier(crypto: ScramCrypto, password: string, salt: Uint8Array, iterations: number): Promise<ScramVerifier> {
  const { storedKey, serverKey } = await deriveKeys(crypto, password, salt, iterations);
  return { salt, iterations, storedKey, serverKey };
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

export interface ClientProof {
  proof: Uint8Array;
  /** The ServerSignature the client must receive, proving the server holds the verifier. */
  serverSignature: Uint8Array;
}

/** Client side: ClientProof := ClientKey XOR HMAC(StoredKey, AuthMessage). */
export async function clientProof(
  crypto: ScramCrypto,
  password: string,
  salt: Uint8Array,
  iterations: number,
  authMessage: string,
): Promise<ClientProof> {
  const keys = await deriveKeys(crypto, password, salt, iterations);
  const message = utf8(authMessage);
  const clientSignature = await crypto.hmacSha256(keys.storedKey, message);
  return { proof: xor(keys.clientKey, clientSignature), serverSignature: await crypto.hmacSha256(keys.serverKey, message) };
}

/**
 * Server side: recovers ClientKey from the proof and checks H(ClientKey) = StoredKey in constant
 * time. Costs one HMAC and one hash whatever the input, so every failure looks alike.
 */
export async function verifyClientProof(crypto: ScramCrypto, storedKey: Uint8Array, authMessage: string, proof: Uint8Array): Promise<boolean> {
  const clientSignature = await crypto.hmacSha256(storedKey, utf8(authMessage));
  const padded = new Uint8Array(clientSignature.length);
  padded.set(proof.subarray(0, padded.length));
  const candidate = await crypto.sha256(xor(padded, clientSignature));
  return constantTimeEqual(candidate, storedKey) && proof.length === clientSignature.length;
}

export async function serverSignature(crypto: ScramCrypto, serverKey: Uint8Array, authMessage: string): Promise<Uint8Array> {
  return crypto.hmacSha256(serverKey, utf8(authMessage));
}
