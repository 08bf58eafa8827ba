import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../shared/bytes.ts';
import type { KeyPair } from '../shared/crypto/provider.ts';
import {
  DESCRIPTOR_DOMAIN,
  relayIdOf,
  signDescriptor,
  signStatement,
  signText,
  type DescriptorFields,
} from '../shared/descriptor.ts';
import { fetchRelayList } from '../shared/directory.ts';
import { verifyRelayList } from '../shared/relay-list.ts';
import { nodeCrypto as crypto } from '../node/crypto.ts';
import { createLogger } from '../node/log.ts';
import { listEntryBytes } from './registry.ts';
import { startPool, type PoolOptions, type RunningPool } from './server.ts';

const running: RunningPool[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((pool) => pool.close()));
});

function capturedLog() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger('pool', sink), lines };
}

async function pool(opts: PoolOptions = {}) {
  const { log, lines } = capturedLog();
  const started = await startPool({ log, ...opts });
  running.push(started);
  return { ...started, lines };
}

function relay(port = 9001): { identity: KeyPair; fields: DescriptorFields; id: string } {
  const identity = crypto.ed25519Keygen();
  const fields: DescriptorFields = {
    onionKey: toBase64Url(crypto.x25519Keygen().publicKey),
    url: `ws://127.0.0.1:${port}`,
    outbound: ['127.0.0.2'],
    exit: { allowPrivate: false },
    nickname: 'test-relay',
  };
  return { identity, fields, id: relayIdOf(identity.publicKey, crypto) };
}

async function post(base: string, path: string, body: unknown, contentType = 'application/json') {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function listedIds(p: { url: string; poolKey: string }): Promise<string[]> {
  const relays = await fetchRelayList({ url: p.url, key: p.poolKey }, { fetch, crypto });
  return relays.map((r) => r.id);
}

describe('pool registration', () => {
  it('lists a registered relay in a list signed by the pool key', async () => {
    const p = await pool({ heartbeatPeriodMs: 1234 });
    const r = relay();
    const envelope = signDescriptor(r.fields, r.identity, crypto);
    const reply = await post(p.url, '/v1/register', envelope);
    expect(reply).toEqual({ status: 200, json: { heartbeatPeriod: 1234, deprecationDelay: 30_000 } });

    const raw = (await (await fetch(p.url + '/v1/relays')).json()) as { list: string; signature: string };
    const { relays } = verifyRelayList(raw, p.poolKey, crypto);
    expect(relays).toHaveLength(1);
    expect(relays[0]).toMatchObject({ id: r.id, url: r.fields.url, onionKey: r.fields.onionKey, nickname: 'test-relay' });
    // The relay's own signed bytes are passed through, so clients verify the relay, not the pool.
    expect(JSON.parse(raw.list).relays[0]).toEqual(envelope);
    expect(p.lines.find((l) => l.message === 'relay registered')).toMatchObject({ id: r.id, url: r.fields.url });

    const health = await (await fetch(p.url + '/v1/health')).json();
    expect(health).toEqual({ status: 'ok', poolKey: p.poolKey, relays: 1 });
  });

  it('refuses a descriptor with a forged signature', async () => {
    const p = await pool();
    const r = relay();
    const other = relay();
    const envelope = signDescriptor(r.fields, r.identity, crypto);
    envelope.signature = signText(DESCRIPTOR_DOMAIN, envelope.descriptor, other.identity.secretKey, crypto);
    const reply = await post(p.url, '/v1/register', envelope);
    expect(reply.status).toBe(403);
    expect(reply.json.code).toBe('BAD_SIGNATURE');
    expect(await listedIds(p)).toEqual([]);
  });

  it('refuses a descriptor whose id does not match its identity key', async () => {
    const p = await pool();
    const r = relay();
    const text = JSON.parse(signDescriptor(r.fields, r.identity, crypto).descriptor) as Record<string, unknown>;
    text.id = relay().id;
    const descriptor = JSON.stringify(text);
    const reply = await post(p.url, '/v1/register', {
      descriptor,
      signature: signText(DESCRIPTOR_DOMAIN, descriptor, r.identity.secretKey, crypto),
    });
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ code: 'INVALID_DESCRIPTOR', error: expect.stringContaining('id does not match') });
  });

  it('refuses a replayed registration and a stale one', async () => {
    const p = await pool();
    const r = relay();
    const envelope = signDescriptor(r.fields, r.identity, crypto);
    expect((await post(p.url, '/v1/register', envelope)).status).toBe(200);
    const replay = await post(p.url, '/v1/register', envelope);
    expect(replay.status).toBe(409);
    expect(replay.json.code).toBe('REPLAYED');

    // Even once the relay has left, its old registration cannot bring it back.
    expect((await post(p.url, '/v1/unregister', signStatement('unregister', r.identity, crypto, Date.now() + 1))).status).toBe(200);
    expect((await post(p.url, '/v1/register', envelope)).status).toBe(409);
    expect(await listedIds(p)).toEqual([]);

    const stale = await post(p.url, '/v1/register', signDescriptor(relay().fields, relay().identity, crypto, Date.now() - 120_000));
    expect(stale.status).toBe(400);
    expect(stale.json.code).toBe('STALE_TIMESTAMP');
  });

  it('refuses registrations once the registry is full', async () => {
    const p = await pool({ maxRelays: 1 });
    const first = relay();
    expect((await post(p.url, '/v1/register', signDescriptor(first.fields, first.identity, crypto))).status).toBe(200);
    const reply = await post(p.url, '/v1/register', signDescriptor(relay().fields, relay().identity, crypto));
    expect(reply.status).toBe(503);
    expect(reply.json.code).toBe('REGISTRY_FULL');
    // A relay already registered may still update its descriptor.
    expect((await post(p.url, '/v1/register', signDescriptor(first.fields, first.identity, crypto, Date.now() + 1))).status).toBe(200);
  });

  it('keeps its list within what clients read: large descriptors fill it before the relay cap', async () => {
    const padded = () => {
      const r = relay();
      return { ...r, fields: { ...r.fields, contact: 'x'.repeat(256), family: Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(40, '0')) } };
    };
    const relays = Array.from({ length: 4 }, padded);
    const small = relay();
    const one = listEntryBytes(signDescriptor(relays[0].fields, relays[0].identity, crypto));
    const p = await pool({ maxRelays: 100, maxListBytes: 3 * one + listEntryBytes(signDescriptor(small.fields, small.identity, crypto)) + 10 });
    for (const r of relays.slice(0, 3)) expect((await post(p.url, '/v1/register', signDescriptor(r.fields, r.identity, crypto))).status).toBe(200);
    const refused = await post(p.url, '/v1/register', signDescriptor(relays[3].fields, relays[3].identity, crypto));
    expect(refused.status).toBe(503);
    expect(refused.json.code).toBe('REGISTRY_FULL');
    // A listed relay may still re-register, and a small descriptor still fits the room left.
    expect((await post(p.url, '/v1/register', signDescriptor(relays[0].fields, relays[0].identity, crypto, Date.now() + 1))).status).toBe(200);
    expect((await post(p.url, '/v1/register', signDescriptor(small.fields, small.identity, crypto))).status).toBe(200);
    expect(await listedIds(p)).toHaveLength(4);
  });

  it('counts list bytes as clients receive them', async () => {
    const r = relay();
    const p = await pool();
    const envelope = signDescriptor(r.fields, r.identity, crypto);
    const empty = (await fetch(`${p.url}/v1/relays`).then((res) => res.arrayBuffer())).byteLength;
    expect((await post(p.url, '/v1/register', envelope)).status).toBe(200);
    const full = (await fetch(`${p.url}/v1/relays`).then((res) => res.arrayBuffer())).byteLength;
    // The only entry: no comma between entries, one byte less than the budget charges.
    expect(full - empty).toBe(listEntryBytes(envelope) - 1);
  });
});

