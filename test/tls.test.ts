// TLS and reverse proxies (docs/TLS.md): pools serving https:// and relays serving wss:// with
// certificates made by openssl, trust pinned with --ca, certificates reloaded from disk under an
// open circuit, and X-Forwarded-For believed only from the proxies an operator names.
import { copyFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_SUBPROTOCOL } from '../shared/cell.ts';
import { fetchRelayList } from '../shared/directory.ts';
import { createNodeClient } from '../node/client.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { createLogger } from '../node/log.ts';
import { requestSource, trustedProxySet } from '../node/peer-address.ts';
import { nodeFetch } from '../node/tls-fetch.ts';
import { readCaFiles } from '../node/tls-trust.ts';
import { startPool, type RunningPool } from '../pool/server.ts';
import { runCli, startRelayProcess, startService, startTestNetwork, tempDir, type PoolReady, type RelayReady, type Service } from './support/processes.ts';
import { makeCertificate, type TestCertificate } from './support/tls-certs.ts';

const quiet = createLogger('tls-test', { write: () => true } as never);

/** The SHA-256 fingerprint of the certificate a fresh TLS connection to 127.0.0.1:port is shown. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

async function waitFor(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a pool serving https with a self-signed certificate', () => {
  let dir: string;
  let cert: TestCertificate;
  let pool: Service<PoolReady>;
  const relays: Service<RelayReady>[] = [];

  beforeAll(async () => {
    dir = tempDir();
    cert = makeCertificate(dir, 'pool');
    pool = await startService<PoolReady>([
      'pool', '--json', '--port', '0', '--key', join(dir, 'pool.json'), '--tls-cert', cert.certFile, '--tls-key', cert.keyFile,
      '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5',
    ]);
  });

  afterAll(async () => {
    await Promise.all(relays.map((r) => r.stop()));
    await pool?.stop();
  });

  it('serves https:// and is listed by a relay started from a config file that pins its certificate', async () => {
    expect(pool.ready.pool).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await servedFingerprint(Number(new URL(pool.ready.pool).port))).toBe(cert.fingerprint);
    const config = join(dir, 'relay.conf');
    writeFileSync(
      config,
      [
        '# a relay that reaches its pool over TLS, trusting the pool\'s self-signed certificate',
        `pool ${pool.ready.pool}`,
        `pool-key ${pool.ready.poolKey}`,
        `ca ${cert.certFile}`,
        'port 0',
        `key ${join(dir, 'relay.json')}`,
        '',
      ].join('\n'),
    );
    const relay = await startService<RelayReady>(['relay', '--json', '--config', config]);
    relays.push(relay);
    // What the relay's ready line claims, checked independently over TLS with the same pin.
    const listed = await fetchRelayList(
      { url: pool.ready.pool, key: pool.ready.poolKey },
      { fetch: nodeFetch({ ca: readCaFiles([cert.certFile]) }), crypto: nodeCrypto },
    );
    expect(listed.map((r) => r.id)).toContain(relay.ready.id);
  });

  it('fails with a clear error when the same relay does not trust the certificate', async () => {
    const attempt = startService<RelayReady>(
      ['relay', '--json', '--port', '0', '--key', join(dir, 'untrusting-relay.json'), '--pool', pool.ready.pool, '--pool-key', pool.ready.poolKey],
      4000,
    );
    await expect(attempt).rejects.toThrow(/not trusted \(self-signed certificate\); pass --ca FILE/);
  });

  it('plain fetch without the pin fails with the same advice', async () => {
    await expect(nodeFetch()(`${pool.ready.pool}/v1/health`)).rejects.toThrow(/^certificate of 127\.0\.0\.1:\d+ not trusted .*pass --ca FILE/);
  });

  it('refuses bad certificate options at start-up, naming the option', async () => {
    const other = makeCertificate(dir, 'other');
    const runPool = (...args: string[]) => runCli(['pool', '--port', '0', '--key', join(dir, 'refused-pool.json'), ...args]);
    const notACert = await runPool('--tls-cert', cert.keyFile, '--tls-key', cert.keyFile);
    expect(notACert.code).toBe(2);
    expect(notACert.stderr).toMatch(/--tls-cert .*pool-key\.pem: not a PEM certificate/);
    const mismatch = await runPool('--tls-cert', cert.certFile, '--tls-key', other.keyFile);
    expect(mismatch.code).toBe(2);
    expect(mismatch.stderr).toMatch(/--tls-key .*other-key\.pem: does not match the certificate in .*pool-cert\.pem/);
    const missing = await runPool('--tls-cert', join(dir, 'absent.pem'), '--tls-key', cert.keyFile);
    expect(missing.stderr).toMatch(/--tls-cert .*absent\.pem: cannot read it/);
    const alone = await runPool('--tls-cert', cert.certFile);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--tls-cert needs --tls-key');
    const badCa = await runCli(['fetch', '--pool', pool.ready.pool, '--pool-key', pool.ready.poolKey, '--ca', cert.keyFile, 'http://127.0.0.1/']);
    expect(badCa.code).toBe(2);
    expect(badCa.stderr).toMatch(/--ca .*pool-key\.pem: no PEM certificate/);
  });
});

describe('relays serving wss', () => {
  let network: Awaited<ReturnType<typeof startTestNetwork>>;
  let served: TestCertificate;
  let renewed: TestCertificate;
  /** Copies of both certificates, for --ca: the renewal moves the originals. */
  let trusted: string[];
  let echo: net.Server;

  beforeAll(async () => {
    const dir = tempDir();
    // Every relay serves the same files; the renewal is made beforehand in a directory of its own.
    served = makeCertificate(dir, 'relay');
    renewed = makeCertificate(tempDir(), 'relay');
    trusted = [join(dir, 'trusted-1.pem'), join(dir, 'trusted-2.pem')];
    copyFileSync(served.certFile, trusted[0]);
    copyFileSync(renewed.certFile, trusted[1]);
    const trust = trusted.flatMap((file) => ['--ca', file]);
    network = await startTestNetwork({ relays: 3, relayArgs: ['--tls-cert', served.certFile, '--tls-key', served.keyFile, ...trust] });
    echo = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await network?.stop();
    await new Promise((resolve) => echo?.close(resolve));
  });

  it('keeps an open circuit carrying data both ways while the certificate is replaced on disk', async () => {
    for (const relay of network.relays) expect(relay.ready.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const ports = network.relays.map((r) => Number(new URL(r.ready.url).port));
    const client = createNodeClient({ pools: [network.poolRef], ca: readCaFiles(trusted) });
    try {
      const socket = await client.connect('127.0.0.1', (echo.address() as net.AddressInfo).port);
      const writer = socket.writable.getWriter();
      const reader = socket.readable.getReader();
      const roundTrip = async (text: string) => {
        await writer.write(new TextEncoder().encode(text));
        let received = '';
        while (received.length < text.length) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`stream ended after "${received}"`);
          received += new TextDecoder().decode(value);
        }
        return received;
      };
      expect(await roundTrip('before the renewal')).toBe('before the renewal');
      for (const port of ports) expect(await servedFingerprint(port)).toBe(served.fingerprint);

      // As certbot does: new files are moved into place, the key after the certificate.
      renameSync(renewed.certFile, served.certFile);
      renameSync(renewed.keyFile, served.keyFile);
      for (const port of ports) await waitFor(async () => (await servedFingerprint(port)) === renewed.fingerprint, `relay on ${port} to serve the new certificate`);
      expect(await roundTrip('after the renewal')).toBe('after the renewal');
      for (const relay of network.relays) expect(relay.stderr()).toContain('TLS certificate reloaded');

      // A key that does not match the certificate is refused: the relays keep serving the renewed pair.
      const stray = makeCertificate(tempDir(), 'stray');
      renameSync(stray.keyFile, served.keyFile);
      for (const relay of network.relays) {
        await waitFor(async () => relay.stderr().includes('TLS certificate reload failed; still serving the previous certificate'), 'the failed reload to be logged');
        expect(relay.stderr()).toContain(served.keyFile);
      }
      for (const port of ports) expect(await servedFingerprint(port)).toBe(renewed.fingerprint);
      expect(await roundTrip('after a failed reload')).toBe('after a failed reload');

      // New links are made with the renewed certificate, which the client trusts.
      const fresh = await client.connect('127.0.0.1', (echo.address() as net.AddressInfo).port, { isolationKey: 'fresh circuit' });
      await fresh.writable.getWriter().write(new TextEncoder().encode('x'));
      const { value } = await fresh.readable.getReader().read();
      expect(new TextDecoder().decode(value)).toBe('x');
    } finally {
      client.close();
    }
  });

  it('allium fetch goes through them with --ca', async () => {
    const trust = trusted.flatMap((file) => ['--ca', file]);
    const result = await runCli(['fetch', ...network.poolArgs, ...trust, `${network.pool.ready.pool}/v1/health`]);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout.toString())).toMatchObject({ status: 'ok', relays: 3 });
  });

  it('a client that does not trust the relays says so', async () => {
    const client = createNodeClient({ pools: [network.poolRef] });
    try {
      await expect(client.connect('127.0.0.1', (echo.address() as net.AddressInfo).port)).rejects.toThrow(/not trusted \(self-signed certificate\); pass --ca FILE/);
    } finally {
      client.close();
    }
  });
});

