// node:crypto implementation of the TPDP primitives: OpenSSL's AES-CTR and X25519 are one to two
// orders of magnitude faster than pure JS (see docs/PERFORMANCE.md). Cross-checked against
// @noble in shared/crypto/providers.test.ts.
import {
  createCipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { isAllZero } from '../shared/bytes.ts';
import type { CryptoProvider, KeyPair, KeyStream } from '../shared/crypto/provider.ts';

// DER prefixes that wrap a raw 32-byte key into PKCS#8 / SPKI (RFC 8410), which is what
// node:crypto accepts for X25519 and Ed25519 key objects.
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

function privateKey(prefix: Buffer, raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'pkcs8' });
}

// A PEM string, not a {key, format: 'der'} object: node:crypto probes an object argument as a
// KeyObject first, which throws and catches an exception (about 3 times the cost of parsing PEM).
function publicKey(prefix: Buffer, raw: Uint8Array): KeyObject {
  return createPublicKey(`-----BEGIN PUBLIC KEY-----\n${Buffer.concat([prefix, raw]).toString('base64')}\n-----END PUBLIC KEY-----`);
}

// node:crypto checks a raw key by trying (and failing) to read it as a KeyObject and then as a
// CryptoKey: two thrown exceptions per call, 16 µs per HMAC instead of 3 (docs/PERFORMANCE.md).
// Key objects are therefore made once per key and kept with it; keys are never mutated.
const secretKeys = new WeakMap<Uint8Array, KeyObject>();
const x25519Private = new WeakMap<Uint8Array, KeyObject>();
const x25519Public = new WeakMap<Uint8Array, KeyObject>();
function cached(map: WeakMap<Uint8Array, KeyObject>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  let object = map.get(raw);
  if (!object) map.set(raw, (object = make()));
  return object;
}
const secretKeyObject = (key: Uint8Array) => cached(secretKeys, key, () => createSecretKey(key));

function ed25519KeyPair(): KeyPair {
  const pair = generateKeyPairSync('ed25519');
  const secret = pair.privateKey.export({ format: 'der', type: 'pkcs8' });
  const pub = pair.publicKey.export({ format: 'der', type: 'spki' });
  return { secretKey: new Uint8Array(secret.subarray(secret.length - 32)), publicKey: new Uint8Array(pub.subarray(pub.length - 32)) };
}

class NodeKeyStream implements KeyStream {
  private readonly cipher;
  constructor(key: Uint8Array, iv: Uint8Array) {
    // Not cached: a cipher key is used once, and createSecretKey takes raw bytes without probing.
    this.cipher = createCipheriv('aes-256-ctr', createSecretKey(key), iv);
  }
  xorInPlace(data: Uint8Array): void {
    data.set(this.cipher.update(data));
  }
}

export const nodeCrypto: CryptoProvider = {
  name: 'node',
  randomBytes: (length) => new Uint8Array(randomBytes(length)),
  sha256: (data) => new Uint8Array(createHash('sha256').update(data).digest()),
  hmacSha256: (key, data) => new Uint8Array(createHmac('sha256', secretKeyObject(key)).update(data).digest()),
  hkdfSha256: (ikm, salt, info, length) => new Uint8Array(hkdfSync('sha256', createSecretKey(ikm), salt, info, length)),
  aes256Ctr: (key, iv) => new NodeKeyStream(key, iv),
  x25519Keygen() {
    const pair = generateKeyPairSync('x25519');
    const secretKey = new Uint8Array(Buffer.from(pair.privateKey.export({ format: 'jwk' }).d!, 'base64url'));
    x25519Private.set(secretKey, pair.privateKey);
    return { secretKey, publicKey: new Uint8Array(Buffer.from(pair.publicKey.export({ format: 'jwk' }).x!, 'base64url')) };
  },
  x25519(secretKey, peerKey) {
    let shared: Uint8Array;
    try {
      shared = new Uint8Array(
        diffieHellman({
          privateKey: cached(x25519Private, secretKey, () => privateKey(X25519_PKCS8, secretKey)),
          publicKey: cached(x25519Public, peerKey, () => publicKey(X25519_SPKI, peerKey)),
        }),
      );
    } catch {
      // OpenSSL refuses low-order points itself; report it the same way as the explicit check.
      throw new Error('X25519 produced an all-zero shared secret');
    }
    if (isAllZero(shared)) throw new Error('X25519 produced an all-zero shared secret');
    return shared;
  },
  ed25519Keygen: ed25519KeyPair,
  ed25519PublicKey(secretKey) {
    const pub = createPublicKey(privateKey(ED25519_PKCS8, secretKey)).export({ format: 'der', type: 'spki' });
    return new Uint8Array(pub.subarray(pub.length - 32));
  },
  ed25519Sign: (message, secretKey) => new Uint8Array(sign(null, message, privateKey(ED25519_PKCS8, secretKey))),
  ed25519Verify(signature, message, pubKey) {
    try {
      return verify(null, message, publicKey(ED25519_SPKI, pubKey), signature);
    } catch {
      return false;
    }
  },
};
