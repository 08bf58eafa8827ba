// Fault injection on separate processes: a relay of a busy circuit is killed (SIGKILL, so it
// sends nothing on its way out). The client must see a clear TpdpError within a bounded time,
// get a new circuit for what it does next, retry an idempotent request once (the origin counts
// the requests that reach it) and never replay a POST; a circuit through the surviving relays,
// busy all along, must not lose or corrupt a byte.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlliumClient } from '../../shared/client/client.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import { TpdpError } from '../../shared/errors.ts';
import { createNodeClient } from '../../node/client.ts';
import { startEchoServer } from '../../proxy/test-harness.ts';
import { startCountingServer, type CountingServer } from '../support/counting-server.ts';
import { recordFigure } from '../support/figures.ts';
import { startTestNetwork } from '../support/processes.ts';
import { circuitThrough, listedRelays, startBystander, warmUp, withRetries } from '../support/relay-circuits.ts';
import { startEndlessSource } from '../support/tcp-source.ts';

type Network = Awaited<ReturnType<typeof startTestNetwork>>;

let network: Network;
const clients: AlliumClient[] = [];
let origin: CountingServer;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
const dead = new Set<string>();

beforeAll(async () => {
  network = await startTestNetwork({ relays: 6 });
  await warmUp(await listedRelays(network.poolRef));
  origin = await startCountingServer();
  echo = await startEchoServer();
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await origin?.close();
  echo?.server.close();
  await network?.stop();
});

/**
 * A client as a user would start one now: its list fetched from the pool once the pool has
 * dropped the relays killed so far (one client through several deaths in a row is a different
 * story: see docs/SECURITY.md, "several relays die").
 */
async function freshClient(): Promise<AlliumClient> {
  for (let i = 0; (await listedRelays(network.poolRef)).some((r) => dead.has(r.id)); i++) {
    expect(i).toBeLessThan(50);
    await new Promise((r) => setTimeout(r, 100));
  }
  const client = createNodeClient({ pools: [network.poolRef] });
  clients.push(client);
  return client;
}

function kill(relay: DirectoryRelay): number {
  const victim = network.relays.find((r) => r.ready.id === relay.id)!;
  dead.add(relay.id);
  victim.process.kill('SIGKILL');
  return Date.now();
}

/** A busy circuit through `shared` (relays it has in common with the victim's circuit), never through `victim` or a dead relay. */
async function bystanderBeside(shared: DirectoryRelay[], victim: DirectoryRelay) {
  const others = (await listedRelays(network.poolRef)).filter((r) => !dead.has(r.id) && r.id !== victim.id && !shared.some((s) => s.id === r.id));
  const path = [...shared, ...others].slice(0, 3);
  return withRetries(async () => startBystander((await circuitThrough(path)).circuit, echo.port));
}

async function failure(promise: Promise<unknown>): Promise<TpdpError> {
  const error = await promise.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(TpdpError);
  return error as TpdpError;
}

describe('a relay of a busy circuit is killed', () => {
  it('the exit, under a stream: LINK_CLOSED within 2 s, a new circuit next, the other circuit unharmed', async () => {
    const client = await freshClient();
    const source = await startEndlessSource();
    try {
      const stream = await client.connect('127.0.0.1', source.port, { isolationKey: 'busy' });
      const reader = stream.readable.getReader();
      for (let got = 0; got < 256 * 1024; ) got += (await reader.read()).value!.length;
      const path = client.circuitFor('busy')!.relays;
      const bystander = await bystanderBeside(path.slice(0, 2), path[2]);
      await new Promise((r) => setTimeout(r, 200));
      const before = bystander.roundTrips;

      const killedAt = kill(path[2]);
      const error = await failure((async () => {
        for (;;) if ((await reader.read()).done) return;
      })());
      const detectedMs = Date.now() - killedAt;
      expect(error.code).toBe('LINK_CLOSED');
      expect(detectedMs).toBeLessThan(2000);

      const response = await client.fetch(`${origin.url}/after-exit`, { isolationKey: 'busy' });
      expect(await response.text()).toMatch(/^answer/);
      expect(client.circuitFor('busy')!.relays.some((r) => r.id === path[2].id)).toBe(false);

      await new Promise((r) => setTimeout(r, 500));
      const final = await bystander.stop();
      expect(final.error).toBeUndefined();
      expect(final.corrupt).toBe(0);
      expect(final.roundTrips).toBeGreaterThan(before);
      recordFigure('fault: exit SIGKILLed under a busy stream', { error: error.code, detectedMs, nextRequest: 'ok on a new circuit', bystander: { roundTrips: final.roundTrips, corrupt: final.corrupt, errors: 0 } });
    } finally {
      await source.close();
    }
  });

  it('the middle, while an idempotent GET waits for its answer: retried once on a new circuit and answered', async () => {
    const client = await freshClient();
    await client.fetch(`${origin.url}/warm-get`, { isolationKey: 'get' }).then((r) => r.text());
    const path = client.circuitFor('get')!.relays;
    const bystander = await bystanderBeside([path[0], path[2]], path[1]);
    const arrived = origin.arrivals.length;
    origin.holdNext(1);
    const pending = client.fetch(`${origin.url}/get`, { isolationKey: 'get' });
    await origin.arrived(arrived + 1);

    const killedAt = kill(path[1]);
    const response = await pending;
    const answeredMs = Date.now() - killedAt;
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^answer/);
    expect(answeredMs).toBeLessThan(5000);
    // The request reached the origin twice: once on the dead circuit, once on the retry.
    expect(origin.arrivals.filter((a) => a === 'GET /get')).toHaveLength(2);
    expect(client.circuitFor('get')!.relays.some((r) => r.id === path[1].id)).toBe(false);

    const final = await bystander.stop();
    expect(final.error).toBeUndefined();
    expect(final.corrupt).toBe(0);
    recordFigure('fault: middle SIGKILLed while a GET waits', { retried: 1, answeredMs, originSaw: 2, bystander: { roundTrips: final.roundTrips, corrupt: 0, errors: 0 } });
  });

  it('the middle, while a POST waits for its answer: a clear LINK_CLOSED, never replayed; the next request works', async () => {
    const client = await freshClient();
    await client.fetch(`${origin.url}/warm-post`, { isolationKey: 'post' }).then((r) => r.text());
    const path = client.circuitFor('post')!.relays;
    const bystander = await bystanderBeside([path[0], path[2]], path[1]);
    const arrived = origin.arrivals.length;
    origin.holdNext(1);
    const pending = client.fetch(`${origin.url}/post`, { method: 'POST', body: 'pay once', isolationKey: 'post' });
    await origin.arrived(arrived + 1);

    const killedAt = kill(path[1]);
    const error = await failure(pending);
    const detectedMs = Date.now() - killedAt;
    expect(error.code).toBe('LINK_CLOSED');
    expect(detectedMs).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(origin.arrivals.filter((a) => a === 'POST /post')).toHaveLength(1);

    const next = await client.fetch(`${origin.url}/after-post`, { isolationKey: 'post' });
    expect(next.status).toBe(200);
    await next.text();

    const final = await bystander.stop();
    expect(final.error).toBeUndefined();
    expect(final.corrupt).toBe(0);
    recordFigure('fault: middle SIGKILLed while a POST waits', { error: error.code, detectedMs, replayed: 0, bystander: { roundTrips: final.roundTrips, corrupt: 0, errors: 0 } });
  });
});
