import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleCrypto } from '../crypto/noble.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import type { DirectoryRelay } from '../directory.ts';
import { ACCEPT_ALL, REJECT_ALL } from '../port-policy.ts';
import { choosePath, exitAccepts, MAX_WEIGHT, MIN_WEIGHT, randomBelow, sameFamily, selectionWeight } from './path.ts';

const crypto = nobleCrypto;

function relay(id: string, overrides: Partial<DirectoryRelay> = {}): DirectoryRelay {
  return {
    version: 2,
    id,
    identityKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    onionKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    url: `ws://127.0.0.1:${9000 + Number.parseInt(id.slice(-4), 16)}`,
    outbound: [],
    exit: { allowPrivate: false, policy: ACCEPT_ALL },
    bandwidth: 0,
    published: 0,
    nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
    pools: ['http://pool.test'],
    ...overrides,
  };
}

const idOf = (n: number) => n.toString(16).padStart(40, '0');

/** A CSPRNG stand-in driven by fast-check, so a failing case replays exactly. */
function seededCrypto(seed: number): CryptoProvider {
  let state = seed >>> 0 || 1;
  return {
    ...crypto,
    randomBytes(n: number) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        state ^= state << 13;
        state ^= state >>> 17;
        state ^= state << 5;
        out[i] = state & 0xff;
      }
      return out;
    },
  };
}

const policies = ['accept 80,443', 'accept 1-65535', 'reject 1-65535', 'reject 25', 'accept 22', 'reject 80,443', 'accept 8000-9000'];

/** Random relay lists: families declared on both sides, on one side only, and policies of all kinds. */
const relayList = fc
  .record({
    count: fc.integer({ min: 3, max: 14 }),
    families: fc.array(fc.array(fc.integer({ min: 0, max: 13 }), { minLength: 2, maxLength: 5 }), { maxLength: 4 }),
    oneSided: fc.array(fc.tuple(fc.integer({ min: 0, max: 13 }), fc.integer({ min: 0, max: 13 })), { maxLength: 4 }),
    policy: fc.array(fc.constantFrom(...policies), { minLength: 14, maxLength: 14 }),
    bandwidth: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2e9 })), { minLength: 14, maxLength: 14 }),
  })
  .map(({ count, families, oneSided, policy, bandwidth }) => {
    const declared = Array.from({ length: count }, () => new Set<string>());
    for (const family of families) {
      const members = [...new Set(family.filter((m) => m < count))];
      for (const a of members) for (const b of members) if (a !== b) declared[a].add(idOf(b));
    }
    for (const [a, b] of oneSided) if (a < count && b < count && a !== b) declared[a].add(idOf(b));
    return Array.from({ length: count }, (_, i) =>
      relay(idOf(i), {
        family: declared[i].size > 0 ? [...declared[i]] : undefined,
        exit: { allowPrivate: false, policy: policy[i] },
        bandwidth: bandwidth[i],
      }),
    );
  });