describe('X-Forwarded-For', () => {
  const trusted = trustedProxySet(['10.0.0.1', '::1']);

  it('takes the right-most entry from a trusted proxy only', () => {
    expect(requestSource('10.0.0.1', '203.0.113.9, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(requestSource('::ffff:10.0.0.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(requestSource('::1', ['203.0.113.9', '2001:DB8::5'], trusted)).toBe('2001:db8::5');
    // Anyone else's header is the client's own word.
    expect(requestSource('10.0.0.2', '198.51.100.7', trusted)).toBe('10.0.0.2');
  });

  it('falls back to the proxy itself when it forwards no usable address', () => {
    expect(requestSource('10.0.0.1', undefined, trusted)).toBe('10.0.0.1');
    expect(requestSource('10.0.0.1', '198.51.100.7, unknown', trusted)).toBe('10.0.0.1');
    expect(requestSource('10.0.0.1', '198.51.100.7,', trusted)).toBe('10.0.0.1');
  });

  describe('on a pool', () => {
    let pool: RunningPool;
    const post = (xff: Record<string, string>) =>
      fetch(`${pool.url}/v1/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', ...xff }, body: '{}' }).then((r) => r.status);

    afterAll(() => pool?.close());

    it('limits each forwarded client of a trusted proxy on its own, and ignores other forwarding headers', async () => {
      pool = await startPool({ trustedProxies: ['127.0.0.1'], log: quiet, floodLimits: { requestsPerSource: { capacity: 1, refillPerSecond: 0.001 } } });
      expect(await post({ 'x-forwarded-for': '198.51.100.1' })).toBe(400);
      expect(await post({ 'x-forwarded-for': '198.51.100.1' })).toBe(429);
      expect(await post({ 'x-forwarded-for': '203.0.113.9, 198.51.100.2' })).toBe(400);
      // No X-Forwarded-For: the proxy's own address, whatever X-Real-IP or Forwarded claim.
      expect(await post({ 'x-real-ip': '198.51.100.3', forwarded: 'for=198.51.100.3' })).toBe(400);
      expect(await post({ 'x-real-ip': '198.51.100.4', forwarded: 'for=198.51.100.4' })).toBe(429);
    });

    it('ignores X-Forwarded-For from a peer it does not trust', async () => {
      await pool.close();
      pool = await startPool({ trustedProxies: ['127.0.0.2'], log: quiet, floodLimits: { requestsPerSource: { capacity: 1, refillPerSecond: 0.001 } } });
      expect(await post({ 'x-forwarded-for': '198.51.100.1' })).toBe(400);
      expect(await post({ 'x-forwarded-for': '198.51.100.2' })).toBe(429);
    });
  });

  describe('on a relay', () => {
    let network: Awaited<ReturnType<typeof startTestNetwork>>;
    let trusting: RelayReady;
    let distrusting: RelayReady;
    /** The status a WebSocket upgrade gets: 101 when the link opens, else the refusal or 0 for a dropped connection. */
    const upgrade = (relay: RelayReady, xff: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(relay.url, [LINK_SUBPROTOCOL], { headers: { 'x-forwarded-for': xff } });
        socket.once('open', () => resolve(101));
        socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? -1));
        socket.once('error', () => resolve(0));
      });

    beforeAll(async () => {
      network = await startTestNetwork({ relays: 0 });
      const oneLinkEach = ['--max-connections-per-source', '1'];
      const relays = await Promise.all([
        startRelayProcess(network.pool.ready, network.dir, 0, false, [...oneLinkEach, '--trusted-proxy', '127.0.0.1']),
        startRelayProcess(network.pool.ready, network.dir, 1, false, [...oneLinkEach, '--trusted-proxy', '127.0.0.2']),
      ]);
      network.relays.push(...relays);
      [trusting, distrusting] = relays.map((r) => r.ready);
    });

    afterAll(() => network?.stop());

    it('admits each forwarded client of a trusted proxy on its own', async () => {
      expect(await upgrade(trusting, '198.51.100.1')).toBe(101);
      expect(await upgrade(trusting, '198.51.100.1')).toBe(429);
      expect(await upgrade(trusting, '203.0.113.9, 198.51.100.2')).toBe(101);
    });

    it('ignores X-Forwarded-For from a peer it does not trust', async () => {
      expect(await upgrade(distrusting, '198.51.100.1')).toBe(101);
      expect(await upgrade(distrusting, '198.51.100.2')).toBe(0);
    });
  });
});
