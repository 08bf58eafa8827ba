// The primitives TPDP needs, behind one interface so the same protocol code runs on
// @noble (browser, reference) and on node:crypto (relays, much faster); tests cross-check both.

/** A running AES-256-CTR keystream: each call continues where the previous one stopped. */
export interface KeyStream {
  /** XORs the next data.length keystream bytes into data, in place. */
  xorInPlace(data: Uint8Array): void;
}

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export interface CryptoProvider {
  readonly name: string;
  randomBytes(length: number): Uint8Array;
  sha256(data: Uint8Array): Uint8Array;
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** RFC 5869 HKDF with SHA-256. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;
  aes256Ctr(key: Uint8Array, iv: Uint8Array): KeyStream;
  x25519Keygen(): KeyPair;
  /**
   * The same, made where it does not hold up the caller's thread; optional. Used to make pairs
   * ahead of use (shared/ephemeral-keys.ts).
   */
  x25519KeygenAsync?(): Promise<KeyPair>;
  /** RFC 7748 X25519; throws on an all-zero result (a low-order peer key). */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  ed25519Keygen(): KeyPair;
  ed25519PublicKey(secretKey: Uint8Array): Uint8Array;
  ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

export const X25519_KEY_BYTES = 32;
export const ED25519_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const AES_KEY_BYTES = 32;
export const AES_IV_BYTES = 16;
