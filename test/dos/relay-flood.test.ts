// A relay process under a hostile source (127.0.0.50) while a well-behaved client (127.0.0.1)
// keeps building circuits through it and fetching: a connection flood, a CREATE flood on every
// link the relay lets the source hold, a stream flood on one circuit, and oversized messages.
// The relay stays up, the client's success rate and latency are measured, and so is the relay's
// peak memory. Default limits throughout (relay/source-limits.ts, DEFAULT_RELAY_LIMITS).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchOverStream } from '../../shared/client/fetch-over-stream.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import type { TpdpError } from '../../shared/errors.ts';
import { startEchoServer } from '../../proxy/test-harness.ts';
import { startCountingServer, type CountingServer } from '../support/counting-server.ts';
import { recordFigure } from '../support/figures.ts';
import { samplePeakRss } from '../support/memory-sampler.ts';
import { startTestNetwork } from '../support/processes.ts';
import { circuitThrough, listedRelays, relayHealth, warmUp } from '../support/relay-circuits.ts';

// Each attack comes from its own address, so that one flood's spent budget does not blunt the next.
const HOSTILE = ['127.0.0.50', '127.0.0.51', '127.0.0.52', '127.0.0.53'];
const MiB = 1024 * 1024;
let network: Awaited<ReturnType<typeof startTestNetwork>>;
let relays: DirectoryRelay[];
let target: DirectoryRelay;
let origin: CountingServer;

beforeAll(async () => {
  network = await startTestNetwork({ relays: 3 });
  relays = await listedRelays(network.poolRef);
  await warmUp(relays);
  target = relays[0];
  origin = await startCountingServer();
}, 30_000);

afterAll(async () => {
  await origin?.close();
  await network?.stop();
});

const targetPid = () => network.relays.find((r) => r.ready.id === target.id)!.process.pid!;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];

/**
 * The well-behaved client while `attack` runs: one new circuit through the attacked relay and one
 * fetch on it, again and again. Returns its success rate and latencies, and the relay's peak RSS.
 */
async function underAttack<T extends object>(name: string, attack: () => Promise<T>) {
  const sampler = samplePeakRss([targetPid()]);
  let running = true;
  const latencies: number[] = [];
  const failures: string[] = [];
  const client = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const { circuit } = await circuitThrough([target, relays[1], relays[2]]);
        const response = await fetchOverStream(await circuit.openStream({ kind: 'fetch' }), { method: 'GET', url: `${origin.url}/${name}`, headers: [], body: null });
        expect(await response.text()).toMatch(/^answer/);
        circuit.destroy();
        latencies.push(Date.now() - started);
      } catch (err) {
        failures.push((err as TpdpError).code ?? (err as Error).message);
      }
      await pause(50);
    }
  })();
  // The client runs at least a second, however short the attack.
  const [attackFigures] = await Promise.all([attack(), pause(1000)]);
  running = false;
  await client;
  const peak = (await sampler.stop()).get(targetPid())!;
  const attempts = latencies.length + failures.length;
  const figures = {
    ...attackFigures,
    goodClient: { attempts, successRate: latencies.length / attempts, p50Ms: percentile(latencies, 50), p95Ms: percentile(latencies, 95), failures },
    relayPeakRssMiB: Number((peak / MiB).toFixed(1)),
  };
  recordFigure(`dos: ${name}`, figures);
  expect(attempts).toBeGreaterThan(2);
  expect(failures).toEqual([]);
  expect((await relayHealth(target.url)).links).toBeGreaterThanOrEqual(0);
  return figures;
}

/** What hostile-source.ts reports, by mode. */
interface HostileReport {
  held?: number;
  created?: number;
  closes?: Record<string, number>;
  links?: number;
  closedWith1009?: number;
}

/** Runs the hostile source (hostile-source.ts) in its own process; resolves with what it reports. */
function hostile(order: { mode: 'connections' | 'creates' | 'oversized'; count: number; ms?: number; from: string }): Promise<HostileReport> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'hostile-source.ts'), JSON.stringify({ url: target.url, ms: 0, identityKey: target.identityKey, onionKey: target.onionKey, ...order })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as HostileReport);
      else reject(new Error(`hostile source exited with ${code}`));
    });
  });
}

describe('a relay under a hostile source keeps serving a well-behaved client', () => {
  it('a connection flood: 1000 connections, at most 50 held', async () => {
    const figures = await underAttack('connection flood', () => hostile({ mode: 'connections', count: 1000, ms: 1500, from: HOSTILE[0] }));
    expect(figures.held).toBeGreaterThan(0);
    expect(figures.held!).toBeLessThanOrEqual(50);
  });

  it('a CREATE flood on 50 links for 2 s: a burst of circuits, then refusals, then the links are closed', async () => {
    const figures = await underAttack('CREATE flood on 50 links', async () => {
      const result = await hostile({ mode: 'creates', count: 50, ms: 2000, from: HOSTILE[1] });
      return { ...result, circuitsAfter: (await relayHealth(target.url)).circuits };
    });
    // 90 at once, then 3 per second: whatever the source sends.
    expect(figures.created!).toBeLessThanOrEqual(90 + 3 * 10);
    expect(figures.closes?.[4007]).toBeGreaterThan(0);
    expect(figures.circuitsAfter).toBeLessThan(10);
  });

  it('a CREATE flood on 2 links (below the 3 links that trigger the circuit limit): bounded by 16 384 circuits per link', async () => {
    const figures = await underAttack('CREATE flood on 2 links', async () => {
      const result = await hostile({ mode: 'creates', count: 2, ms: 2000, from: HOSTILE[2] });
      return { ...result, circuitsAfter: (await relayHealth(target.url)).circuits };
    });
    expect(figures.created!).toBeLessThanOrEqual(2 * 16_384);
    expect(figures.circuitsAfter).toBeLessThan(10);
  });

  it('a stream flood on one circuit: 256 streams, the 257th and later refused with RESOURCE_LIMIT', async () => {
    const echo = await startEchoServer();
    try {
      const { circuit } = await circuitThrough([relays[1], relays[2], target], { maxStreams: 1000 });
      const figures = await underAttack('stream flood', async () => {
        const outcomes = await Promise.all(
          Array.from({ length: 300 }, () => circuit.openStream({ kind: 'connect', host: '127.0.0.1', port: echo.port }).then(() => 'open', (err: TpdpError) => err.code)),
        );
        await pause(500);
        const opened = outcomes.filter((o) => o === 'open').length;
        return { streamsAsked: 300, opened, refusedWithResourceLimit: outcomes.filter((o) => o === 'RESOURCE_LIMIT').length, circuit: circuit.state };
      });
      expect(figures.opened).toBe(256);
      expect(figures.refusedWithResourceLimit).toBe(44);
      expect(figures.circuit).toBe('open');
      circuit.destroy();
    } finally {
      echo.server.close();
    }
  });

  it('oversized messages: every link that sends more than MAX_CELLS_PER_MESSAGE cells (32 KiB) at once is closed with 1009', async () => {
    const figures = await underAttack('oversized messages', () => hostile({ mode: 'oversized', count: 30, from: HOSTILE[3] }));
    expect(figures.links).toBeGreaterThan(0);
    expect(figures.closedWith1009).toBe(figures.links);
  });
});
