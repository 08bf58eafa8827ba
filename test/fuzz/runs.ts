// How many cases a fuzz target runs. The default suite runs a CI-sized number per target;
// `npm run fuzz` sets ALLIUM_FUZZ_RUNS, the number of inputs per target for a long run (targets
// that send several inputs per generated case run that many fewer cases), and ALLIUM_FUZZ_SEED
// replays a failure that fast-check reported with its seed.
import type { Parameters } from 'fast-check';

export function fuzzRuns(ciRuns: number, inputsPerRun = 1): number {
  const wanted = Number(process.env.ALLIUM_FUZZ_RUNS);
  return Number.isSafeInteger(wanted) && wanted > 0 ? Math.ceil(wanted / inputsPerRun) : ciRuns;
}

/** fast-check parameters for a target: its run count and, when replaying, the seed. */
export function fuzzParameters<T>(ciRuns: number, inputsPerRun = 1): Parameters<T> {
  const seed = Number(process.env.ALLIUM_FUZZ_SEED);
  return { numRuns: fuzzRuns(ciRuns, inputsPerRun), ...(Number.isSafeInteger(seed) ? { seed } : {}) };
}

/** A test timeout that grows with the run count: `msPerRun` each, three times over, never below `floorMs`. */
export function fuzzTimeout(ciRuns: number, msPerRun: number, inputsPerRun = 1, floorMs = 30_000): number {
  return Math.max(floorMs, Math.ceil(fuzzRuns(ciRuns, inputsPerRun) * msPerRun * 3));
}
