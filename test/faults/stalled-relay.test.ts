// Fault injection: a relay that stops answering (SIGSTOP: its sockets stay open, the kernel even
// accepts new connections for it, but nothing is ever answered). A circuit extended to it, or
// started at it, fails with TIMEOUT_ERROR within the handshake timeout; the client's requests
// still succeed on other paths in bounded time; other circuits are not disturbed; once the
// relay continues (SIGCONT) it is usable again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlliumClient } from '../../shared/client/client.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import { TpdpError } from '../../shared/errors.ts';
import { createNodeClient } from '../../node/client.ts';
import { startEchoServer } from '../../proxy/test-harness.ts';
import { startCountingServer, type CountingServer } from '../support/counting-server.ts';
import { recordFigure } from '../support/figures.ts';
import { startTestNetwork } from '../support/processes.ts';
import { circuitThrough, eventually, listedRelays, startBystander, warmUp, type Bystander } from '../support/relay-circuits.ts';

const TIMEOUT_MS = 1000;
let network: Awaited<ReturnType<typeof startTestNetwork>>;
let relays: DirectoryRelay[];
let stopped: DirectoryRelay;
let others: DirectoryRelay[];
let origin: CountingServer;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let bystander: Bystander;
let client: AlliumClient;

const processOf = (relay: DirectoryRelay) => network.relays.find((r) => r.ready.id === relay.id)!.process;

beforeAll(async () => {
  network = await startTestNetwork({ relays: 4, relayArgs: ['--handshake-timeout', String(TIMEOUT_MS / 1000)] });
  relays = await listedRelays(network.poolRef);
  await warmUp(relays);
  [stopped, ...others] = relays;
  origin = await startCountingServer();
  echo = await startEchoServer();
  bystander = await startBystander((await circuitThrough(others)).circuit, echo.port);
  // The client has its list before the relay stops, so its paths will pick the stopped relay.
  client = createNodeClient({ pools: [network.poolRef], handshakeTimeoutMs: TIMEOUT_MS });
  expect((await client.relays()).some((r) => r.id === stopped.id)).toBe(true);
  processOf(stopped).kill('SIGSTOP');
}, 30_000);

afterAll(async () => {
  processOf(stopped)?.kill('SIGCONT');
  client?.close();
  const final = await bystander?.stop();
  await origin?.close();
  echo?.server.close();
  await network?.stop();
  if (!final) return;
  expect(final.error).toBeUndefined();
  expect(final.corrupt).toBe(0);
});

async function buildFailure(path: DirectoryRelay[]): Promise<{ error: TpdpError; ms: number }> {
  const started = Date.now();
  const error = await circuitThrough(path, { handshakeTimeoutMs: 5 * TIMEOUT_MS }).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(TpdpError);
  return { error: error as TpdpError, ms: Date.now() - started };
}

describe('a relay stops answering (SIGSTOP)', () => {
  it('as the hop being added (exit or middle): TIMEOUT_ERROR from the relay extending to it, within its timeout', async () => {
    for (const path of [[others[0], others[1], stopped], [others[0], stopped, others[1]]]) {
      const { error, ms } = await buildFailure(path);
      expect(error.code).toBe('TIMEOUT_ERROR');
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(TIMEOUT_MS + 1500);
      recordFigure(`fault: ${path[1] === stopped ? 'middle' : 'exit'} stopped mid-handshake`, { error: error.code, ms });
    }
  });

  it('as the first hop: the WebSocket never opens, TIMEOUT_ERROR at the client', async () => {
    const started = Date.now();
    const error = await circuitThrough([stopped, others[0], others[1]], { handshakeTimeoutMs: TIMEOUT_MS }).then(
      () => undefined,
      (err: unknown) => err,
    );
    const ms = Date.now() - started;
    expect((error as TpdpError).code).toBe('TIMEOUT_ERROR');
    expect(ms).toBeLessThan(TIMEOUT_MS + 1500);
    recordFigure('fault: first hop stopped', { error: (error as TpdpError).code, ms });
  });

  it('requests still succeed on other paths, each within three handshake timeouts', async () => {
    {
      const latencies: number[] = [];
      for (let i = 0; i < 6; i++) {
        const started = Date.now();
        const response = await client.fetch(`${origin.url}/stalled-${i}`, { isolationKey: `stalled-${i}` });
        expect(await response.text()).toMatch(/^answer/);
        latencies.push(Date.now() - started);
        expect(client.circuitFor(`stalled-${i}`)!.relays.some((r) => r.id === stopped.id)).toBe(false);
      }
      expect(Math.max(...latencies)).toBeLessThan(3 * TIMEOUT_MS + 1500);
      recordFigure('fault: requests while a relay is stopped', { requests: latencies.length, succeeded: latencies.length, maxMs: Math.max(...latencies), latenciesMs: latencies });
    }
  });

  it('once it continues (SIGCONT), circuits through it work again', async () => {
    processOf(stopped).kill('SIGCONT');
    const ms = await eventually(
      () => circuitThrough([others[0], others[1], stopped], { handshakeTimeoutMs: 2 * TIMEOUT_MS }).then(({ circuit }) => (circuit.destroy(), true), () => false),
      10_000,
      'a circuit through the resumed relay',
    );
    recordFigure('fault: stopped relay resumed', { usableAgainMs: ms });
  });
});
