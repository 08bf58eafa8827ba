// Fault injection on the client's link to its first relay, through a TCP proxy: the connection is
// cut without a WebSocket close frame (FIN, or RST), or goes silent. The client must fail the
// streams of that link with LINK_CLOSED at once and use a new link next; the relays must tear the
// circuit down along the whole path; a circuit through the same relays on another link must not
// notice. A link that goes silent is found dead by the keep-alive (three silent periods).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Short, so a silent link is noticed within the test: three periods of silence. */
const KEEPALIVE_MS = 300;
import type { AlliumClient } from '../../shared/client/client.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import { TpdpError } from '../../shared/errors.ts';
import { startEchoServer } from '../../proxy/test-harness.ts';
import { startCountingServer, type CountingServer } from '../support/counting-server.ts';
import { recordFigure } from '../support/figures.ts';
import { circuitThrough, eventually, relayHealth, startBystander, type Bystander } from '../support/relay-circuits.ts';
import { startProxiedNetwork, type ProxiedNetwork } from '../support/proxied-network.ts';
import { startEndlessSource } from '../support/tcp-source.ts';

let proxied: ProxiedNetwork;
let network: ProxiedNetwork['network'];
let relays: DirectoryRelay[];
let proxies: ProxiedNetwork['proxies'];
let client: AlliumClient;
let origin: CountingServer;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let bystander: Bystander;

beforeAll(async () => {
  // The client reaches every first hop through its proxy; the bystander goes direct.
  proxied = await startProxiedNetwork({ keepaliveMs: KEEPALIVE_MS });
  ({ network, relays, proxies, client } = proxied);
  origin = await startCountingServer();
  echo = await startEchoServer();
  bystander = await startBystander((await circuitThrough(relays)).circuit, echo.port);
}, 30_000);

afterAll(async () => {
  const final = await bystander?.stop();
  await origin?.close();
  echo?.server.close();
  await proxied?.stop();
  // Through every fault below, the circuit on the other link carried every byte intact.
  if (!final) return;
  expect(final.error).toBeUndefined();
  expect(final.corrupt).toBe(0);
  expect(final.roundTrips).toBeGreaterThan(20);
});

const circuitsNow = () => Promise.all(relays.map((r) => relayHealth(r.url).then((h) => h.circuits)));

async function failureOf(read: Promise<unknown>): Promise<TpdpError> {
  const error = await read.then(() => undefined, (err: unknown) => err);
  expect(error).toBeInstanceOf(TpdpError);
  return error as TpdpError;
}

describe('the link to the first relay is cut without a close frame', () => {
  for (const mode of ['fin', 'reset'] as const) {
    it(`by ${mode === 'fin' ? 'a TCP FIN' : 'a TCP RST'}: LINK_CLOSED at once, the path torn down, a new link next`, async () => {
      const before = await circuitsNow();
      const source = await startEndlessSource();
      try {
        const stream = await client.connect('127.0.0.1', source.port, { isolationKey: mode });
        const reader = stream.readable.getReader();
        for (let got = 0; got < 64 * 1024; ) got += (await reader.read()).value!.length;
        const path = client.circuitFor(mode)!.relays;
        const proxy = proxies.get(path[0].url)!;

        const cutAt = Date.now();
        proxy.cut(mode);
        const error = await failureOf((async () => {
          for (;;) if ((await reader.read()).done) return;
        })());
        const detectedMs = Date.now() - cutAt;
        expect(error.code).toBe('LINK_CLOSED');
        expect(detectedMs).toBeLessThan(1000);
        // Every relay on the path dropped the circuit (and any other of that link): counts back to at most what they were.
        const tornDownMs = await eventually(async () => (await circuitsNow()).every((n, i) => n <= before[i]), 3000, 'relays drop the circuit');

        const response = await client.fetch(`${origin.url}/after-${mode}`, { isolationKey: mode });
        expect(await response.text()).toMatch(/^answer/);
        expect([...proxies.values()].some((p) => p.connections > 0)).toBe(true);
        recordFigure(`fault: client link cut by TCP ${mode.toUpperCase()}`, { error: error.code, detectedMs, pathTornDownMs: detectedMs + tornDownMs, nextRequest: 'ok on a new link' });
      } finally {
        await source.close();
      }
    });
  }

  it('by going silent: the keep-alive notices within three periods; the GET is retried once and answered', async () => {
    await client.fetch(`${origin.url}/warm-silent`, { isolationKey: 'silent' }).then((r) => r.text());
    const proxy = proxies.get(client.circuitFor('silent')!.relays[0].url)!;
    const arrived = origin.arrivals.length;
    origin.holdNext(1);
    const pending = client.fetch(`${origin.url}/silent`, { isolationKey: 'silent' });
    await origin.arrived(arrived + 1);

    const silentAt = Date.now();
    proxy.blackhole();
    const response = await pending;
    const recoveredMs = Date.now() - silentAt;
    expect(response.status).toBe(200);
    await response.text();
    expect(recoveredMs).toBeLessThan(3 * KEEPALIVE_MS + 2000);
    expect(origin.arrivals.filter((a) => a === 'GET /silent')).toHaveLength(2);
    proxy.cut('reset');
    recordFigure('fault: client link silent (no FIN/RST)', { keepaliveMs: KEEPALIVE_MS, answeredAfterMs: recoveredMs, getRetried: 1 });
  });
});
