// Fuzzing what pools and clients read from the network about relays: descriptors, heartbeats and
// unregister notices (shared/descriptor.ts) and signed relay lists (shared/relay-list.ts).
// Arbitrary envelopes are refused with an Error; any change to a signed text is refused; and a
// descriptor whose fields were replaced by arbitrary JSON and then correctly re-signed is accepted
// only if it satisfies POOL.md — checked here by an independent reading of the spec.
import fc from 'fast-check';
import { isIP } from 'node:net';
import { describe, expect, it } from 'vitest';
import { fromBase64Url, toBase64Url, toHex } from '../../shared/bytes.ts';
import {
  DESCRIPTOR_DOMAIN,
  openStatement,
  signDescriptor,
  signStatement,
  signText,
  verifyDescriptor,
  type RelayDescriptor,
} from '../../shared/descriptor.ts';
import { RELAY_LIST_DOMAIN, signRelayList, verifyRelayList } from '../../shared/relay-list.ts';
import { nodeCrypto as crypto } from '../../node/crypto.ts';
import { recordFigure } from '../support/figures.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const RUNS = 3_000;
/** Each case signs and verifies twice: fewer of them. */
const RESIGNED_RUNS = 1_500;

const identity = crypto.ed25519Keygen();
const poolKey = crypto.ed25519Keygen();
const poolKeyText = toBase64Url(poolKey.publicKey);
const NOW = 1_763_700_000_000;
const fields = {
  onionKey: toBase64Url(crypto.x25519Keygen().publicKey),
  url: 'wss://relay.example.org:8443/allium',
  outbound: ['203.0.113.7', '2001:db8::7'],
  exit: { allowPrivate: false, policy: 'accept 80,443' },
  nickname: 'relay_1',
  contact: 'ops@example.org',
  family: ['a'.repeat(40)],
  bandwidth: 1_000_000,
};
const signed = signDescriptor(fields, identity, crypto, NOW);
const base = JSON.parse(signed.descriptor) as Record<string, unknown>;
const FIELDS = Object.keys(base);

/** Runs a verifier on hostile input: it may refuse with an Error, anything else fails the property. */
function outcome<T>(fn: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    if (!(err instanceof Error)) throw new Error(`threw a non-Error: ${String(err)}`);
    return { ok: false };
  }
}

const b64 = (length: number) => fc.integer().map((seed) => toBase64Url(crypto.sha256(Uint8Array.of(seed & 255, seed >>> 8 & 255, length)).subarray(0, Math.min(length, 32))));
/** Values a field might hold: well-formed ones for other fields, near misses and plain junk. */
/** Exit policies, canonical or nearly: ports and ranges in any order, out of range, with zeros. */
const policyText = fc
  .tuple(
    fc.constantFrom('accept', 'reject', 'Accept', 'allow', 'accept '),
    fc.array(fc.oneof(fc.constantFrom(0, 1, 80, 443, 65535, 65536), fc.integer({ min: 1, max: 70_000 })), { minLength: 0, maxLength: 6 }),
    fc.array(fc.boolean(), { maxLength: 6 }),
    fc.constantFrom(',', ', ', '-'),
  )
  .map(([verb, ports, ranges, sep]) => {
    const items: string[] = [];
    for (let i = 0; i < ports.length; i++) items.push(ranges[i] && i + 1 < ports.length ? `${ports[i]}-${ports[++i]}` : String(ports[i]));
    return `${verb} ${items.join(sep)}`;
  });
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    'ws://127.0.0.1:1', 'wss://relay.example.org', 'http://relay.example.org', 'ws://user:pw@host', 'ws://host/#frag', 'ws://', 'ws:// spaced',
    'ws://' + 'a'.repeat(600), '127.0.0.1', '01.2.3.4', '256.1.1.1', '::1', 'fe80::1%eth0', '::ffff:127.0.0.1', '1.2.3', '',
    'relay-1', 'a'.repeat(33), 'é', 'AAAAAAAAAAAAAAAAAAAAAA', 'AAAAAAAAAAAAAAAAAAAAAA==', 'AAAAAAAAAAAAAAAAAAAAAB', toHex(new Uint8Array(20)),
  ),
  fc.constantFrom(-1, 0, 1, 2, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER, NOW, true, false, null),
  b64(16), b64(15), b64(32),
  fc.array(fc.constantFrom('203.0.113.7', '::1', '10.0.0.1', 'x', '1.1.1.01', '2001:db8::1'), { maxLength: 10 }),
  fc.record({ allowPrivate: fc.oneof(fc.boolean(), fc.constant('true')), policy: fc.oneof(fc.string(), policyText) }, { requiredKeys: [] }),
  policyText,
  fc.array(fc.oneof(fc.constantFrom('a'.repeat(40), 'b'.repeat(40), 'A'.repeat(40), 'abc'), fc.jsonValue({ maxDepth: 0 })), { maxLength: 70 }),
  fc.constantFrom('x'.repeat(256), 'é'.repeat(257), 'a\nb', 'a\u202eb', 'a\ud800', ' ', 1e12, 1e12 + 1, -0),
);
const edit = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), field: fc.constantFrom(...FIELDS, 'extra', '__proto__'), value: fieldValue }),
  fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...FIELDS) }),
);