describe('pool heartbeats', () => {
  async function registered(opts: PoolOptions = {}) {
    const p = await pool(opts);
    const r = relay();
    const t0 = Date.now();
    expect((await post(p.url, '/v1/register', signDescriptor(r.fields, r.identity, crypto, t0))).status).toBe(200);
    return { p, r, t0 };
  }

  it('accepts a heartbeat and refuses the same body replayed', async () => {
    const { p, r, t0 } = await registered();
    const heartbeat = signStatement('heartbeat', r.identity, crypto, t0 + 1);
    expect(await post(p.url, '/v1/heartbeat', heartbeat)).toEqual({ status: 200, json: { heartbeatPeriod: 10_000, deprecationDelay: 30_000 } });
    const replay = await post(p.url, '/v1/heartbeat', heartbeat);
    expect(replay.status).toBe(409);
    expect(replay.json.code).toBe('REPLAYED');
  });

  it('refuses a heartbeat signed by another key', async () => {
    const { p, r, t0 } = await registered();
    const forged = signStatement('heartbeat', relay().identity, crypto, t0 + 1);
    const statement = JSON.parse(forged.heartbeat) as Record<string, unknown>;
    statement.id = r.id;
    forged.heartbeat = JSON.stringify(statement);
    const reply = await post(p.url, '/v1/heartbeat', forged);
    expect(reply.status).toBe(403);
    expect(reply.json.code).toBe('BAD_SIGNATURE');
  });

  it('refuses a heartbeat signature reused as an unregister notice', async () => {
    const { p, r, t0 } = await registered();
    const heartbeat = signStatement('heartbeat', r.identity, crypto, t0 + 1);
    expect((await post(p.url, '/v1/unregister', heartbeat)).status).toBe(403);
    expect(await listedIds(p)).toEqual([r.id]);
  });

  it('refuses stale, future and older-than-accepted timestamps', async () => {
    const { p, r, t0 } = await registered({ clockSkewMs: 5_000 });
    for (const time of [t0 - 10_000, t0 + 10_000]) {
      const reply = await post(p.url, '/v1/heartbeat', signStatement('heartbeat', r.identity, crypto, time));
      expect(reply.status).toBe(400);
      expect(reply.json.code).toBe('STALE_TIMESTAMP');
    }
    const older = await post(p.url, '/v1/heartbeat', signStatement('heartbeat', r.identity, crypto, t0 - 1));
    expect(older.status).toBe(409);
  });

  it('answers UNKNOWN_RELAY for a relay it does not know', async () => {
    const p = await pool();
    const reply = await post(p.url, '/v1/heartbeat', signStatement('heartbeat', relay().identity, crypto));
    expect(reply.status).toBe(404);
    expect(reply.json.code).toBe('UNKNOWN_RELAY');
  });

  it('drops a silent relay within the deprecation delay plus one GC cycle, keeps a live one', async () => {
    const { p, r: silent } = await registered({ heartbeatPeriodMs: 100, deprecationDelayMs: 300, gcIntervalMs: 200 });
    const live = relay(9002);
    const start = Date.now();
    expect((await post(p.url, '/v1/register', signDescriptor(live.fields, live.identity, crypto, start))).status).toBe(200);
    expect((await listedIds(p)).sort()).toEqual([silent.id, live.id].sort());

    let time = start;
    while ((await listedIds(p)).includes(silent.id)) {
      expect(Date.now() - start).toBeLessThan(300 + 200 + 300);
      expect((await post(p.url, '/v1/heartbeat', signStatement('heartbeat', live.identity, crypto, ++time))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(Date.now() - start).toBeGreaterThanOrEqual(250);
    expect(await listedIds(p)).toEqual([live.id]);
    const late = await post(p.url, '/v1/heartbeat', signStatement('heartbeat', silent.identity, crypto));
    expect(late.json.code).toBe('UNKNOWN_RELAY');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(p.lines.find((l) => String(l.message).startsWith('relay deprecated'))).toMatchObject({ id: silent.id, url: silent.fields.url });
  });

  it('removes a relay at once when it unregisters', async () => {
    const { p, r, t0 } = await registered();
    expect(await listedIds(p)).toEqual([r.id]);
    expect(await post(p.url, '/v1/unregister', signStatement('unregister', r.identity, crypto, t0 + 1))).toEqual({ status: 200, json: {} });
    expect(await listedIds(p)).toEqual([]);
    expect((await post(p.url, '/v1/heartbeat', signStatement('heartbeat', r.identity, crypto, t0 + 2))).status).toBe(404);
  });
});

describe('pool HTTP hygiene', () => {
  it('refuses malformed requests with 4xx JSON errors and keeps serving', async () => {
    const p = await pool();
    const cases: [Promise<{ status: number; json: Record<string, unknown> }>, number, string][] = [
      [post(p.url, '/v1/register', '{"descriptor": '), 400, 'BAD_JSON'],
      [post(p.url, '/v1/register', '[1,2]'), 400, 'INVALID_DESCRIPTOR'],
      [post(p.url, '/v1/heartbeat', { heartbeat: 'x'.repeat(600), signature: '' }), 400, 'INVALID_HEARTBEAT'],
      [post(p.url, '/v1/register', '{}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [post(p.url, '/v1/register', 'x'.repeat(100 * 1024)), 413, 'BODY_TOO_LARGE'],
      [post(p.url, '/v1/nothing', {}), 404, 'NOT_FOUND'],
      [post(p.url, '/v1/relays', {}), 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [reply, status, code] of cases) {
      const { status: got, json } = await reply;
      expect([got, json.code]).toEqual([status, code]);
      expect(typeof json.error).toBe('string');
    }
    expect((await fetch(p.url + '/v1/register')).headers.get('allow')).toBe('POST');
    expect((await fetch(p.url + '/v1/health')).status).toBe(200);
  });

  it('stops reading a streamed body at 64 KiB', async () => {
    const p = await pool();
    const chunk = new Uint8Array(16 * 1024).fill(0x20);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Far more than the limit, without a Content-Length for the pool to refuse up front.
        if (sent++ < 1024) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(p.url + '/v1/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(sent).toBeLessThan(1024);
    expect((await fetch(p.url + '/v1/health')).status).toBe(200);
  });

  it('keeps its key in the key file across restarts', async () => {
    const { mkdtempSync, rmSync, statSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'allium-pool-'));
    try {
      const keyFile = join(dir, 'pool-key.json');
      const first = await pool({ keyFile });
      await first.close();
      running.splice(running.indexOf(first), 1);
      const second = await pool({ keyFile });
      expect(second.poolKey).toBe(first.poolKey);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses timings where live relays would be deprecated', async () => {
    await expect(startPool({ heartbeatPeriodMs: 1000, deprecationDelayMs: 500 })).rejects.toThrow(/deprecation delay/);
  });
});
