// Fault injection: the pool dies (SIGKILL) and comes back on the same port with the same key.
// While it is down, clients that have a list keep building circuits (relays check extends against
// the list they cached) and a client without one fails at once with a clear error; relays keep
// serving and keep trying. Once it is back, every relay is listed again within seconds and new
// clients work.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TpdpError } from '../../shared/errors.ts';
import { createNodeClient } from '../../node/client.ts';
import { startCountingServer, type CountingServer } from '../support/counting-server.ts';
import { recordFigure } from '../support/figures.ts';
import { startRelayProcess, startService, startTestNetwork, type PoolReady, type Service } from '../support/processes.ts';
import { circuitThrough, eventually, listedRelays, relayHealth, warmUp } from '../support/relay-circuits.ts';

let network: Awaited<ReturnType<typeof startTestNetwork>>;
let origin: CountingServer;
let restarted: Service<PoolReady> | undefined;

beforeAll(async () => {
  network = await startTestNetwork({ relays: 3 });
  origin = await startCountingServer();
}, 30_000);

afterAll(async () => {
  await restarted?.stop();
  await origin?.close();
  await network?.stop();
});

describe('the pool is killed and restarted', () => {
  it('circuits keep working while it is down, new clients fail clearly, and every relay is listed again after', async () => {
    const veteran = createNodeClient({ pools: [network.poolRef] });
    const relays = await listedRelays(network.poolRef);
    const relayUrls = relays.map((r) => r.url);
    try {
      await warmUp(relays);
      expect(await (await veteran.fetch(`${origin.url}/before`, { isolationKey: 'a' })).text()).toMatch(/^answer/);
      await network.pool.stop('SIGKILL');

      // Down: a client with a list builds a new circuit and uses an old one.
      expect(await (await veteran.fetch(`${origin.url}/down-old`, { isolationKey: 'a' })).text()).toMatch(/^answer/);
      expect(await (await veteran.fetch(`${origin.url}/down-new`, { isolationKey: 'b' })).text()).toMatch(/^answer/);
      // A client without a list fails at once, and says why.
      const newcomer = createNodeClient({ pools: [network.poolRef] });
      const started = Date.now();
      const error = await newcomer.fetch(`${origin.url}/newcomer`).then(() => undefined, (err: unknown) => err);
      const failedMs = Date.now() - started;
      newcomer.close();
      expect(error).toBeInstanceOf(TpdpError);
      expect((error as TpdpError).code).toBe('HOP_UNREACHABLE');
      expect((error as TpdpError).message).toMatch(/no pool reachable/);
      expect(failedMs).toBeLessThan(2000);
      // Down for a while (past the deprecation delay, many heartbeats lost): relays are up and serving.
      await new Promise((r) => setTimeout(r, 2000));
      for (const url of relayUrls) expect((await relayHealth(url)).circuits).toBeGreaterThanOrEqual(0);
      expect(await (await veteran.fetch(`${origin.url}/down-later`, { isolationKey: 'c' })).text()).toMatch(/^answer/);

      // Back, same port and key (as startTestNetwork started it). Its deprecation delay is long
      // enough that no relay drops out of its list on a loaded machine: the next test needs the
      // list a newly started relay reads to hold every other relay.
      const port = new URL(network.pool.ready.pool).port;
      restarted = await startService<PoolReady>(['pool', '--json', '--port', port, '--key', join(network.dir, 'pool.json'), '--heartbeat-period', '0.3', '--deprecation-delay', '30', '--gc-interval', '0.5']);
      expect(restarted.ready.poolKey).toBe(network.poolRef.key);
      const relistedMs = await eventually(async () => (await listedRelays(network.poolRef).catch(() => [])).length === 3, 10_000, 'all relays listed again');

      const fresh = createNodeClient({ pools: [network.poolRef] });
      try {
        expect(await (await fresh.fetch(`${origin.url}/after`)).text()).toMatch(/^answer/);
      } finally {
        fresh.close();
      }
      expect(await (await veteran.fetch(`${origin.url}/after-old`, { isolationKey: 'a' })).text()).toMatch(/^answer/);
      recordFigure('fault: pool SIGKILLed and restarted', { whileDown: 'old and new circuits ok', newClientError: 'HOP_UNREACHABLE', newClientFailedMs: failedMs, relaysRelistedMs: relistedMs });
    } finally {
      veteran.close();
    }
  });

  // Regression: relays once read the list they check EXTENDs against only at their first EXTEND.
  it('a relay that has not extended yet keeps extending while the pool is down', async () => {
    const late = await startRelayProcess(restarted!.ready, network.dir, 9, true);
    try {
      const relays = await listedRelays(network.poolRef);
      const newcomer = relays.find((r) => r.id === late.ready.id)!;
      const others = relays.filter((r) => r.id !== late.ready.id);
      expect(others).toHaveLength(3);
      await restarted!.stop('SIGKILL');
      // The newcomer extends to a relay listed long before it started: only its own missing list is in the way.
      const built = await circuitThrough([newcomer, others[0], others[1]]).then(({ circuit }) => (circuit.destroy(), 'built'), (err: TpdpError) => err.code);
      expect(built).toBe('built');
    } finally {
      await late.stop();
    }
  });
});
