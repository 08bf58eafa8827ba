// Replays against a pool that pool/server.test.ts does not already cover: someone who captured a
// relay's signed messages (on the path, or at a reverse proxy) tries to take the relay out of the
// list, or to keep a dead relay in it. Both must fail: every signed time must be newer than the
// last one the pool accepted from that relay, and each nonce is spent once.
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { toBase64Url } from '../../shared/bytes.ts';
import { relayIdOf, signDescriptor, signStatement } from '../../shared/descriptor.ts';
import { fetchRelayList } from '../../shared/directory.ts';
import { nodeCrypto as crypto } from '../../node/crypto.ts';
import { createLogger } from '../../node/log.ts';
import { startPool, type RunningPool } from '../../pool/server.ts';

const running: RunningPool[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((pool) => pool.close()));
});

async function pool(deprecationDelayMs = 30_000) {
  const quiet = createLogger('pool', new Writable({ write: (_chunk, _encoding, done) => done() }));
  const started = await startPool({ log: quiet, heartbeatPeriodMs: Math.min(10_000, deprecationDelayMs / 3), deprecationDelayMs, gcIntervalMs: 100 });
  running.push(started);
  return started;
}

async function post(p: RunningPool, path: string, body: unknown): Promise<{ status: number; code?: string }> {
  const response = await fetch(p.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as { code?: string };
  return { status: response.status, code: json.code };
}

const listed = async (p: RunningPool) => (await fetchRelayList({ url: p.url, key: p.poolKey }, { fetch, crypto })).map((r) => r.id);
const fields = { onionKey: toBase64Url(crypto.x25519Keygen().publicKey), url: 'ws://127.0.0.1:9001', outbound: [], exit: { allowPrivate: false } };

describe('replayed signed messages cannot change what a pool lists', () => {
  it('a captured unregister notice, replayed after the relay registered again, does not remove it', async () => {
    const p = await pool();
    const identity = crypto.ed25519Keygen();
    const t0 = Date.now();
    expect((await post(p, '/v1/register', signDescriptor(fields, identity, crypto, t0))).status).toBe(200);
    const captured = signStatement('unregister', identity, crypto, t0 + 1);
    expect((await post(p, '/v1/unregister', captured)).status).toBe(200);
    expect((await post(p, '/v1/register', signDescriptor(fields, identity, crypto, t0 + 2))).status).toBe(200);
    expect(await post(p, '/v1/unregister', captured)).toEqual({ status: 409, code: 'REPLAYED' });
    expect(await listed(p)).toEqual([relayIdOf(identity.publicKey, crypto)]);
  });

  it('captured heartbeats, replayed after the relay went silent, do not keep it listed', async () => {
    const p = await pool(600);
    const identity = crypto.ed25519Keygen();
    const t0 = Date.now();
    expect((await post(p, '/v1/register', signDescriptor(fields, identity, crypto, t0))).status).toBe(200);
    const captured = [1, 2, 3].map((i) => signStatement('heartbeat', identity, crypto, t0 + i));
    for (const heartbeat of captured) expect((await post(p, '/v1/heartbeat', heartbeat)).status).toBe(200);
    // The relay is gone; whoever saw its heartbeats sends them again, in any order.
    for (const heartbeat of [...captured].reverse()) expect((await post(p, '/v1/heartbeat', heartbeat)).status).toBeGreaterThanOrEqual(400);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await listed(p)).toEqual([]);
    for (const heartbeat of captured) expect((await post(p, '/v1/heartbeat', heartbeat)).status).toBeGreaterThanOrEqual(400);
    expect(await listed(p)).toEqual([]);
  });
});
