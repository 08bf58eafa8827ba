import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { toBase64Url } from './bytes.ts';
import type { KeyPair } from './crypto/provider.ts';
import { signDescriptor, type DescriptorFields } from './descriptor.ts';
import { fetchDirectory, fetchRelayList } from './directory.ts';
import { signRelayList } from './relay-list.ts';
import { nodeCrypto as crypto } from '../node/crypto.ts';
import { createLogger } from '../node/log.ts';
import { startPool, type RunningPool } from '../pool/server.ts';

const quiet = createLogger('pool', new Writable({ write: (_chunk, _encoding, done) => done() }));
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function pool(): Promise<RunningPool> {
  const started = await startPool({ log: quiet });
  closers.push(() => started.close());
  return started;
}

/** A plain HTTP server answering GET /v1/relays with whatever the test needs. */
async function fakePool(respond: (res: import('node:http').ServerResponse) => void): Promise<string> {
  const server: Server = createServer((_req, res) => respond(res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function relay(port: number): { identity: KeyPair; fields: DescriptorFields } {
  return {
    identity: crypto.ed25519Keygen(),
    fields: { onionKey: toBase64Url(crypto.x25519Keygen().publicKey), url: `ws://127.0.0.1:${port}`, outbound: [], exit: { allowPrivate: false } },
  };
}

async function register(poolUrl: string, r: { identity: KeyPair; fields: DescriptorFields }, published = Date.now()) {
  const response = await fetch(poolUrl + '/v1/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(signDescriptor(r.fields, r.identity, crypto, published)),
  });
  expect(response.status).toBe(200);
}

describe('fetchRelayList', () => {
  it('returns the verified relays of a pool, tagged with the pool', async () => {
    const p = await pool();
    const r = relay(9001);
    await register(p.url, r);
    const relays = await fetchRelayList({ url: p.url + '/', key: p.poolKey }, { fetch, crypto });
    expect(relays).toEqual([expect.objectContaining({ url: 'ws://127.0.0.1:9001', pools: [p.url + '/'] })]);
  });

  it('refuses a pool whose list is signed by another key than the pinned one', async () => {
    const p = await pool();
    const impostor = await pool();
    await expect(fetchRelayList({ url: impostor.url, key: p.poolKey }, { fetch, crypto })).rejects.toThrow(
      `pool ${impostor.url}: relay list (not signed by the pinned pool key): bad signature`,
    );
  });

  it('refuses a tampered list', async () => {
    const poolKey: KeyPair = crypto.ed25519Keygen();
    const url = await fakePool((res) => {
      const signed = signRelayList([], poolKey, crypto);
      const r = relay(9009);
      const tampered = signed.list.replace('"relays":[]', `"relays":[${JSON.stringify(signDescriptor(r.fields, r.identity, crypto))}]`);
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ ...signed, list: tampered }));
    });
    await expect(fetchRelayList({ url, key: toBase64Url(poolKey.publicKey) }, { fetch, crypto })).rejects.toThrow(/bad signature/);
  });

  it('stops reading an oversized response and reports HTTP errors', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let written = 0;
    const endless = await fakePool((res) => {
      const pump = () => {
        while (written < 64 && res.write(chunk)) written++;
        if (written < 64 && !res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => (written = 64));
      pump();
    });
    const key = toBase64Url(crypto.ed25519Keygen().publicKey);
    await expect(fetchRelayList({ url: endless, key }, { fetch, crypto })).rejects.toThrow(/larger than 16777216 bytes/);
    const failing = await fakePool((res) => res.writeHead(500).end('oops'));
    await expect(fetchRelayList({ url: failing, key }, { fetch, crypto })).rejects.toThrow(`pool ${failing}: HTTP 500`);
  });
});

describe('fetchDirectory', () => {
  it('merges the relays of several pools and reports the pools that failed', async () => {
    const [a, b] = [await pool(), await pool()];
    const shared = relay(9001);
    const onlyA = relay(9002);
    const onlyB = relay(9003);
    const t = Date.now();
    await register(a.url, shared, t - 1000);
    // A newer descriptor of the same relay (it moved) in the second pool.
    await register(b.url, { ...shared, fields: { ...shared.fields, url: 'ws://127.0.0.1:9011' } }, t);
    await register(a.url, onlyA);
    await register(b.url, onlyB);
    const dead = await fakePool((res) => res.writeHead(503).end());

    const { relays, errors } = await fetchDirectory(
      [
        { url: a.url, key: a.poolKey },
        { url: b.url, key: b.poolKey },
        { url: dead, key: a.poolKey },
      ],
      { fetch, crypto },
    );
    const byUrl = Object.fromEntries(relays.map((r) => [r.url, r.pools.sort()]));
    expect(byUrl).toEqual({
      'ws://127.0.0.1:9011': [a.url, b.url].sort(),
      'ws://127.0.0.1:9002': [a.url],
      'ws://127.0.0.1:9003': [b.url],
    });
    expect(errors).toEqual([{ pool: dead, error: `pool ${dead}: HTTP 503` }]);
  });

  it('fails with every reason when no pool answers validly', async () => {
    const p = await pool();
    const wrongKey = toBase64Url(crypto.ed25519Keygen().publicKey);
    const dead = await fakePool((res) => res.writeHead(502).end());
    await expect(
      fetchDirectory(
        [
          { url: p.url, key: wrongKey },
          { url: dead, key: wrongKey },
        ],
        { fetch, crypto },
      ),
    ).rejects.toThrow(/no pool answered with a valid relay list: .*not signed by the pinned pool key.*; .*HTTP 502/);
  });
});
