// How many cases a fuzz target runs. The default suite runs a CI-sized number per target;
// `npm run fuzz` sets ALLIUM_FUZZ_RUNS for a long run (and ALLIUM_FUZZ_SEED replays a failure
// that fast-check reported with its seed).
import type { Parameters } from 'fast-check';

export function fuzzRuns(ciRuns: number): number {
  const wanted = Number(process.env.ALLIUM_FUZZ_RUNS);
  return Number.isSafeInteger(wanted) && wanted > 0 ? wanted : ciRuns;
}

/** fast-check parameters for a target: its run count and, when replaying, the seed. */
export function fuzzParameters<T>(ciRuns: number): Parameters<T> {
  const seed = Number(process.env.ALLIUM_FUZZ_SEED);
  return { numRuns: fuzzRuns(ciRuns), ...(Number.isSafeInteger(seed) ? { seed } : {}) };
}

/** A test timeout that grows with the run count: `msPerCase` each, never below `floorMs`. */
export function fuzzTimeout(ciRuns: number, msPerCase: number, floorMs = 30_000): number {
  return Math.max(floorMs, Math.ceil(fuzzRuns(ciRuns) * msPerCase * 3));
}
