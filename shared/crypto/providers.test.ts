// Known-answer tests for both crypto providers (RFC 7748, RFC 5869, RFC 4231, NIST SP 800-38A,
// RFC 8032), and a randomised cross-check that @noble and node:crypto agree byte for byte.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../../node/crypto.ts';
import { concatBytes, fromHex, toHex, utf8 } from '../bytes.ts';
import { nobleCrypto } from './noble.ts';
import type { CryptoProvider } from './provider.ts';
import { LOW_ORDER_POINTS_HEX } from '../../test/vectors/x25519-low-order.ts';

const X25519_BASE = fromHex('09' + '00'.repeat(31));

function range(from: number, to: number): Uint8Array {
  const out = new Uint8Array(to - from + 1);
  for (let i = 0; i < out.length; i++) out[i] = from + i;
  return out;
}

/** Runs `data` through a fresh keystream in pieces of the given sizes (the last piece takes the rest). */
function ctrInPieces(crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array, data: Uint8Array, pieces: number[]): Uint8Array {
  const out = data.slice();
  const stream = crypto.aes256Ctr(key, iv);
  let offset = 0;
  for (const size of pieces) {
    const end = Math.min(out.length, offset + size);
    stream.xorInPlace(out.subarray(offset, end));
    offset = end;
  }
  stream.xorInPlace(out.subarray(offset));
  return out;
}

function ctrOneShot(crypto: CryptoProvider, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const out = data.slice();
  crypto.aes256Ctr(key, iv).xorInPlace(out);
  return out;
}

// RFC 7748 §5.2 (the two single scalar multiplications) and §6.1 (Alice and Bob).
const X25519_VECTORS = [
  {
    scalar: 'a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4',
    u: 'e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c',
    out: 'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
  },
  {
    scalar: '4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d',
    u: 'e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493',
    out: '95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957',
  },
];
const ALICE_SECRET = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const ALICE_PUBLIC = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_SECRET = '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb';
const BOB_PUBLIC = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const ALICE_BOB_SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

const LOW_ORDER_POINTS = LOW_ORDER_POINTS_HEX;