describe('path selection', () => {
  it('never puts two relays of one declared family on a path, nor an exit that refuses the port (property)', () => {
    let built = 0;
    fc.assert(
      fc.property(relayList, fc.constantFrom(undefined, 22, 25, 80, 443, 8080), fc.integer(), (relays, port, seed) => {
        let path: DirectoryRelay[];
        try {
          path = choosePath(relays, seededCrypto(seed), { allowPrivate: false, port });
        } catch (err) {
          // Refusing is allowed only when no exit fits or no family-free path exists.
          expect((err as Error).message).toMatch(/exit policy accepting|distinct/);
          return;
        }
        built++;
        expect(new Set(path.map((r) => r.id)).size).toBe(3);
        for (const a of path) for (const b of path) if (a !== b) expect(sameFamily(a, b)).toBe(false);
        expect(exitAccepts(path[2], port)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    // The property says something only if most cases did build a path.
    expect(built).toBeGreaterThan(1000);
  });

  it('treats a family as declared only when both relays list each other', () => {
    const a = relay(idOf(1), { family: [idOf(2)] });
    const b = relay(idOf(2), { family: [idOf(1)] });
    const c = relay(idOf(3), { family: [idOf(1)] });
    expect(sameFamily(a, b)).toBe(true);
    // c claims a; a does not claim c: a hostile relay cannot push honest ones off its paths.
    expect(sameFamily(a, c)).toBe(false);
    expect(sameFamily(c, a)).toBe(false);
  });

  it('applies the family rule on loopback too, where the /16 rule does not apply', () => {
    const family = [idOf(1), idOf(2), idOf(3)];
    const relays = family.map((id) => relay(id, { family: family.filter((m) => m !== id) }));
    expect(() => choosePath(relays, crypto, { allowPrivate: false })).toThrow(/distinct/);
    relays.push(relay(idOf(4)), relay(idOf(5)));
    for (let i = 0; i < 200; i++) {
      const path = choosePath(relays, crypto, { allowPrivate: false });
      expect(path.filter((r) => family.includes(r.id)).length).toBeLessThanOrEqual(1);
    }
  });

  it('chooses the exit among relays whose policy accepts the port, and says when there is none', () => {
    const relays = [relay(idOf(1), { exit: { allowPrivate: false, policy: 'accept 22' } }), relay(idOf(2), { exit: { allowPrivate: false, policy: REJECT_ALL } }), relay(idOf(3), { exit: { allowPrivate: false, policy: 'reject 22' } })];
    for (let i = 0; i < 100; i++) {
      expect(choosePath(relays, crypto, { allowPrivate: false, port: 22 })[2].id).toBe(idOf(1));
      expect(choosePath(relays, crypto, { allowPrivate: false, port: 443 })[2].id).toBe(idOf(3));
      // No port yet (a prepared circuit): any relay that is an exit at all.
      expect(choosePath(relays, crypto, { allowPrivate: false })[2].id).not.toBe(idOf(2));
    }
    expect(() => choosePath(relays.slice(1, 2).concat(relay(idOf(4)), relay(idOf(5))), crypto, { allowPrivate: false, port: 22 })).not.toThrow();
    const noSsh = [relays[1], relays[2], relay(idOf(6), { exit: { allowPrivate: false, policy: 'accept 80' } })];
    expect(() => choosePath(noSsh, crypto, { allowPrivate: false, port: 22 })).toThrow(/no relay in the pool list has an exit policy accepting port 22/);
  });

  it('weights relays by advertised bandwidth, with a floor for new relays and a cap on claims', () => {
    expect(selectionWeight({ bandwidth: 0 })).toBe(MIN_WEIGHT);
    expect(selectionWeight({ bandwidth: 5_000_000 })).toBe(5_000_000);
    expect(selectionWeight({ bandwidth: 1e12 })).toBe(MAX_WEIGHT);
    // Exit choice among one relay of 9 MB/s and one of 1 MB/s (the others refuse port 80).
    const fast = relay(idOf(1), { bandwidth: 9_000_000 });
    const slow = relay(idOf(2), { bandwidth: 1_000_000 });
    const others = [3, 4, 5].map((n) => relay(idOf(n), { exit: { allowPrivate: false, policy: REJECT_ALL } }));
    const runs = 4000;
    let fastExits = 0;
    for (let i = 0; i < runs; i++) if (choosePath([fast, slow, ...others], crypto, { allowPrivate: false, port: 80 })[2] === fast) fastExits++;
    // Expected 90 %; 4000 draws put 5 standard deviations at ±2.4 %.
    expect(fastExits / runs).toBeGreaterThan(0.875);
    expect(fastExits / runs).toBeLessThan(0.925);
  });

  it('draws uniform integers below any bound up to 2^53', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[randomBelow(crypto, 3)]++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
    const big = 2 ** 53 - 1;
    for (let i = 0; i < 100; i++) {
      const v = randomBelow(crypto, big);
      expect(Number.isSafeInteger(v) && v >= 0 && v < big).toBe(true);
    }
    expect(() => randomBelow(crypto, 0)).toThrow(RangeError);
  });
});
