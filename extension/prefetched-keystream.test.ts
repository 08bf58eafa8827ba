import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleCrypto } from '../shared/crypto/noble.ts';
import { PrefetchedKeyStream } from './prefetched-keystream.ts';

const settle = (ms = 1) => new Promise((resolve) => setTimeout(resolve, ms));

/** The bytes a run of XORs gives, with WebCrypto's answers let in (or not) between them. */
async function xorRun(stream: { xorInPlace(data: Uint8Array): void }, sizes: number[], waits: boolean[], waitMs = 1): Promise<Uint8Array> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const data = new Uint8Array(sizes[i]).map((_, j) => (i * 31 + j) & 0xff);
    stream.xorInPlace(data);
    out.push(data);
    if (waits[i]) await settle(waitMs);
  }
  const all = new Uint8Array(out.reduce((n, d) => n + d.length, 0));
  let at = 0;
  for (const d of out) (all.set(d, at), (at += d.length));
  return all;
}

describe('prefetched AES-256-CTR keystream (extension)', () => {
  it("gives the bytes of @noble's keystream whatever the call sizes and however far WebCrypto has got", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.boolean()), { minLength: 1, maxLength: 30 }),
        async (key, iv, calls) => {
          const sizes = calls.map(([size]) => size);
          const waits = calls.map(([, wait]) => wait);
          const expected = await xorRun(nobleCrypto.aes256Ctr(key, iv), sizes, []);
          expect(await xorRun(new PrefetchedKeyStream(key, iv), sizes, waits)).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("uses WebCrypto's bytes once they are there, across a counter block that carries", async () => {
    // A counter block about to carry into its upper bytes: the two implementations must agree.
    const key = new Uint8Array(32).fill(7);
    const iv = Uint8Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 0xff));
    // Nothing may be computed on the spot: every byte must come from WebCrypto.
    const prefetched = new PrefetchedKeyStream(key, iv, () => {
      throw new Error('computed on the spot');
    });
    await settle(50);
    // Each call stays within what the requests so far asked for: 8 KiB, then 16, then 32.
    const sizes = [2043, 2043 * 3, 100, 5000, 10_000, 20_000];
    expect(await xorRun(prefetched, sizes, sizes.map(() => true), 50)).toEqual(await xorRun(nobleCrypto.aes256Ctr(key, iv), sizes, []));
  });
});
