import { describe, expect, it } from 'vitest';
import { toBase64Url, toHex } from './bytes.ts';
import { nobleCrypto } from './crypto/noble.ts';
import { nodeCrypto } from '../node/crypto.ts';
import {
  DESCRIPTOR_DOMAIN,
  openStatement,
  relayIdOf,
  signDescriptor,
  signStatement,
  signText,
  SignatureError,
  verifyDescriptor,
  type DescriptorFields,
} from './descriptor.ts';

const crypto = nobleCrypto;
const identity = crypto.ed25519Keygen();
const fields: DescriptorFields = {
  onionKey: toBase64Url(crypto.x25519Keygen().publicKey),
  url: 'wss://relay.example.org:8443/allium',
  outbound: ['203.0.113.7', '2001:db8::7'],
  exit: { allowPrivate: false, policy: 'accept 80,443,8000-9000' },
  nickname: 'Relay_1-a',
  contact: 'Jane Doe <jane@example.org> — Zürich',
  family: ['1'.repeat(40), 'a'.repeat(40)],
  bandwidth: 1_250_000,
};

/** Re-signs a descriptor after `edit`, so only the validation under test can refuse it. */
function resigned(edit: (d: Record<string, unknown>) => void) {
  const d = JSON.parse(signDescriptor(fields, identity, crypto, 1_700_000_000_000).descriptor) as Record<string, unknown>;
  edit(d);
  const descriptor = JSON.stringify(d);
  return { descriptor, signature: signText(DESCRIPTOR_DOMAIN, descriptor, identity.secretKey, crypto) };
}

