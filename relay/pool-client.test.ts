import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from '../shared/bytes.ts';
import type { DescriptorFields } from '../shared/descriptor.ts';
import { fetchRelayList, type PoolRef } from '../shared/directory.ts';
import { nodeCrypto as crypto } from '../node/crypto.ts';
import { createLogger } from '../node/log.ts';
import { startPool, type PoolOptions, type RunningPool } from '../pool/server.ts';
import { joinPools, type PoolClient } from './pool-client.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function capturedLog(component: string) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: createLogger(component, sink), lines };
}

const fastTimings: PoolOptions = { heartbeatPeriodMs: 100, deprecationDelayMs: 400, gcIntervalMs: 200 };

async function pool(opts: PoolOptions = {}): Promise<RunningPool & { lines: Record<string, unknown>[] }> {
  const { log, lines } = capturedLog('pool');
  const started = await startPool({ log, ...fastTimings, ...opts });
  cleanups.push(() => started.close());
  return { ...started, lines };
}

const fields: DescriptorFields = {
  onionKey: toBase64Url(crypto.x25519Keygen().publicKey),
  url: 'ws://127.0.0.1:9001',
  outbound: ['127.0.0.2'],
  exit: { allowPrivate: true },
};

function joinTestPools(pools: PoolRef[]): { client: PoolClient; lines: Record<string, unknown>[] } {
  const { log, lines } = capturedLog('relay');
  const client = joinPools({ pools, descriptorFields: fields, identity: crypto.ed25519Keygen(), crypto, log, requestTimeoutMs: 2000 });
  cleanups.push(() => client.stop());
  return { client, lines };
}

const ref = (p: RunningPool): PoolRef => ({ url: p.url, key: p.poolKey });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const listedIn = async (p: RunningPool) => (await fetchRelayList(ref(p), { fetch, crypto })).map((r) => r.id);

describe('relay pool client', () => {
  it('registers with every pool, stays listed by heartbeating, and unregisters on stop', async () => {
    const [a, b] = [await pool(), await pool()];
    const { client, lines } = joinTestPools([ref(a), ref(b)]);
    await client.waitListed();
    expect(await listedIn(a)).toEqual([client.id]);
    expect(await listedIn(b)).toEqual([client.id]);
    expect(lines.filter((l) => l.message === 'registered with pool').map((l) => l.heartbeatPeriodMs)).toEqual([100, 100]);

    // Twice the deprecation delay: only heartbeats keep the relay listed.
    await sleep(800);
    expect(await listedIn(a)).toEqual([client.id]);
    expect(a.lines.filter((l) => l.message === 'relay registered')).toHaveLength(1);

    await client.stop();
    expect(await listedIn(a)).toEqual([]);
    expect(await listedIn(b)).toEqual([]);
    expect(lines.filter((l) => l.message === 'unregistered from pool')).toHaveLength(2);
  });

  it('registers changed descriptor fields with every pool at once, then keeps heartbeating', async () => {
    const [a, b] = [await pool(), await pool()];
    const requests: string[] = [];
    let heartbeatSent: (() => void) | undefined;
    // Heartbeats take 30 ms, so a change can be made while one is in flight.
    const counting: typeof fetch = async (input, init) => {
      if (init?.method === 'POST') requests.push(String(input));
      if (String(input).endsWith('/v1/heartbeat')) {
        heartbeatSent?.();
        await sleep(30);
      }
      return fetch(input, init);
    };
    const client = joinPools({ pools: [ref(a), ref(b)], descriptorFields: fields, identity: crypto.ed25519Keygen(), crypto, log: capturedLog('relay').log, fetch: counting });
    cleanups.push(() => client.stop());
    await client.waitListed();
    const onionKey = toBase64Url(crypto.x25519Keygen().publicKey);
    // Changes made while a heartbeat is in flight: the last one wins everywhere.
    await new Promise<void>((resolve) => (heartbeatSent = resolve));
    client.update({ bandwidth: 1000 });
    client.update({ onionKey, bandwidth: 2000 });
    expect(() => client.update({ contact: 'line\nbreak' })).toThrow(/contact/);
    for (const p of [a, b]) {
      for (let i = 0; ; i++) {
        const [listed] = await fetchRelayList(ref(p), { fetch, crypto });
        if (listed.onionKey === onionKey && listed.bandwidth === 2000) break;
        if (i > 50) throw new Error(`pool ${p.url} still lists ${listed.onionKey} ${listed.bandwidth}`);
        await sleep(20);
      }
    }
    expect(client.descriptorFields).toMatchObject({ onionKey, bandwidth: 2000 });
    expect(client.descriptorFields.contact).toBeUndefined();
    // One request loop per pool: heartbeats go on at the pool's period (100 ms), not twice as often.
    const before = requests.length;
    await sleep(1000);
    const toA = requests.slice(before).filter((url) => url.startsWith(a.url));
    expect(toA.every((url) => url.endsWith('/v1/heartbeat'))).toBe(true);
    expect(toA.length).toBeGreaterThanOrEqual(4);
    expect(toA.length).toBeLessThanOrEqual(11);
    expect(await listedIn(a)).toEqual([client.id]);
  });

  it('registers again when a restarted pool no longer knows the relay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allium-pool-client-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'pool-key.json');
    const first = await pool({ keyFile });
    const { client, lines } = joinTestPools([ref(first)]);
    await client.waitListed();

    await first.close();
    const port = Number(new URL(first.url).port);
    const second = await pool({ keyFile, port });
    for (let i = 0; !(await listedIn(second)).includes(client.id); i++) {
      expect(i).toBeLessThan(40);
      await sleep(50);
    }
    expect(second.lines.filter((l) => l.message === 'relay registered')).toHaveLength(1);
    expect(lines.some((l) => l.message === 'pool no longer knows this relay; registering again')).toBe(true);
  });

  it('retries registration with backoff while a pool is unreachable', async () => {
    const p = await pool();
    const port = Number(new URL(p.url).port);
    await p.close();
    const { client, lines } = joinTestPools([{ url: p.url, key: p.poolKey }]);
    await sleep(300);
    expect(lines.filter((l) => l.message === 'registration with pool failed; retrying').length).toBeGreaterThanOrEqual(1);
    const restarted = await startPool({ log: capturedLog('pool').log, port, ...fastTimings });
    cleanups.push(() => restarted.close());
    // The pool key changed with the restart (no key file), so pin the new one for the check.
    for (let i = 0; !(await listedIn(restarted)).includes(client.id); i++) {
      expect(i).toBeLessThan(60);
      await sleep(50);
    }
  });

  it('never resolves waitListed when the pinned key is wrong, and says why once', async () => {
    const p = await pool();
    const { client, lines } = joinTestPools([{ url: p.url, key: toBase64Url(crypto.ed25519Keygen().publicKey) }]);
    const listed = client.waitListed();
    listed.catch(() => undefined);
    await sleep(500);
    const warnings = lines.filter((l) => l.message === 'cannot read the pool list');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].error).toMatch(/not signed by the pinned pool key/);
    await client.stop();
    await expect(listed).rejects.toThrow(/stopped before pool .* listed this relay/);
  });

  it('refuses at once a descriptor no pool would accept', () => {
    const { log } = capturedLog('relay');
    expect(() =>
      joinPools({ pools: [{ url: 'http://127.0.0.1:1', key: 'x' }], descriptorFields: { ...fields, url: 'tcp://x:1' }, identity: crypto.ed25519Keygen(), crypto, log }),
    ).toThrow(/ws:\/\//);
  });
});
