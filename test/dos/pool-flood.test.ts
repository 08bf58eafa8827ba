// A pool process flooded by one source (127.0.0.60): thousands of valid registrations of relays it
// made up (identity keys cost nothing), then junk POSTs. The per-source limits (pool/flood-limits.ts,
// defaults) must keep the registry from filling and answer 429 with Retry-After, while a relay
// from another address keeps registering and heartbeating and clients keep reading the list.
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url } from '../../shared/bytes.ts';
import { signDescriptor, signStatement } from '../../shared/descriptor.ts';
import { fetchRelayList } from '../../shared/directory.ts';
import { nodeCrypto as crypto } from '../../node/crypto.ts';
import { recordFigure } from '../support/figures.ts';
import { samplePeakRss } from '../support/memory-sampler.ts';
import { startService, tempDir, type PoolReady, type Service } from '../support/processes.ts';

const HOSTILE = '127.0.0.60';
const MiB = 1024 * 1024;
let pool: Service<PoolReady>;

beforeAll(async () => {
  pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(tempDir(), 'pool.json')]);
}, 30_000);

afterAll(async () => {
  await pool?.stop();
});

/** One POST from a chosen source address; resolves with the status and Retry-After. */
function post(path: string, body: string, from: string): Promise<{ status: number; retryAfter?: string }> {
  const url = new URL(pool.ready.pool + path);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'POST', localAddress: from, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const fields = (port: number) => ({ onionKey: toBase64Url(crypto.x25519Keygen().publicKey), url: `ws://127.0.0.1:${port}`, outbound: [], exit: { allowPrivate: false } });

describe('a pool flooded by one source', () => {
  it('lists at most a burst of its relays, answers 429 with Retry-After, and keeps serving everyone else', async () => {
    const registrations = Array.from({ length: 2000 }, (_, i) => JSON.stringify(signDescriptor(fields(10_000 + i), crypto.ed25519Keygen(), crypto)));
    const sampler = samplePeakRss([pool.process.pid!]);

    // The well-behaved side, from 127.0.0.1: a relay registering and heartbeating, a client reading the list.
    const honest = crypto.ed25519Keygen();
    let running = true;
    const honestStatuses: number[] = [];
    const listLatencies: number[] = [];
    const honestWork = (async () => {
      honestStatuses.push((await post('/v1/register', JSON.stringify(signDescriptor(fields(9001), honest, crypto)), '127.0.0.1')).status);
      while (running) {
        honestStatuses.push((await post('/v1/heartbeat', JSON.stringify(signStatement('heartbeat', honest, crypto)), '127.0.0.1')).status);
        const started = Date.now();
        await fetchRelayList({ url: pool.ready.pool, key: pool.ready.poolKey }, { fetch, crypto });
        listLatencies.push(Date.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const statuses = new Map<number, number>();
    const retryAfters = new Set<string>();
    const count = (answer: { status: number; retryAfter?: string }) => {
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      if (answer.retryAfter) retryAfters.add(answer.retryAfter);
    };
    const started = Date.now();
    for (let i = 0; i < registrations.length; i += 20) {
      for (const answer of await Promise.all(registrations.slice(i, i + 20).map((body) => post('/v1/register', body, HOSTILE)))) count(answer);
    }
    for (let i = 0; i < 2000; i += 20) {
      for (const answer of await Promise.all(Array.from({ length: 20 }, () => post('/v1/heartbeat', '{"heartbeat":"x","signature":"y"}', HOSTILE)))) count(answer);
    }
    const floodMs = Date.now() - started;
    running = false;
    await honestWork;
    const peak = (await sampler.stop()).get(pool.process.pid!)!;

    const listed = await fetchRelayList({ url: pool.ready.pool, key: pool.ready.poolKey }, { fetch, crypto });
    // 32 at once, then one every 10 s: a few more over the flood's duration.
    const accepted = statuses.get(200) ?? 0;
    expect(accepted).toBeGreaterThanOrEqual(32);
    expect(accepted).toBeLessThanOrEqual(32 + Math.ceil(floodMs / 10_000) + 1);
    expect(listed.length).toBe(accepted + 1);
    expect(statuses.get(429)).toBeGreaterThan(3000);
    expect([...statuses.keys()].every((status) => status === 200 || (status >= 400 && status < 500))).toBe(true);
    expect(retryAfters.size).toBeGreaterThan(0);
    // The honest relay was never refused, and the list kept coming.
    expect(honestStatuses.every((status) => status === 200)).toBe(true);
    expect(honestStatuses.length).toBeGreaterThan(3);
    recordFigure('dos: pool flooded by one source', {
      hostileRequests: 4000,
      floodMs,
      statuses: Object.fromEntries(statuses),
      hostileRelaysListed: accepted,
      honestRelay: { requests: honestStatuses.length, refused: 0 },
      listReads: { count: listLatencies.length, maxMs: Math.max(...listLatencies) },
      poolPeakRssMiB: Number((peak / MiB).toFixed(1)),
    });
    expect(peak).toBeLessThan(256 * MiB);
  });
});
