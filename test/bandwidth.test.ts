// The relay bandwidth limit on a bulk transfer: 8 MiB downloaded through a 3-hop circuit whose
// middle relay runs with --bandwidth-rate 2MB --bandwidth-burst 2MB. Once the burst is spent the
// middle relay reads cells at 2 MB/s within 10 % (issue 8), and the transfer completes intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { CELL_SIZE } from '../shared/cell.ts';
import { CIRCUIT_WINDOW_INCREMENT, STREAM_WINDOW_INCREMENT } from '../shared/flow-control.ts';
import { RELAY_DATA_MAX } from '../shared/relay-cell.ts';
import { startRelayProcess, startService, tempDir, type PoolReady } from './support/processes.ts';
import { circuitThrough, listedRelays, withRetries } from './support/relay-circuits.ts';
import { startEndlessSource } from './support/tcp-source.ts';

const RATE = 2_000_000;
const TOTAL = 8 * 1024 * 1024;
/** Measured from here on: the middle relay's 2 MB burst is spent by then. */
const STEADY_FROM = 3_000_000;

describe('relay bandwidth limit', () => {
  let stop: () => Promise<unknown>;
  let relays: Awaited<ReturnType<typeof listedRelays>>;
  let source: Awaited<ReturnType<typeof startEndlessSource>>;

  beforeAll(async () => {
    const dir = tempDir();
    const pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(dir, 'pool.json'), '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5']);
    const limited = ['--bandwidth-rate', '2MB', '--bandwidth-burst', '2MB'];
    const started = await Promise.all([0, 1, 2].map((i) => startRelayProcess(pool.ready, dir, i, true, i === 1 ? limited : [])));
    source = await startEndlessSource();
    stop = async () => {
      await source.close();
      await Promise.all(started.map((r) => r.stop()));
      await pool.stop();
    };
    const listed = await listedRelays({ url: pool.ready.pool, key: pool.ready.poolKey });
    relays = started.map((r) => listed.find((l) => l.url === r.ready.url)!);
  }, 30_000);

  afterAll(() => stop?.());

  it('holds a bulk transfer through the limited middle relay to its rate, within 10 %', async () => {
    const { circuit } = await withRetries(() => circuitThrough(relays));
    const stream = await circuit.openStream({ kind: 'connect', host: '127.0.0.1', port: source.port });
    let received = 0;
    let corrupt = false;
    let steadyStart = 0;
    const done = new Promise<number>((resolve, reject) => {
      stream.onClose = (error) => reject(error ?? new Error('stream closed early'));
      stream.onData = (chunk) => {
        if (chunk.some((byte) => byte !== 0x5a)) corrupt = true;
        received += chunk.length;
        stream.consumed();
        if (steadyStart === 0 && received >= STEADY_FROM) steadyStart = performance.now();
        if (received >= TOTAL) resolve(performance.now());
      };
    });
    const end = await done;
    stream.close('DONE');
    circuit.destroy();
    expect(corrupt).toBe(false);
    // What the middle relay read for this payload: the DATA cells coming back, and the SENDMEs
    // going out (one per circuit window increment, one per stream window increment).
    const cells = (received - STEADY_FROM) / RELAY_DATA_MAX;
    const readBytes = cells * CELL_SIZE * (1 + 1 / CIRCUIT_WINDOW_INCREMENT + 1 / STREAM_WINDOW_INCREMENT);
    const rate = readBytes / ((end - steadyStart) / 1000);
    console.log(`bandwidth: ${(rate / 1e6).toFixed(3)} MB/s of cells read at the middle relay (setting ${RATE / 1e6} MB/s), payload ${(((received - STEADY_FROM) / (end - steadyStart)) * 1000 / 1e6).toFixed(3)} MB/s`);
    expect(rate).toBeGreaterThan(0.9 * RATE);
    expect(rate).toBeLessThan(1.1 * RATE);
  }, 30_000);
});