describe('relay descriptors', () => {
  it('derives the id as the hex of the first 20 bytes of SHA-256(identity key)', () => {
    const id = relayIdOf(identity.publicKey, crypto);
    expect(id).toBe(toHex(crypto.sha256(identity.publicKey).subarray(0, 20)));
    expect(id).toMatch(/^[0-9a-f]{40}$/);
  });

  it('round-trips, and verifies across the noble and node providers', () => {
    const envelope = signDescriptor(fields, identity, nodeCrypto, 1_700_000_000_000);
    const descriptor = verifyDescriptor(envelope, nobleCrypto);
    expect(descriptor).toEqual({
      version: 2,
      id: relayIdOf(identity.publicKey, crypto),
      identityKey: toBase64Url(identity.publicKey),
      ...fields,
      published: 1_700_000_000_000,
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
    });
    // The signature covers the exact string: any other serialisation of the same object fails.
    const respaced = JSON.stringify(JSON.parse(envelope.descriptor), null, 1);
    expect(() => verifyDescriptor({ ...envelope, descriptor: respaced }, crypto)).toThrow(SignatureError);
  });

  it('gives every descriptor a fresh nonce', () => {
    const a = verifyDescriptor(signDescriptor(fields, identity, crypto, 1), crypto);
    const b = verifyDescriptor(signDescriptor(fields, identity, crypto, 1), crypto);
    expect(a.nonce).not.toBe(b.nonce);
  });

  it('refuses a signature by another key or for another domain', () => {
    const envelope = signDescriptor(fields, identity, crypto);
    const other = crypto.ed25519Keygen();
    const forged = { ...envelope, signature: signText(DESCRIPTOR_DOMAIN, envelope.descriptor, other.secretKey, crypto) };
    expect(() => verifyDescriptor(forged, crypto)).toThrow(SignatureError);
    const wrongDomain = { ...envelope, signature: signText('allium-heartbeat-v1\n', envelope.descriptor, identity.secretKey, crypto) };
    expect(() => verifyDescriptor(wrongDomain, crypto)).toThrow(/bad signature/);
  });

  it.each([
    ['id not matching the identity key', (d: Record<string, unknown>) => (d.id = '00'.repeat(20)), /id does not match/],
    ['an uppercase id', (d: Record<string, unknown>) => (d.id = String(d.id).toUpperCase()), /lowercase hex/],
    ['the version before operator metadata', (d: Record<string, unknown>) => (d.version = 1), /unsupported version 1/],
    ['an unknown version', (d: Record<string, unknown>) => (d.version = 3), /unsupported version 3/],
    ['an unknown field', (d: Record<string, unknown>) => (d.extra = 1), /unknown field "extra"/],
    ['a short onion key', (d: Record<string, unknown>) => (d.onionKey = 'AAAA'), /onionKey: expected 32 bytes/],
    ['an http url', (d: Record<string, unknown>) => (d.url = 'http://relay.example.org:80'), /ws:\/\/ or wss:\/\//],
    ['a url with credentials', (d: Record<string, unknown>) => (d.url = 'ws://u:p@relay:80'), /credentials/],
    ['a url with spaces', (d: Record<string, unknown>) => (d.url = ' ws://relay:80'), /printable ASCII/],
    ['a too long url', (d: Record<string, unknown>) => (d.url = `ws://${'a'.repeat(510)}:1`), /at most 512/],
    ['9 outbound addresses', (d: Record<string, unknown>) => (d.outbound = Array(9).fill('10.0.0.1')), /at most 8/],
    ['an outbound host name', (d: Record<string, unknown>) => (d.outbound = ['example.org']), /not an IP address/],
    ['an outbound IPv4 with leading zeros', (d: Record<string, unknown>) => (d.outbound = ['010.0.0.1']), /not an IP address/],
    ['an outbound IPv6 zone', (d: Record<string, unknown>) => (d.outbound = ['fe80::1%eth0']), /not an IP address/],
    ['a non-boolean allowPrivate', (d: Record<string, unknown>) => (d.exit = { allowPrivate: 'yes', policy: 'accept 80' }), /allowPrivate/],
    ['an exit without policy', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false }), /"policy": string/],
    ['an exit with an extra field', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'accept 80', ports: [] }), /"policy": string/],
    ['a policy that is not canonical', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'accept 443,80' }), /ascending/],
    ['a policy with port 0', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'accept 0-80' }), /not a port/],
    ['a policy with a port above 65535', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'reject 65536' }), /not a port/],
    ['a policy with a leading zero', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'accept 080' }), /not a port/],
    ['a wildcard policy', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'reject *' }), /not a port/],
    ['a policy of another verb', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'allow 80' }), /"accept" or "reject"/],
    ['an overlong policy', (d: Record<string, unknown>) => (d.exit = { allowPrivate: false, policy: 'accept ' + Array.from({ length: 300 }, (_, i) => 2 * i + 1).join(',') }), /longer than 1000/],
    ['a missing bandwidth', (d: Record<string, unknown>) => delete d.bandwidth, /bandwidth must be/],
    ['a negative bandwidth', (d: Record<string, unknown>) => (d.bandwidth = -1), /bandwidth must be/],
    ['a fractional bandwidth', (d: Record<string, unknown>) => (d.bandwidth = 1.5), /bandwidth must be/],
    ['a huge bandwidth', (d: Record<string, unknown>) => (d.bandwidth = 1e13), /bandwidth must be/],
    ['a string bandwidth', (d: Record<string, unknown>) => (d.bandwidth = '100'), /bandwidth must be/],
    ['an empty contact', (d: Record<string, unknown>) => (d.contact = ''), /contact must be/],
    ['a contact of 257 characters', (d: Record<string, unknown>) => (d.contact = 'é'.repeat(257)), /contact must be/],
    ['a contact with a newline', (d: Record<string, unknown>) => (d.contact = 'a\nb'), /contact must be/],
    ['a contact with a bidi override', (d: Record<string, unknown>) => (d.contact = 'abc\u202edef'), /contact must be/],
    ['a contact with a lone surrogate', (d: Record<string, unknown>) => (d.contact = 'a\ud800'), /contact must be/],
    ['a non-string contact', (d: Record<string, unknown>) => (d.contact = 7), /contact must be/],
    ['an empty family', (d: Record<string, unknown>) => (d.family = []), /family must be an array of 1-64/],
    ['a family of 65', (d: Record<string, unknown>) => (d.family = Array.from({ length: 65 }, (_, i) => i.toString(16).padStart(40, '0'))), /family must be an array of 1-64/],
    ['an uppercase family id', (d: Record<string, unknown>) => (d.family = ['A'.repeat(40)]), /family: id must be 40 lowercase hex/],
    ['a short family id', (d: Record<string, unknown>) => (d.family = ['abc']), /family: id must be 40 lowercase hex/],
    ['a family id listed twice', (d: Record<string, unknown>) => (d.family = ['b'.repeat(40), 'b'.repeat(40)]), /twice/],
    ['a family that is not an array', (d: Record<string, unknown>) => (d.family = 'b'.repeat(40)), /family must be an array/],
    ['a long nickname', (d: Record<string, unknown>) => (d.nickname = 'n'.repeat(33)), /nickname/],
    ['a nickname with spaces', (d: Record<string, unknown>) => (d.nickname = 'a b'), /nickname/],
    ['a fractional published time', (d: Record<string, unknown>) => (d.published = 1.5), /published must be/],
    ['a short nonce', (d: Record<string, unknown>) => (d.nonce = 'AAAA'), /nonce: expected 16 bytes/],
  ])('refuses %s', (_name, edit, message) => {
    expect(() => verifyDescriptor(resigned(edit), crypto)).toThrow(message);
  });

  it('accepts IPv4, IPv6 and IPv4-mapped outbound addresses, and no nickname', () => {
    const envelope = resigned((d) => {
      d.outbound = ['127.0.0.2', '::1', '::ffff:192.0.2.1', 'fe80::1:2:3:4'];
      delete d.nickname;
    });
    expect(verifyDescriptor(envelope, crypto).outbound).toHaveLength(4);
  });

  it.each([
    ['a non-object', 'hello'],
    ['a missing signature', { descriptor: '{}' }],
    ['a short signature', { descriptor: '{}', signature: 'AAAA' }],
    ['an oversized descriptor', { descriptor: 'x'.repeat(5000), signature: 'A'.repeat(86) }],
    ['invalid JSON', { descriptor: '{', signature: 'A'.repeat(86) }],
  ])('refuses %s envelope', (_name, envelope) => {
    expect(() => verifyDescriptor(envelope, crypto)).toThrow(/^descriptor/);
  });

  it('accepts the largest descriptor the limits allow', () => {
    const widest = 'accept ' + Array.from({ length: 82 }, (_, i) => `${10_000 + 7 * i}-${10_002 + 7 * i}`).join(',');
    const envelope = signDescriptor(
      {
        ...fields,
        url: `wss://${'r'.repeat(490)}.example:65535`,
        outbound: Array(8).fill('ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'),
        exit: { allowPrivate: false, policy: widest },
        nickname: 'n'.repeat(32),
        contact: '"\\'.repeat(128),
        family: Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(40, 'f')),
        bandwidth: 1e12,
      },
      identity,
      crypto,
    );
    expect(widest.length).toBeLessThanOrEqual(1000);
    expect(verifyDescriptor(envelope, crypto).family).toHaveLength(64);
    expect(envelope.descriptor.length).toBeLessThan(8192);
  });

  it('signs the family sorted, without duplicates and without the relay itself; and no empty family', () => {
    const id = relayIdOf(identity.publicKey, crypto);
    const signed = verifyDescriptor(signDescriptor({ ...fields, family: ['c'.repeat(40), id, 'b'.repeat(40), 'c'.repeat(40)] }, identity, crypto), crypto);
    expect(signed.family).toEqual(['b'.repeat(40), 'c'.repeat(40)]);
    const alone = verifyDescriptor(signDescriptor({ ...fields, family: [id] }, identity, crypto), crypto);
    expect(alone.family).toBeUndefined();
  });

  it('defaults to an exit policy accepting every port and a bandwidth of 0', () => {
    const { policy: _policy, ...exit } = fields.exit;
    const { bandwidth: _bandwidth, ...rest } = fields;
    const signed = verifyDescriptor(signDescriptor({ ...rest, exit }, identity, crypto), crypto);
    expect(signed.exit.policy).toBe('accept 1-65535');
    expect(signed.bandwidth).toBe(0);
  });

  it('refuses to sign a descriptor no pool would accept', () => {
    expect(() => signDescriptor({ ...fields, url: 'http://relay:80' }, identity, crypto)).toThrow(/ws:\/\//);
  });
});

