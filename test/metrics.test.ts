// The metrics and health endpoints of `allium relay` and `allium pool` (docs/METRICS.md), on real
// processes: the exposition text parses strictly, the counters move by plausible amounts as a
// fetch crosses the network, an error and a limit show under their labels, and /health follows
// whether the pools list the relay.
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CELL_COMMANDS, CELL_SIZE, LINK_SUBPROTOCOL, encodeCell } from '../shared/cell.ts';
import { REASONS, TpdpError } from '../shared/errors.ts';
import { circuitThrough, eventually, listedRelays } from './support/relay-circuits.ts';
import { ROOT, runCli, startRelayProcess, startService, tempDir, type PoolReady, type Service } from './support/processes.ts';
import { join } from 'node:path';

type Series = Map<string, number>;

/**
 * A strict reader of the Prometheus text format 0.0.4: HELP and TYPE once per family and before its
 * samples, valid names, label values with only the three escapes, numeric values, no series twice.
 * Returns every series as `name{label="value",…}` → value.
 */
function parseExposition(text: string): { series: Series; types: Map<string, string> } {
  const series: Series = new Map();
  const types = new Map<string, string>();
  const helps = new Set<string>();
  expect(text.endsWith('\n')).toBe(true);
  const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labelValue = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
  const labels = `\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=${labelValue}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${labelValue})*)?\\}`;
  const sample = new RegExp(`^(${name})(${labels})? (NaN|[+-]Inf|-?\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)$`);
  for (const line of text.slice(0, -1).split('\n')) {
    const help = new RegExp(`^# HELP (${name}) (.*)$`).exec(line);
    const type = new RegExp(`^# TYPE (${name}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (help) {
      expect(helps.has(help[1]), `HELP ${help[1]} twice`).toBe(false);
      helps.add(help[1]);
    } else if (type) {
      expect(types.has(type[1]), `TYPE ${type[1]} twice`).toBe(false);
      types.set(type[1], type[2]);
    } else {
      const match = sample.exec(line);
      expect(match, `not a sample line: ${line}`).not.toBeNull();
      const [, metric, labelText = ''] = match!;
      expect(types.has(metric) && helps.has(metric), `${metric} sampled before its HELP and TYPE`).toBe(true);
      const key = metric + labelText;
      expect(series.has(key), `${key} twice`).toBe(false);
      series.set(key, Number(match![3].replace('Inf', 'Infinity')));
    }
  }
  return { series, types };
}

async function scrape(metricsUrl: string) {
  const response = await fetch(`${metricsUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await response.text()).series;
}

const value = (series: Series, key: string) => {
  const found = series.get(key);
  if (found === undefined) throw new Error(`no series ${key}`);
  return found;
};
/** The sum of one series over relays. */
const total = (all: Series[], key: string) => all.reduce((sum, s) => sum + value(s, key), 0);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const BODY = Buffer.alloc(300_000, 'x');
let dir: string;
let pool: Service<PoolReady & { metrics: string }>;
let relays: Awaited<ReturnType<typeof startRelayProcess>>[];
let origin: http.Server;
let originUrl: string;
let echo: net.Server;

beforeAll(async () => {
  dir = tempDir();
  pool = await startService(['pool', '--json', '--port', '0', '--key', join(dir, 'pool.json'), '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5', '--metrics-port', '0']);
  // One stream per circuit at most, so a second stream shows the limit.
  relays = await Promise.all([0, 1, 2].map((i) => startRelayProcess(pool.ready, dir, i, true, ['--max-streams-per-circuit', '1'])));
  origin = http.createServer((_req, res) => res.end(BODY));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
  echo = net.createServer((socket) => socket.on('error', () => {}).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
}, 30_000);

afterAll(async () => {
  await Promise.all((relays ?? []).map((r) => r.stop()));
  await pool?.stop();
  origin?.close();
  echo?.close();
});

const scrapeRelays = () => Promise.all(relays.map((r) => scrape(r.ready.metrics!)));

/** Every relay's metrics once none of them holds a circuit any more. */
async function scrapeRelaysOnceIdle(what: string): Promise<Series[]> {
  let after: Series[] = [];
  await eventually(async () => {
    after = await scrapeRelays();
    return total(after, 'allium_relay_circuits') === 0;
  }, 5000, what);
  return after;
}

describe('relay and pool metrics', () => {
  it('serve every metric of docs/METRICS.md, typed, at zero before any traffic', async () => {
    const response = await fetch(`${relays[0].ready.metrics}/metrics`);
    const { series, types } = parseExposition(await response.text());
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('allium_')))).toEqual({
      allium_relay_info: 'gauge',
      allium_relay_pool_listed: 'gauge',
      allium_relay_links: 'gauge',
      allium_relay_circuits: 'gauge',
      allium_relay_streams: 'gauge',
      allium_relay_link_bytes_total: 'counter',
      allium_relay_handshakes_total: 'counter',
      allium_relay_streams_opened_total: 'counter',
      allium_relay_circuit_errors_total: 'counter',
      allium_relay_rejections_total: 'counter',
    });
    expect(value(series, `allium_relay_info{id="${relays[0].ready.id}"}`)).toBe(1);
    expect(value(series, `allium_relay_pool_listed{pool="${pool.ready.pool}"}`)).toBe(1);
    for (const code of Object.keys(REASONS).filter((c) => c !== 'DONE')) expect(series.has(`allium_relay_circuit_errors_total{code="${code}"}`)).toBe(true);
    expect(value(series, 'allium_relay_rejections_total{limit="streams_per_circuit"}')).toBe(0);
    expect(value(series, 'process_resident_memory_bytes')).toBeGreaterThan(1_000_000);

    const poolSeries = await scrape(pool.ready.metrics);
    expect(value(poolSeries, 'allium_pool_relays_listed')).toBe(3);
    expect(value(poolSeries, 'allium_pool_requests_accepted_total{request="register"}')).toBeGreaterThanOrEqual(3);
  });

  it('count circuits, streams, handshakes and bytes as a fetch crosses three relays', async () => {
    const before = await scrapeRelays();
    const poolBefore = await scrape(pool.ready.metrics);
    const fetched = await runCli(['fetch', '--pool', pool.ready.pool, '--pool-key', pool.ready.poolKey, originUrl]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.length).toBe(BODY.length);
    // The circuit is torn down when the fetch exits; the counters are what is left.
    const after = await scrapeRelaysOnceIdle('circuits closed');
    const moved = (key: string) => total(after, key) - total(before, key);
    // One handshake per hop, one stream at the exit, nothing refused.
    expect(moved('allium_relay_handshakes_total{result="ok"}')).toBe(3);
    expect(moved('allium_relay_handshakes_total{result="failed"}')).toBe(0);
    expect(moved('allium_relay_streams_opened_total')).toBe(1);
    expect(moved('allium_relay_rejections_total{limit="streams_per_circuit"}')).toBe(0);
    // The body leaves each of the three relays once (a cell carries up to 2,020 of its 2,048
    // bytes), plus a few cells of handshakes, request and flow control.
    const sent = moved('allium_relay_link_bytes_total{direction="sent"}');
    const received = moved('allium_relay_link_bytes_total{direction="received"}');
    expect(sent).toBeGreaterThan(3 * BODY.length);
    expect(sent).toBeLessThan(3 * BODY.length * 1.2);
    // What one relay sends to another, the other receives: only the client's side differs.
    expect(received).toBeGreaterThan(2 * BODY.length);
    expect(received).toBeLessThan(sent);
    const poolAfter = await scrape(pool.ready.metrics);
    expect(value(poolAfter, 'allium_pool_requests_accepted_total{request="list"}')).toBeGreaterThan(value(poolBefore, 'allium_pool_requests_accepted_total{request="list"}'));
    expect(value(poolAfter, 'allium_pool_requests_accepted_total{request="heartbeat"}')).toBeGreaterThan(value(poolBefore, 'allium_pool_requests_accepted_total{request="heartbeat"}'));
  });

  it('count a stream refused by its limit, a failed handshake and a circuit error under their labels', async () => {
    const path = await listedRelays({ url: pool.ready.pool, key: pool.ready.poolKey });
    const ordered = relays.map((r) => path.find((p) => p.id === r.ready.id)!);
    const before = await scrapeRelays();
    const { circuit, link } = await circuitThrough(ordered);
    const port = (echo.address() as AddressInfo).port;
    await circuit.openStream({ kind: 'connect', host: '127.0.0.1', port });
    const refused = await circuit.openStream({ kind: 'connect', host: '127.0.0.1', port }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect((refused as TpdpError).code).toBe('RESOURCE_LIMIT');

    // A CREATE no relay can answer: the handshake fails and the circuit is refused.
    const hostile = new WebSocket(relays[0].ready.url, [LINK_SUBPROTOCOL]);
    const reply = new Promise<Buffer>((resolve) => hostile.once('message', (data: Buffer) => resolve(data)));
    await new Promise((resolve) => hostile.once('open', resolve));
    hostile.send(encodeCell(7, CELL_COMMANDS.CREATE, new Uint8Array(100)));
    const answer = await reply;
    expect(answer.length).toBe(CELL_SIZE);
    expect([answer[4], answer[5]]).toEqual([CELL_COMMANDS.DESTROY, REASONS.PROTOCOL_ERROR]);
    hostile.close();

    // The client's link drops with the circuit open: every relay on the path ends it with LINK_CLOSED.
    link.close('PROTOCOL_ERROR', 'test drops the link');
    const after = await scrapeRelaysOnceIdle('circuit torn down');
    const moved = (key: string) => total(after, key) - total(before, key);
    expect(moved('allium_relay_rejections_total{limit="streams_per_circuit"}')).toBe(1);
    expect(value(after[2], 'allium_relay_rejections_total{limit="streams_per_circuit"}') - value(before[2], 'allium_relay_rejections_total{limit="streams_per_circuit"}')).toBe(1);
    expect(moved('allium_relay_handshakes_total{result="failed"}')).toBe(1);
    expect(moved('allium_relay_circuit_errors_total{code="LINK_CLOSED"}')).toBe(3);
    expect(moved('allium_relay_circuit_errors_total{code="PROTOCOL_ERROR"}')).toBe(0);
  });

  it('count refused pool requests by code', async () => {
    const before = await scrape(pool.ready.metrics);
    const notJson = await fetch(`${pool.ready.pool}/v1/heartbeat`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(notJson.status).toBe(415);
    expect((await fetch(`${pool.ready.pool}/v1/nothing`)).status).toBe(404);
    const after = await scrape(pool.ready.metrics);
    const moved = (key: string) => value(after, key) - value(before, key);
    expect(moved('allium_pool_rejections_total{code="UNSUPPORTED_MEDIA_TYPE"}')).toBe(1);
    expect(moved('allium_pool_rejections_total{code="NOT_FOUND"}')).toBe(1);
  });

  it('answer only GET /metrics and /health', async () => {
    const base = relays[0].ready.metrics!;
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});

describe('health', () => {
  it('is 200 with the relay listed, and 503 naming the pool once the pool is gone', async () => {
    const local = tempDir();
    const ownPool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(local, 'pool.json'), '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5']);
    const relay = await startRelayProcess(ownPool.ready, local, 0, true);
    try {
      const listed = await fetch(`${relay.ready.metrics}/health`);
      expect(listed.status).toBe(200);
      expect(await listed.json()).toMatchObject({ status: 'ok', id: relay.ready.id, pools: [{ pool: ownPool.ready.pool, listed: true }] });
      // The public port says only that the relay is up: no counts of its traffic.
      expect(await (await fetch(relay.ready.url.replace(/^ws/, 'http') + '/health')).json()).toEqual({ status: 'ok', id: relay.ready.id });
      await ownPool.stop();
      // The pool would drop a relay silent for its deprecation delay (1 s): so does the health check.
      let body: { status?: string; reason?: string } = {};
      await eventually(async () => {
        const response = await fetch(`${relay.ready.metrics}/health`);
        body = (await response.json()) as typeof body;
        return response.status === 503;
      }, 5000, 'health turns 503');
      expect(body.status).toBe('unavailable');
      expect(body.reason).toContain(ownPool.ready.pool);
    } finally {
      await relay.stop();
      await ownPool.stop();
    }
  });

  it('is 503 while the relay is not registered yet, with the metrics port already up', async () => {
    const local = tempDir();
    const metricsPort = await freePort();
    const deadPool = `http://127.0.0.1:${await freePort()}`;
    // Never listed, so never ready: run without waiting for a ready line.
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'allium.ts'), 'relay', '--json', '--port', '0', '--key', join(local, 'relay.json'), '--pool', deadPool, '--pool-key', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '--metrics-port', String(metricsPort)], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let body: { status?: string; reason?: string } = {};
      await eventually(async () => {
        const response = await fetch(`http://127.0.0.1:${metricsPort}/health`).catch(() => undefined);
        if (!response) return false;
        body = (await response.json()) as typeof body;
        expect(response.status).toBe(503);
        return true;
      }, 10_000, 'metrics port up');
      expect(body.reason).toContain(`not registered with ${deadPool}`);
      const series = await scrape(`http://127.0.0.1:${metricsPort}`);
      expect(value(series, `allium_relay_pool_listed{pool="${deadPool}"}`)).toBe(0);
      // Still starting (never listed), yet it stops cleanly on SIGTERM, as systemd asks.
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