/** POOL.md's descriptor rules, read independently of shared/descriptor.ts. */
function meetsSpec(text: string, d: Record<string, unknown>): boolean {
  const key = (value: unknown, bytes: number) => {
    if (typeof value !== 'string') return false;
    try {
      return fromBase64Url(value).length === bytes;
    } catch {
      return false;
    }
  };
  let url: URL | undefined;
  try {
    url = typeof d.url === 'string' ? new URL(d.url) : undefined;
  } catch {
    url = undefined;
  }
  const exit = d.exit as Record<string, unknown> | null;
  const ipv4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  return (
    text.length <= 8192 &&
    Object.keys(d).every((k) => FIELDS.includes(k)) &&
    d.version === 2 &&
    key(d.identityKey, 32) &&
    d.id === toHex(crypto.sha256(fromBase64Url(d.identityKey as string)).subarray(0, 20)) &&
    key(d.onionKey, 32) &&
    typeof d.url === 'string' && d.url.length <= 512 && /^[\x21-\x7e]+$/.test(d.url) &&
    url !== undefined && (url.protocol === 'ws:' || url.protocol === 'wss:') && url.hostname !== '' && !url.username && !url.password && !url.hash &&
    Array.isArray(d.outbound) && d.outbound.length <= 8 &&
    d.outbound.every((ip) => typeof ip === 'string' && (ipv4.test(ip) || (isIP(ip) === 6 && !ip.includes('%')))) &&
    typeof exit === 'object' && exit !== null && !Array.isArray(exit) && Object.keys(exit).length === 2 && typeof exit.allowPrivate === 'boolean' &&
    canonicalPolicy(exit.policy) &&
    (d.nickname === undefined || (typeof d.nickname === 'string' && /^[A-Za-z0-9_-]{1,32}$/.test(d.nickname))) &&
    (d.contact === undefined || (typeof d.contact === 'string' && [...d.contact].length >= 1 && [...d.contact].length <= 256 && !/[\p{C}\p{Zl}\p{Zp}]/u.test(d.contact))) &&
    (d.family === undefined ||
      (Array.isArray(d.family) && d.family.length >= 1 && d.family.length <= 64 && new Set(d.family).size === d.family.length &&
        d.family.every((id) => typeof id === 'string' && /^[0-9a-f]{40}$/.test(id)))) &&
    Number.isSafeInteger(d.bandwidth) && (d.bandwidth as number) >= 0 && (d.bandwidth as number) <= 1e12 &&
    Number.isSafeInteger(d.published) && (d.published as number) >= 0 &&
    key(d.nonce, 16)
  );
}

/** POOL.md's exit policy summary: a verb, a space, ascending ranges of ports 1-65535 with gaps between them. */
function canonicalPolicy(policy: unknown): boolean {
  if (typeof policy !== 'string' || policy.length > 1000) return false;
  const [verb, list, ...more] = policy.split(' ');
  if ((verb !== 'accept' && verb !== 'reject') || list === undefined || more.length > 0) return false;
  let previousHigh = -1;
  for (const item of list.split(',')) {
    const bounds = item.split('-');
    if (bounds.length > 2 || bounds.some((b) => !/^[1-9]\d*$/.test(b))) return false;
    const [low, high = low] = bounds.map(Number);
    if (high > 65535 || (bounds.length === 2 && high <= low) || low <= previousHigh + 1) return false;
    previousHigh = high;
  }
  return true;
}

/** One character of a text replaced, inserted or removed. */
const textEdit = fc.record({ at: fc.nat(), kind: fc.nat(2), char: fc.constantFrom('"', '\\', '{', '}', ',', ':', ' ', '0', 'a', '\u0000', '\u00e9', '\ud800') });
function editText(text: string, e: { at: number; kind: number; char: string }): string {
  const i = e.at % (text.length + 1);
  if (e.kind === 0) return text.slice(0, i) + e.char + text.slice(i + 1);
  if (e.kind === 1) return text.slice(0, i) + e.char + text.slice(i);
  return text.slice(0, i) + text.slice(i + 1);
}

