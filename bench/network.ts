// The Allium side of the benchmark, as deployed: a pool and three relays, each its own process
// (started by the integration tests' helpers) running the compiled `allium` bin, and the sink as
// destination. With `profileDir`, the relays run under `node --cpu-prof` and write their
// profiles there when they stop.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, startRelayProcess, startService, type PoolReady } from '../test/support/processes.ts';
import { startScript } from './processes.ts';

export const RELAY_COUNT = 3;

export interface SinkReady {
  tcpPort: number;
  httpUrl: string;
}

/**
 * Compiles lib/ from the current sources (`npm run prepare`), so that the processes run the
 * tree being measured, as deployed: from JavaScript, without the type-stripping loader.
 */
export async function compileLib(): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.lib.json'], { cwd: ROOT });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`compiling lib/ (tsc -p tsconfig.lib.json) failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
  }
}

/** Key files go to `dir`; with `profileDir`, the relays write CPU profiles there. Needs compileLib() first. */
export async function startNetwork(dir: string, profileDir?: string) {
  // Default pool timings: the tests' sub-second heartbeats could drop a relay that is starved
  // of CPU during a throughput run.
  const pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(dir, 'pool.json')], undefined, undefined, 'compiled');
  // Children inherit NODE_OPTIONS; only the relays are to be profiled.
  const inherited = process.env.NODE_OPTIONS;
  if (profileDir) process.env.NODE_OPTIONS = `${inherited ?? ''} --cpu-prof --cpu-prof-dir=${profileDir}`.trim();
  let relays;
  try {
    relays = await Promise.all(Array.from({ length: RELAY_COUNT }, (_, i) => startRelayProcess(pool.ready, dir, i, true, [], 'compiled')));
  } finally {
    if (inherited === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = inherited;
  }
  const sink = await startScript<SinkReady>('sink');
  return { pool, relays, sink, poolRef: { url: pool.ready.pool, key: pool.ready.poolKey } };
}

export type Network = Awaited<ReturnType<typeof startNetwork>>;
