// X25519 key pairs from WebCrypto (Chrome 133+, Firefox 130+): made natively and off the worker's
// thread, where @noble takes about a millisecond of it per pair. Only key generation comes from
// here, ahead of use (shared/ephemeral-keys.ts); the handshakes' key agreements stay synchronous,
// in @noble, since the protocol core answers a cell within the task that received it.
import type { KeyPair } from '../shared/crypto/provider.ts';

// PKCS#8 for an X25519 private key (RFC 8410): this fixed prefix, then the 32-byte key.
const PKCS8_PREFIX = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20];

export async function webCryptoX25519Keygen(): Promise<KeyPair> {
  const pair = (await crypto.subtle.generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  const [pkcs8, raw] = await Promise.all([crypto.subtle.exportKey('pkcs8', pair.privateKey), crypto.subtle.exportKey('raw', pair.publicKey)]);
  const privateKey = new Uint8Array(pkcs8);
  if (privateKey.length !== PKCS8_PREFIX.length + 32 || PKCS8_PREFIX.some((byte, i) => privateKey[i] !== byte)) {
    throw new Error('WebCrypto exported an X25519 private key in an unexpected PKCS#8 form');
  }
  return { secretKey: privateKey.slice(PKCS8_PREFIX.length), publicKey: new Uint8Array(raw) };
}
