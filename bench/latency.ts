// Latency figures, measured with the client core exactly as applications use it: circuit builds
// (3 hops, each with its own isolation key, so none is reused) and the first byte of small
// fetches on a circuit that is already open.
import type { AlliumClient } from '../shared/client/client.ts';

export interface LatencyOptions {
  warmup: number;
  samples: number;
  onProgress(done: number): void;
}

/** Milliseconds from prepareCircuit() to an open 3-hop circuit; each circuit is destroyed after. */
export async function circuitBuildTimes(client: AlliumClient, options: LatencyOptions): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < options.warmup + options.samples; i++) {
    const started = performance.now();
    const managed = await client.prepareCircuit(`build-${i}`, true);
    const elapsed = performance.now() - started;
    managed.circuit.destroy();
    if (i >= options.warmup) times.push(elapsed);
    options.onProgress(i + 1);
  }
  return times;
}

/** Milliseconds from fetch() to the response head, for a 1 KiB body on one open circuit. */
export async function firstByteTimes(client: AlliumClient, url: string, options: LatencyOptions): Promise<number[]> {
  const isolationKey = 'first-byte';
  await client.prepareCircuit(isolationKey, true);
  const times: number[] = [];
  for (let i = 0; i < options.warmup + options.samples; i++) {
    const started = performance.now();
    const response = await client.fetch(url, { isolationKey });
    const elapsed = performance.now() - started;
    const body = await response.arrayBuffer();
    if (response.status !== 200 || body.byteLength !== 1024) throw new Error(`first-byte fetch returned ${response.status} with ${body.byteLength} bytes`);
    if (i >= options.warmup) times.push(elapsed);
    options.onProgress(i + 1);
  }
  return times;
}