describe('heartbeats and unregister notices', () => {
  it('verify with the identity key under their own domain only', () => {
    const heartbeat = signStatement('heartbeat', identity, crypto, 1234);
    const opened = openStatement(heartbeat, 'heartbeat');
    expect(opened.statement).toEqual({ id: relayIdOf(identity.publicKey, crypto), time: 1234, nonce: expect.any(String) });
    expect(() => opened.verify(identity.publicKey, crypto)).not.toThrow();
    expect(() => opened.verify(crypto.ed25519Keygen().publicKey, crypto)).toThrow(SignatureError);
    expect(() => openStatement(heartbeat, 'unregister').verify(identity.publicKey, crypto)).toThrow(SignatureError);
    expect(() => openStatement(signStatement('unregister', identity, crypto), 'unregister').verify(identity.publicKey, crypto)).not.toThrow();
  });

  it('refuses malformed statements', () => {
    const good = signStatement('heartbeat', identity, crypto, 1);
    const edit = (change: Record<string, unknown>) => ({ ...good, heartbeat: JSON.stringify({ ...JSON.parse(good.heartbeat), ...change }) });
    expect(() => openStatement(edit({ time: -1 }), 'heartbeat')).toThrow(/time/);
    expect(() => openStatement(edit({ id: 'zz' }), 'heartbeat')).toThrow(/id/);
    expect(() => openStatement(edit({ more: true }), 'heartbeat')).toThrow(/unknown field/);
    expect(() => openStatement({ ...good, heartbeat: 'x'.repeat(513) }, 'heartbeat')).toThrow(/longer than 512/);
  });
});
