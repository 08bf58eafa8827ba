import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../shared/bytes.ts';
import { webCryptoX25519Keygen } from './webcrypto-x25519.ts';

describe('WebCrypto X25519 key pairs', () => {
  it('are RFC 7748 pairs that @noble agrees on, fresh each time', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const pair = await webCryptoX25519Keygen();
      expect(pair.secretKey).toHaveLength(32);
      expect(x25519.getPublicKey(pair.secretKey)).toEqual(pair.publicKey);
      // Both ends of a key agreement: WebCrypto's pair with @noble's.
      const peer = x25519.keygen();
      const imported = await crypto.subtle.importKey('pkcs8', pkcs8(pair.secretKey), { name: 'X25519' }, false, ['deriveBits']);
      const peerPublic = await crypto.subtle.importKey('raw', Uint8Array.from(peer.publicKey), { name: 'X25519' }, false, []);
      const fromWebCrypto = new Uint8Array(await crypto.subtle.deriveBits({ name: 'X25519', public: peerPublic }, imported, 256));
      expect(x25519.getSharedSecret(peer.secretKey, pair.publicKey)).toEqual(fromWebCrypto);
      expect(x25519.getSharedSecret(pair.secretKey, peer.publicKey)).toEqual(fromWebCrypto);
      seen.add(toHex(pair.secretKey));
    }
    expect(seen.size).toBe(8);
  });
});

function pkcs8(secretKey: Uint8Array): Uint8Array<ArrayBuffer> {
  return Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20, ...secretKey);
}
