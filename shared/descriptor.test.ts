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
  exit: { allowPrivate: false },
  nickname: 'Relay_1-a',
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
      version: 1,
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
    ['an unknown version', (d: Record<string, unknown>) => (d.version = 2), /unsupported version 2/],
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
    ['a non-boolean allowPrivate', (d: Record<string, unknown>) => (d.exit = { allowPrivate: 'yes' }), /allowPrivate/],
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
