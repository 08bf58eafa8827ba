import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { ctr } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { isAllZero } from '../bytes.ts';
import type { CryptoProvider, KeyStream } from './provider.ts';

const BLOCK = 16;

/** Adds `blocks` to a 128-bit big-endian counter block (CTR mode's counter layout, NIST SP 800-38A). */
export function counterAt(iv: Uint8Array, blocks: number): Uint8Array {
  const out = iv.slice();
  let carry = blocks;
  for (let i = BLOCK - 1; i >= 0 && carry > 0; i--) {
    const sum = out[i] + (carry % 256);
    out[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  return out;
}

/** XORs `data` with the AES-256-CTR keystream of (key, iv) from byte `offset` on, in place. */
export function aesCtrXorAt(key: Uint8Array, iv: Uint8Array, offset: number, data: Uint8Array): void {
  const skip = offset % BLOCK;
  const padded = new Uint8Array(skip + data.length);
  padded.set(data, skip);
  const out = ctr(key, counterAt(iv, Math.floor(offset / BLOCK))).encrypt(padded);
  data.set(out.subarray(skip));
}

/** @noble's ctr() is one-shot; this keeps the byte offset so calls continue one keystream. */
class NobleKeyStream implements KeyStream {
  private offset = 0;
  private readonly key: Uint8Array;
  private readonly iv: Uint8Array;
  constructor(key: Uint8Array, iv: Uint8Array) {
    this.key = key;
    this.iv = iv;
  }
  xorInPlace(data: Uint8Array): void {
    aesCtrXorAt(this.key, this.iv, this.offset, data);
    this.offset += data.length;
  }
}

export const nobleCrypto: CryptoProvider = {
  name: 'noble',
  randomBytes: (length) => randomBytes(length),
  sha256: (data) => sha256(data),
  hmacSha256: (key, data) => hmac(sha256, key, data),
  hkdfSha256: (ikm, salt, info, length) => hkdf(sha256, ikm, salt, info, length),
  aes256Ctr: (key, iv) => new NobleKeyStream(key, iv),
  x25519Keygen: () => x25519.keygen(),
  x25519(secretKey, publicKey) {
    const shared = x25519.getSharedSecret(secretKey, publicKey);
    if (isAllZero(shared)) throw new Error('X25519 produced an all-zero shared secret');
    return shared;
  },
  ed25519Keygen: () => ed25519.keygen(),
  ed25519PublicKey: (secretKey) => ed25519.getPublicKey(secretKey),
  ed25519Sign: (message, secretKey) => ed25519.sign(message, secretKey),
  ed25519Verify(signature, message, publicKey) {
    try {
      return ed25519.verify(signature, message, publicKey);
    } catch {
      return false;
    }
  },
};
