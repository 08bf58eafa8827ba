import { describe, expect, it } from 'vitest';
import { ScramLoginError, scramLogin } from '../shared/scram-client.ts';
import { TokenBuckets } from '../node/token-buckets.ts';
import { DEFAULT_RATE_LIMITS } from './scram-server.ts';
import { fetchFrom, scramCrypto, sendClientFirst, startTestSite } from './test-support.ts';

describe('TokenBuckets', () => {
  it('spends a burst, refuses, then refills at the policy rate', () => {
    const buckets = new TokenBuckets({ capacity: 3, refillPerSecond: 0.5 }, 100);
    const t0 = 1_000_000;
    expect([1, 2, 3, 4].map(() => buckets.take('k', t0))).toEqual([true, true, true, false]);
    expect(buckets.allows('k', t0)).toBe(false);
    expect(buckets.retryAfterSeconds('k', t0)).toBe(2);
    expect(buckets.take('k', t0 + 1999)).toBe(false);
    expect(buckets.take('k', t0 + 2000)).toBe(true);
    expect(buckets.take('other', t0)).toBe(true);
    // Long idle: back to a full burst, never more.
    expect([1, 2, 3, 4].map(() => buckets.take('k', t0 + 3_600_000))).toEqual([true, true, true, false]);
  });

  it('keeps at most maxKeys buckets', () => {
    const buckets = new TokenBuckets({ capacity: 1, refillPerSecond: 0.001 }, 10);
    for (let i = 0; i < 1000; i++) buckets.take(`key${i}`, 0);
    // The oldest were forgotten (full again); the newest are still empty.
    expect(buckets.allows('key0', 0)).toBe(true);
    expect(buckets.allows('key999', 0)).toBe(false);
  });
});

describe('login rate limits on a running site', () => {
  it('refuses a burst of wrong guesses while the right user from another source still logs in', async () => {
    const site = await startTestSite({ alice: 'right password' });
    try {
      const attacker = fetchFrom({ localAddress: '127.0.0.1' });
      const outcomes: string[] = [];
      for (let i = 0; i < 15; i++) {
        outcomes.push(
          await scramLogin({ fetch: attacker, siteUrl: site.url, user: 'alice', password: `guess ${i}`, crypto: scramCrypto }).then(
            () => 'logged in',
            (err: ScramLoginError) => err.code,
          ),
        );
      }
      const allowed = DEFAULT_RATE_LIMITS.failuresPerSource.capacity;
      expect(outcomes.slice(0, allowed)).toEqual(new Array(allowed).fill('REJECTED'));
      expect(outcomes.slice(allowed)).toEqual(new Array(15 - allowed).fill('RATE_LIMITED'));
      // The refusal comes before any work for the server: a 429 with Retry-After at client-first.
      const refused = await sendClientFirst(attacker, site.url, 'alice');
      expect(refused.response.status).toBe(429);
      expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThan(0);
      // Even the right password is held back from the attacking source...
      const fromAttacker = scramLogin({ fetch: attacker, siteUrl: site.url, user: 'alice', password: 'right password', crypto: scramCrypto });
      await expect(fromAttacker).rejects.toMatchObject({ code: 'RATE_LIMITED' });
      // ...while alice, from another address, logs in, and the log shows where she came from.
      const alice = fetchFrom({ localAddress: '127.0.0.2' });
      const result = await scramLogin({ fetch: alice, siteUrl: site.url, user: 'alice', password: 'right password', crypto: scramCrypto });
      expect(result.user).toBe('alice');
      expect(site.logs).toContainEqual(expect.objectContaining({ message: 'login succeeded', user: 'alice', peer: '127.0.0.2' }));
      expect(site.logs).toContainEqual(expect.objectContaining({ message: 'login attempts rate-limited', peer: '127.0.0.1' }));
    } finally {
      await site.close();
    }
  });

  it('caps failures per user across sources, above the per-source cap', async () => {
    const site = await startTestSite({ alice: 'right password' });
    try {
      const perUser = DEFAULT_RATE_LIMITS.failuresPerUser.capacity;
      const perSource = DEFAULT_RATE_LIMITS.failuresPerSource.capacity;
      const codes: string[] = [];
      for (let i = 0; i < perUser + 1; i++) {
        // Spread the guesses over sources so that no source reaches its own cap.
        const source = fetchFrom({ localAddress: `127.0.1.${1 + Math.floor(i / (perSource - 1))}` });
        codes.push(
          await scramLogin({ fetch: source, siteUrl: site.url, user: 'alice', password: `guess ${i}`, crypto: scramCrypto }).then(
            () => 'logged in',
            (err: ScramLoginError) => err.code,
          ),
        );
      }
      expect(codes.filter((c) => c === 'REJECTED')).toHaveLength(perUser);
      expect(codes.at(-1)).toBe('RATE_LIMITED');
    } finally {
      await site.close();
    }
  });
});
