// Figures of one relay under CREATE load from a separate process (bench/create-load.ts):
// resident memory idle and with many idle 1-hop circuits, and handshakes per second, counted
// per CPU-second of the relay (one process = one core).
import { residentBytes } from '../test/support/processes.ts';
import type { DirectoryRelay } from '../shared/directory.ts';
import { withCpu } from './cpu.ts';
import { startScript, type Script } from './processes.ts';
import { median } from './stats.ts';

const SETTLE_MS = 2000;
const SAMPLES = 5;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * RSS once the relay has settled: the median of a few samples, since a garbage collection in
 * the middle moves a single sample by megabytes.
 */
async function settledResidentBytes(pid: number): Promise<number> {
  await sleep(SETTLE_MS);
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) {
    samples.push(await residentBytes(pid));
    await sleep(200);
  }
  return median(samples);
}

export async function startCreateLoad(relay: DirectoryRelay): Promise<Script<object>> {
  // `--name=value`: a base64url key may start with '-', which parseArgs would take for an option.
  return startScript<object>('create-load', [`--url=${relay.url}`, `--identity=${relay.identityKey}`, `--onion=${relay.onionKey}`]);
}

export interface MemoryFigures {
  idleBytes: number;
  /** RSS with each number of idle circuits open. */
  withCircuits: { circuits: number; bytes: number }[];
}

export async function relayMemory(load: Script<object>, relayPid: number, counts: number[], onProgress: (text: string) => void): Promise<MemoryFigures> {
  const idleBytes = await settledResidentBytes(relayPid);
  const withCircuits = [];
  for (const circuits of counts) {
    onProgress(`relay memory: opening ${circuits.toLocaleString('en')} idle circuits`);
    await load.request({ hold: circuits });
    withCircuits.push({ circuits, bytes: await settledResidentBytes(relayPid) });
  }
  await load.request({ release: true });
  return { idleBytes, withCircuits };
}

export interface HandshakeFigures {
  created: number;
  refused: number;
  perSecond: number;
  /** Handshakes per CPU-second of the relay: the rate one core sustains. */
  perRelayCpuSecond: number;
  cpuPercent: Record<string, number>;
}

export async function relayHandshakes(load: Script<object>, relayPid: number, durationMs: number, inflight: number): Promise<HandshakeFigures> {
  const { result, seconds, cpuPercent } = await withCpu({ relay: relayPid, load: load.process.pid! }, () =>
    load.request<{ created: number; refused: number; seconds: number }>({ rate: durationMs, inflight }),
  );
  return {
    created: result.created,
    refused: result.refused,
    perSecond: result.created / seconds,
    perRelayCpuSecond: result.created / ((cpuPercent.relay / 100) * seconds),
    cpuPercent,
  };
}