// RFC 5869 Appendix A.1–A.3 (SHA-256).
const HKDF_VECTORS = [
  {
    name: 'test case 1 (basic)',
    ikm: '0b'.repeat(22),
    salt: toHex(range(0x00, 0x0c)),
    info: toHex(range(0xf0, 0xf9)),
    length: 42,
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'test case 2 (long inputs)',
    ikm: toHex(range(0x00, 0x4f)),
    salt: toHex(range(0x60, 0xaf)),
    info: toHex(range(0xb0, 0xff)),
    length: 82,
    okm:
      'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c' +
      '59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71' +
      'cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'test case 3 (empty salt and info)',
    ikm: '0b'.repeat(22),
    salt: '',
    info: '',
    length: 42,
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
];

// RFC 4231 §4.2, §4.3 and §4.7 (HMAC-SHA-256 column).
const HMAC_VECTORS = [
  { name: 'test case 1', key: '0b'.repeat(20), data: toHex(utf8('Hi There')), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  {
    name: 'test case 2 (short key)',
    key: toHex(utf8('Jefe')),
    data: toHex(utf8('what do ya want for nothing?')),
    mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    name: 'test case 6 (key larger than a block)',
    key: 'aa'.repeat(131),
    data: toHex(utf8('Test Using Larger Than Block-Size Key - Hash Key First')),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
];

// NIST SP 800-38A F.5.5 CTR-AES256.Encrypt. The counter block wraps its last byte (…feff → …ff00)
// between blocks 1 and 2, which exercises the carry.
const AES_CTR = {
  key: '603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4',
  iv: 'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff',
  plaintext:
    '6bc1bee22e409f96e93d7e117393172a' + 'ae2d8a571e03ac9c9eb76fac45af8e51' + '30c81c46a35ce411e5fbc1191a0a52ef' + 'f69f2445df4f9b17ad2b417be66c3710',
  ciphertext:
    '601ec313775789a5b7a7f504bbf3d228' + 'f443e3ca4d62b59aca84e990cacaf5c5' + '2b0930daa23de94ce87017ba2d84988d' + 'dfc9c58db67aada613c2dd08457941a6',
};

// RFC 8032 §7.1 TEST 1–3.
const ED25519_VECTORS = [
  {
    name: 'TEST 1 (empty message)',
    secret: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    public: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155' + '5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    name: 'TEST 2 (one byte)',
    secret: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    public: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' + '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    name: 'TEST 3 (two bytes)',
    secret: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    public: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature:
      '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac' + '18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

describe.each([nobleCrypto, nodeCrypto])('$name provider: known answers', (crypto) => {
  describe('X25519 (RFC 7748)', () => {
    it.each(X25519_VECTORS.map((v, i) => ({ ...v, n: i + 1 })))('§5.2 scalar multiplication vector $n', ({ scalar, u, out }) => {
      expect(toHex(crypto.x25519(fromHex(scalar), fromHex(u)))).toBe(out);
    });

    it('§6.1 Alice/Bob: public keys and the shared secret', () => {
      expect(toHex(crypto.x25519(fromHex(ALICE_SECRET), X25519_BASE))).toBe(ALICE_PUBLIC);
      expect(toHex(crypto.x25519(fromHex(BOB_SECRET), X25519_BASE))).toBe(BOB_PUBLIC);
      expect(toHex(crypto.x25519(fromHex(ALICE_SECRET), fromHex(BOB_PUBLIC)))).toBe(ALICE_BOB_SHARED);
      expect(toHex(crypto.x25519(fromHex(BOB_SECRET), fromHex(ALICE_PUBLIC)))).toBe(ALICE_BOB_SHARED);
    });

    it.each(LOW_ORDER_POINTS)('refuses the low-order public key %s (all-zero result)', (point) => {
      for (const secret of [fromHex(ALICE_SECRET), fromHex(BOB_SECRET), crypto.x25519Keygen().secretKey]) {
        expect(() => crypto.x25519(secret, fromHex(point))).toThrow(Error);
      }
    });

    it('generates key pairs whose public key is the secret times the base point', () => {
      const pair = crypto.x25519Keygen();
      expect(pair.secretKey).toHaveLength(32);
      expect(toHex(crypto.x25519(pair.secretKey, X25519_BASE))).toBe(toHex(pair.publicKey));
      const other = crypto.x25519Keygen();
      expect(toHex(crypto.x25519(pair.secretKey, other.publicKey))).toBe(toHex(crypto.x25519(other.secretKey, pair.publicKey)));
    });
  });

  describe('HKDF-SHA256 (RFC 5869)', () => {
    it.each(HKDF_VECTORS)('$name', ({ ikm, salt, info, length, okm }) => {
      expect(toHex(crypto.hkdfSha256(fromHex(ikm), fromHex(salt), fromHex(info), length))).toBe(okm);
    });
  });

  describe('HMAC-SHA256 (RFC 4231)', () => {
    it.each(HMAC_VECTORS)('$name', ({ key, data, mac }) => {
      expect(toHex(crypto.hmacSha256(fromHex(key), fromHex(data)))).toBe(mac);
    });
  });

  describe('AES-256-CTR (NIST SP 800-38A F.5.5)', () => {
    const key = fromHex(AES_CTR.key);
    const iv = fromHex(AES_CTR.iv);
    const plaintext = fromHex(AES_CTR.plaintext);

    it('encrypts the four blocks in one call', () => {
      expect(toHex(ctrOneShot(crypto, key, iv, plaintext))).toBe(AES_CTR.ciphertext);
    });

    it('decrypts (CTR is its own inverse)', () => {
      expect(toHex(ctrOneShot(crypto, key, iv, fromHex(AES_CTR.ciphertext)))).toBe(AES_CTR.plaintext);
    });

    it.each([
      [[1, 15, 17, 33]],
      [[16, 16, 16, 16]],
      [[0, 5, 0, 27, 3, 29]],
      [[63, 1]],
      [[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    ])('continues one running keystream across uneven pieces %j', (pieces) => {
      expect(toHex(ctrInPieces(crypto, key, iv, plaintext, pieces))).toBe(AES_CTR.ciphertext);
    });

    it('gives independent streams for two keystream objects with the same key and IV', () => {
      const a = crypto.aes256Ctr(key, iv);
      const b = crypto.aes256Ctr(key, iv);
      const first = plaintext.slice(0, 20);
      a.xorInPlace(first);
      const second = plaintext.slice(0, 20);
      b.xorInPlace(second);
      expect(toHex(first)).toBe(toHex(second));
      expect(toHex(first)).toBe(AES_CTR.ciphertext.slice(0, 40));
    });
  });

  describe('Ed25519 (RFC 8032 §7.1)', () => {
    it.each(ED25519_VECTORS)('$name', (v) => {
      const secret = fromHex(v.secret);
      const message = fromHex(v.message);
      const publicKey = fromHex(v.public);
      expect(toHex(crypto.ed25519PublicKey(secret))).toBe(v.public);
      const signature = crypto.ed25519Sign(message, secret);
      expect(toHex(signature)).toBe(v.signature);
      expect(crypto.ed25519Verify(signature, message, publicKey)).toBe(true);
      // One flipped bit anywhere in the signature, the message or the key: refused.
      for (let bit = 0; bit < 512; bit += 7) expect(crypto.ed25519Verify(flipBit(signature, bit), message, publicKey)).toBe(false);
      if (message.length > 0) {
        for (let bit = 0; bit < message.length * 8; bit++) expect(crypto.ed25519Verify(signature, flipBit(message, bit), publicKey)).toBe(false);
      } else {
        expect(crypto.ed25519Verify(signature, Uint8Array.of(0), publicKey)).toBe(false);
      }
      for (let bit = 0; bit < 256; bit += 13) expect(crypto.ed25519Verify(signature, message, flipBit(publicKey, bit))).toBe(false);
    });

    it('returns false (never throws) for malformed signatures and keys', () => {
      const v = ED25519_VECTORS[1];
      const signature = fromHex(v.signature);
      const message = fromHex(v.message);
      const publicKey = fromHex(v.public);
      expect(crypto.ed25519Verify(signature.subarray(0, 63), message, publicKey)).toBe(false);
      expect(crypto.ed25519Verify(concatBytes(signature, Uint8Array.of(0)), message, publicKey)).toBe(false);
      expect(crypto.ed25519Verify(signature, message, publicKey.subarray(0, 31))).toBe(false);
      expect(crypto.ed25519Verify(new Uint8Array(64), message, publicKey)).toBe(false);
      expect(crypto.ed25519Verify(signature, message, new Uint8Array(32).fill(0xff))).toBe(false);
    });

    it('generates key pairs whose public key matches the secret', () => {
      const pair = crypto.ed25519Keygen();
      expect(pair.secretKey).toHaveLength(32);
      expect(toHex(crypto.ed25519PublicKey(pair.secretKey))).toBe(toHex(pair.publicKey));
      const message = utf8('allium');
      expect(crypto.ed25519Verify(crypto.ed25519Sign(message, pair.secretKey), message, pair.publicKey)).toBe(true);
    });
  });

  it('sha256 of "abc" (FIPS 180-2)', () => {
    expect(toHex(crypto.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('randomBytes gives the requested length and differs between calls', () => {
    const a = crypto.randomBytes(32);
    expect(a).toHaveLength(32);
    expect(toHex(a)).not.toBe(toHex(crypto.randomBytes(32)));
  });
});

describe('noble and node providers agree on random inputs', () => {
  const RUNS = { numRuns: 200 };
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('X25519 on arbitrary scalars and u-coordinates (results and refusals alike)', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (secret, u) => {
        const run = (c: CryptoProvider) => {
          try {
            return toHex(c.x25519(secret, u));
          } catch {
            return 'refused';
          }
        };
        expect(run(nodeCrypto)).toBe(run(nobleCrypto));
      }),
      RUNS,
    );
  });

  it('X25519 Diffie-Hellman across providers', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (a, b) => {
        const aPublic = nobleCrypto.x25519(a, X25519_BASE);
        const bPublic = nodeCrypto.x25519(b, X25519_BASE);
        expect(toHex(nodeCrypto.x25519(a, X25519_BASE))).toBe(toHex(aPublic));
        expect(toHex(nodeCrypto.x25519(a, bPublic))).toBe(toHex(nobleCrypto.x25519(b, aPublic)));
      }),
      RUNS,
    );
  });

  it('Ed25519: same public key and signature, and each verifies the other', () => {
    fc.assert(
      fc.property(bytes32, fc.uint8Array({ maxLength: 300, size: 'max' }), fc.nat(511), (secret, message, bit) => {
        const publicKey = nobleCrypto.ed25519PublicKey(secret);
        expect(toHex(nodeCrypto.ed25519PublicKey(secret))).toBe(toHex(publicKey));
        const signature = nobleCrypto.ed25519Sign(message, secret);
        expect(toHex(nodeCrypto.ed25519Sign(message, secret))).toBe(toHex(signature));
        expect(nodeCrypto.ed25519Verify(signature, message, publicKey)).toBe(true);
        expect(nobleCrypto.ed25519Verify(signature, message, publicKey)).toBe(true);
        const forged = flipBit(signature, bit);
        expect(nodeCrypto.ed25519Verify(forged, message, publicKey)).toBe(false);
        expect(nobleCrypto.ed25519Verify(forged, message, publicKey)).toBe(false);
      }),
      RUNS,
    );
  });

  it('HKDF-SHA256', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100, size: 'max' }),
        fc.uint8Array({ maxLength: 100, size: 'max' }),
        fc.uint8Array({ maxLength: 100, size: 'max' }),
        fc.integer({ min: 1, max: 255 * 32 }),
        (ikm, salt, info, length) => {
          const out = nodeCrypto.hkdfSha256(ikm, salt, info, length);
          expect(out).toHaveLength(length);
          expect(toHex(out)).toBe(toHex(nobleCrypto.hkdfSha256(ikm, salt, info, length)));
        },
      ),
      RUNS,
    );
  });

  it('HMAC-SHA256 (keys shorter and longer than a block)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200, size: 'max' }), fc.uint8Array({ maxLength: 1000, size: 'max' }), (key, data) => {
        expect(toHex(nodeCrypto.hmacSha256(key, data))).toBe(toHex(nobleCrypto.hmacSha256(key, data)));
      }),
      RUNS,
    );
  });

  it('AES-256-CTR: same keystream, however each side splits the data', () => {
    // IVs near the top of the 128-bit counter space check the carry and the wrap-around.
    const iv = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.constant(new Uint8Array(16).fill(0xff)),
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map((tail) => concatBytes(new Uint8Array(12).fill(0xff), tail)),
    );
    fc.assert(
      fc.property(
        bytes32,
        iv,
        fc.uint8Array({ maxLength: 2000, size: 'max' }),
        fc.array(fc.nat(200), { maxLength: 20, size: 'max' }),
        fc.array(fc.nat(200), { maxLength: 20, size: 'max' }),
        (key, counter, data, piecesA, piecesB) => {
          const expected = toHex(ctrOneShot(nodeCrypto, key, counter, data));
          expect(toHex(ctrOneShot(nobleCrypto, key, counter, data))).toBe(expected);
          expect(toHex(ctrInPieces(nobleCrypto, key, counter, data, piecesA))).toBe(expected);
          expect(toHex(ctrInPieces(nodeCrypto, key, counter, data, piecesB))).toBe(expected);
        },
      ),
      RUNS,
    );
  });
});
