// Bulk transfers through Allium: the sink sends N bytes on a TCP connection that the exit opened
// (client.connect), and the client reads them through its web-stream interface, as an
// application does. Circuits are built beforehand, so only the transfer (stream open included)
// is timed. Each round also records the CPU of every process on the path.
import { utf8 } from '../shared/bytes.ts';
import type { AlliumClient } from '../shared/client/client.ts';
import { withCpu } from './cpu.ts';
import type { Throughput } from './report.ts';
import { megabytesPerSecond, median, round } from './stats.ts';

async function download(client: AlliumClient, port: number, bytes: number, isolationKey: string): Promise<void> {
  const socket = await client.connect('127.0.0.1', port, { isolationKey });
  const writer = socket.writable.getWriter();
  await writer.write(utf8(`${bytes}\n`));
  const reader = socket.readable.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.length;
  }
  await writer.close();
  if (received !== bytes) throw new Error(`stream delivered ${received} of ${bytes} bytes`);
}

/** Builds (or reuses) the circuits of these isolation keys. */
export async function prepareCircuits(client: AlliumClient, keys: string[]): Promise<void> {
  await Promise.all(keys.map((key) => client.prepareCircuit(key, true)));
}

/** Moves `bytes` on each key's circuit, all streams at once; resolves with the elapsed seconds. */
export async function parallelDownloads(client: AlliumClient, port: number, bytes: number, keys: string[]): Promise<number> {
  const started = performance.now();
  await Promise.all(keys.map((key) => download(client, port, bytes, key)));
  return (performance.now() - started) / 1000;
}

export interface RoundSample {
  mbps: number;
  cpuPercent: Record<string, number>;
  /** CPU time of all the processes on the path per MB moved. */
  cpuMsPerMB: number;
}

/** The median round of a figure, and its ratio to the AES chain round by round. */
export function summarizeRounds(bytes: number, samples: RoundSample[], aes?: RoundSample[]): Throughput {
  const byRate = [...samples].sort((a, b) => a.mbps - b.mbps);
  const middle = byRate[Math.floor((byRate.length - 1) / 2)];
  const ratios = aes && samples.map((s, i) => s.mbps / aes[i].mbps);
  return {
    bytes,
    mbps: round(middle.mbps),
    perRound: samples.map((s) => round(s.mbps)),
    ...(ratios ? { ratioToAesChain: round(median(ratios), 2) } : {}),
    cpuPercent: Object.fromEntries(Object.entries(middle.cpuPercent).map(([name, p]) => [name, Math.round(p)])),
    cpuMsPerMB: round(median(samples.map((s) => s.cpuMsPerMB))),
  };
}

/** Runs one transfer of `bytes`, recording the CPU each process on the path spent. */
export async function timed(bytes: number, processes: Record<string, number>, work: () => Promise<unknown>): Promise<RoundSample> {
  const { seconds, cpuPercent } = await withCpu(processes, work);
  const cpuSeconds = (Object.values(cpuPercent).reduce((a, b) => a + b, 0) / 100) * seconds;
  return { mbps: megabytesPerSecond(bytes, seconds), cpuPercent, cpuMsPerMB: (1000 * cpuSeconds) / (bytes / 1e6) };
}