describe('descriptors, statements and relay lists from the network', () => {
  it(
    'arbitrary envelopes are refused with an Error by every verifier',
    () => {
      const envelope = fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.record({ descriptor: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })), signature: fc.oneof(b64(64), fc.jsonValue({ maxDepth: 1 })) }),
        fc.record({ heartbeat: fc.oneof(fc.string(), fc.constant(JSON.stringify({ id: 'a'.repeat(40), time: NOW, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' }))), signature: b64(64) }),
        fc.record({ list: fc.string(), signature: b64(64) }),
      );
      fc.assert(
        fc.property(envelope, (value) => {
          expect(outcome(() => verifyDescriptor(value, crypto)).ok).toBe(false);
          expect(outcome(() => openStatement(value, 'heartbeat').verify(identity.publicKey, crypto)).ok).toBe(false);
          expect(outcome(() => openStatement(value, 'unregister').verify(identity.publicKey, crypto)).ok).toBe(false);
          expect(outcome(() => verifyRelayList(value, poolKeyText, crypto, NOW)).ok).toBe(false);
        }),
        fuzzParameters(RUNS),
      );
      recordFigure('fuzz descriptor/statement/list envelopes', { cases: fuzzRuns(RUNS), crashes: 0 });
    },
    fuzzTimeout(RUNS, 1),
  );

  it(
    'any change to a signed text, or to its signature, is refused',
    () => {
      const heartbeat = signStatement('heartbeat', identity, crypto, NOW);
      const list = signRelayList([signed], poolKey, crypto, NOW);
      const target = fc.constantFrom('descriptor', 'heartbeat', 'list');
      fc.assert(
        fc.property(target, textEdit, fc.boolean(), (which, e, inSignature) => {
          const [field, envelope] = which === 'descriptor' ? ['descriptor', signed] : which === 'heartbeat' ? ['heartbeat', heartbeat] : ['list', list];
          const original = envelope[field as keyof typeof envelope];
          const changed = inSignature ? { ...envelope, signature: editText(envelope.signature, e) } : { ...envelope, [field]: editText(original, e) };
          if (JSON.stringify(changed) === JSON.stringify(envelope)) return;
          const result =
            which === 'descriptor'
              ? outcome(() => verifyDescriptor(changed, crypto))
              : which === 'heartbeat'
                ? outcome(() => openStatement(changed, 'heartbeat').verify(identity.publicKey, crypto))
                : outcome(() => verifyRelayList(changed, poolKeyText, crypto, NOW));
          expect(result.ok).toBe(false);
        }),
        fuzzParameters(RUNS),
      );
      recordFigure('fuzz signed texts with one edit', { cases: fuzzRuns(RUNS), forgeriesAccepted: 0 });
    },
    fuzzTimeout(RUNS, 1),
  );

  it(
    'a re-signed descriptor with arbitrary fields is accepted exactly when it meets POOL.md, alone and in a list',
    () => {
      const counts = { accepted: 0, refused: 0 };
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
          const d: Record<string, unknown> = { ...base };
          for (const e of edits) {
            if (e.kind === 'delete') delete d[e.field];
            else Object.defineProperty(d, e.field, { value: e.value, enumerable: true, configurable: true, writable: true });
          }
          const text = JSON.stringify(d);
          const envelope = { descriptor: text, signature: signText(DESCRIPTOR_DOMAIN, text, identity.secretKey, crypto) };
          const result = outcome(() => verifyDescriptor(envelope, crypto));
          const parsed = JSON.parse(text) as Record<string, unknown>;
          expect(result.ok, text).toBe(meetsSpec(text, parsed));
          if (result.ok) {
            counts.accepted++;
            expect(result.value).toEqual(parsed as RelayDescriptor);
          } else counts.refused++;
          // In a list signed by the pinned key, the same descriptor decides for the whole list.
          const listed = outcome(() => verifyRelayList(signRelayList([signed, envelope].slice(result.ok ? 1 : 0), poolKey, crypto, NOW), poolKeyText, crypto, NOW));
          expect(listed.ok).toBe(result.ok);
        }),
        fuzzParameters(RESIGNED_RUNS),
      );
      expect(counts.accepted).toBeGreaterThan(0);
      expect(counts.refused).toBeGreaterThan(0);
      recordFigure('fuzz re-signed descriptor fields against POOL.md', { cases: fuzzRuns(RESIGNED_RUNS), ...counts, crashes: 0 });
    },
    fuzzTimeout(RESIGNED_RUNS, 2),
  );

  it('a list signed by the pinned key is refused when stale, from the future, or naming another pool', () => {
    const at = (published: number, key = poolKeyText) => {
      const text = JSON.stringify({ version: 1, poolKey: key, published, relays: [signed] });
      return { list: text, signature: signText(RELAY_LIST_DOMAIN, text, poolKey.secretKey, crypto) };
    };
    expect(outcome(() => verifyRelayList(at(NOW), poolKeyText, crypto, NOW)).ok).toBe(true);
    expect(outcome(() => verifyRelayList(at(NOW - 10 * 60_000 - 1), poolKeyText, crypto, NOW)).ok).toBe(false);
    expect(outcome(() => verifyRelayList(at(NOW + 60_001), poolKeyText, crypto, NOW)).ok).toBe(false);
    expect(outcome(() => verifyRelayList(at(NOW, toBase64Url(identity.publicKey)), poolKeyText, crypto, NOW)).ok).toBe(false);
  });
});
