// The network end to end: a pool and relays as separate processes on loopback, real WebSockets,
// real TCP and HTTP destinations, the CLI and the library client.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchOverStream } from '../shared/client/fetch-over-stream.ts';
import type { AlliumClient } from '../shared/client/client.ts';
import { fetchDirectory } from '../shared/directory.ts';
import { TpdpError } from '../shared/errors.ts';
import { LINK_SUBPROTOCOL } from '../shared/cell.ts';
import { createNodeClient } from '../node/client.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { execFile } from 'node:child_process';
import { residentBytes, runCli, startRelayProcess, startService, startTestNetwork } from './support/processes.ts';
import { circuitThrough } from './support/relay-circuits.ts';

function run(command: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { encoding: 'buffer', timeout: 20_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${command} failed: ${stderr}`)) : resolve(stdout))),
  );
}

type Network = Awaited<ReturnType<typeof startTestNetwork>>;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** An HTTP server that records the peer address of every request. */
async function recordingServer(body: Buffer) {
  const peers: string[] = [];
  const server = http.createServer((req, res) => {
    peers.push(req.socket.remoteAddress!.replace(/^::ffff:/, ''));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { peers, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise((r) => server.close(r)) };
}

/** A TCP server: echo, or an endless source when the first byte is 'S'. */
async function tcpServer() {
  const sockets = new Set<net.Socket>();
  const stats = { written: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', (first) => {
      if (first[0] !== 'S'.charCodeAt(0)) {
        socket.write(first);
        socket.pipe(socket);
        return;
      }
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (!socket.destroyed && socket.write(chunk)) stats.written += chunk.length;
        if (!socket.destroyed) stats.written += chunk.length;
      };
      socket.on('drain', pump);
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    stats,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

async function readExactly(reader: ReadableStreamDefaultReader<Uint8Array>, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let offset = 0;
  while (offset < length) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended after ${offset} of ${length} bytes`);
    out.set(value.subarray(0, length - offset), offset);
    offset += value.length;
  }
  return out;
}

describe('a network of separate relay processes', () => {
  let network: Network;
  let client: AlliumClient;
  let outbound: Set<string>;

  beforeAll(async () => {
    network = await startTestNetwork({ relays: 4 });
    outbound = new Set(network.relays.map((r) => r.outbound));
    client = createNodeClient({ pools: [network.poolRef] });
  }, 30_000);

  afterAll(async () => {
    client?.close();
    await network?.stop();
  });

  it('`allium fetch` returns a page byte for byte, and the server sees a relay, not the client', async () => {
    const body = nodeCrypto.randomBytes(48 * 1024);
    const page = Buffer.concat(Array.from({ length: 5 }, () => Buffer.from(body)));
    const server = await recordingServer(page);
    try {
      const result = await runCli(['fetch', ...network.poolArgs, server.url]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(sha256(result.stdout)).toBe(sha256(page));
      expect(server.peers).toHaveLength(1);
      expect(outbound.has(server.peers[0])).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('every fetch reaches the destination over a connection of its own, closed after the response', async () => {
    const connections: { port: number; closed: boolean }[] = [];
    const requests: { port: number; connection: string | undefined }[] = [];
    const server = http.createServer((req, res) => {
      requests.push({ port: req.socket.remotePort!, connection: req.headers.connection });
      res.end('ok');
    });
    server.on('connection', (socket) => {
      const record = { port: socket.remotePort!, closed: false };
      connections.push(record);
      socket.on('close', () => (record.closed = true));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      // In turn and at once on one circuit, and on a second circuit.
      for (let i = 0; i < 2; i++) expect(await (await client.fetch(url, { isolationKey: 'own-connection' })).text()).toBe('ok');
      const together = await Promise.all([0, 1, 2].map(() => client.fetch(url, { isolationKey: 'own-connection' })));
      for (const response of together) expect(await response.text()).toBe('ok');
      expect(await (await client.fetch(url, { isolationKey: 'own-connection-2' })).text()).toBe('ok');
      expect(requests).toHaveLength(6);
      expect(new Set(requests.map((r) => r.port)).size).toBe(6);
      expect(connections).toHaveLength(6);
      expect(requests.every((r) => r.connection === 'close')).toBe(true);
      await expect.poll(() => connections.every((c) => c.closed)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('`allium proxy` carries curl over SOCKS5 (names resolved by the exit), HTTP and CONNECT', async () => {
    const page = Buffer.from(nodeCrypto.randomBytes(30_000));
    const server = await recordingServer(page);
    const proxy = await startService<{ socks: string; http: string }>(['proxy', '--json', '--socks', '0', '--http', '0', ...network.poolArgs]);
    try {
      const port = new URL(server.url).port;
      // localhost is resolved by the exit, never by curl (--socks5-hostname).
      const viaSocks = await run('curl', ['-sS', '--fail', '--socks5-hostname', proxy.ready.socks, `http://localhost:${port}/socks`]);
      expect(sha256(viaSocks)).toBe(sha256(page));
      const viaHttp = await run('curl', ['-sS', '--fail', '-x', `http://${proxy.ready.http}`, `http://127.0.0.1:${port}/http`]);
      expect(sha256(viaHttp)).toBe(sha256(page));
      const viaConnect = await run('curl', ['-sS', '--fail', '-p', '-x', `http://${proxy.ready.http}`, `http://127.0.0.1:${port}/tunnel`]);
      expect(sha256(viaConnect)).toBe(sha256(page));
      expect(server.peers).toHaveLength(3);
      for (const peer of server.peers) expect(outbound.has(peer)).toBe(true);
    } finally {
      await proxy.stop();
      await server.close();
    }
  });

  it('carries 20 concurrent streams on one circuit, each verified by hash', async () => {
    const echo = await tcpServer();
    try {
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const stream = await client.connect('127.0.0.1', echo.port, { isolationKey: 'twenty' });
          const payload = new Uint8Array(64 * 1024 + i * 1000).map((_, j) => (j * 13 + i) & 0xff);
          payload[0] = 0; // not 'S': echo mode
          const writer = stream.writable.getWriter();
          const reading = readExactly(stream.readable.getReader(), payload.length);
          await writer.write(payload);
          const echoed = await reading;
          await stream.close();
          return sha256(echoed) === sha256(payload);
        }),
      );
      expect(results.every(Boolean)).toBe(true);
      // All twenty shared the circuit of their isolation key.
      expect(client.circuitFor('twenty')?.circuit.state).toBe('open');
    } finally {
      await echo.close();
    }
  });

  it('keeps relay memory bounded when the reader stops reading (flow control)', async () => {
    const source = await tcpServer();
    try {
      const before = await Promise.all(network.relays.map((r) => residentBytes(r.process.pid!)));
      const stream = await client.connect('127.0.0.1', source.port, { isolationKey: 'slow' });
      const writer = stream.writable.getWriter();
      await writer.write(new TextEncoder().encode('S'));
      const reader = stream.readable.getReader();
      await readExactly(reader, 1024); // data flows…
      await new Promise((r) => setTimeout(r, 3000)); // …then the reader stalls
      const stalledAt = source.stats.written;
      await new Promise((r) => setTimeout(r, 1000));
      const after = await Promise.all(network.relays.map((r) => residentBytes(r.process.pid!)));
      // The source is held back: windows (≈485 KB per stream) plus socket buffers.
      expect(source.stats.written - stalledAt).toBeLessThan(256 * 1024);
      expect(stalledAt).toBeLessThan(24 * 1024 * 1024);
      for (let i = 0; i < after.length; i++) expect(after[i] - before[i]).toBeLessThan(32 * 1024 * 1024);
      // Reading again resumes the flow.
      await readExactly(reader, 4 * 1024 * 1024);
      await stream.close();
    } finally {
      await source.close();
    }
  });

  it('the exit refuses loopback and names resolving to it without --allow-private', async () => {
    const dir = network.dir;
    const strict = await startRelayProcess(network.pool.ready, dir, 10, false);
    try {
      const { relays } = await fetchDirectory([network.poolRef], { fetch, crypto: nodeCrypto });
      const exit = relays.find((r) => r.id === strict.ready.id)!;
      expect(exit.exit.allowPrivate).toBe(false);
      const others = relays.filter((r) => r.id !== exit.id).slice(0, 2);
      const circuit = (await circuitThrough([...others, exit])).circuit;
      for (const host of ['127.0.0.1', 'localhost', '2130706433', '0x7f.0.0.1', '::1', '::ffff:127.0.0.1', '10.0.0.1', '169.254.169.254']) {
        const error = await circuit.openStream({ kind: 'connect', host, port: 80 }).then(() => undefined, (e: TpdpError) => e);
        expect(error?.code, host).toBe('EXIT_POLICY_REFUSED');
      }
      // fetch streams too, IP literals included (Node's http client never resolves those).
      for (const url of ['http://127.0.0.1:1/', 'http://[::1]:1/', 'http://localhost:1/', 'http://2130706433:1/', 'http://169.254.169.254/latest/meta-data/']) {
        const stream = await circuit.openStream({ kind: 'fetch' });
        const error = await fetchOverStream(stream, { method: 'GET', url, headers: [], body: null }).then(() => undefined, (e: TpdpError) => e);
        expect(error?.code, url).toBe('EXIT_POLICY_REFUSED');
      }
      circuit.destroy();
    } finally {
      await strict.stop();
    }
  });

  it('refreshes the relay list through a circuit, so the pool sees the client only once', async () => {
    let direct = 0;
    const countingFetch: typeof fetch = (input, init) => {
      direct++;
      return fetch(input, init);
    };
    const refreshing = createNodeClient({ pools: [network.poolRef], fetch: countingFetch, directoryRefreshMs: 300 });
    try {
      const before = await refreshing.relays();
      const late = await startRelayProcess(network.pool.ready, network.dir, 12, true);
      try {
        await new Promise((r) => setTimeout(r, 400));
        await refreshing.relays(); // stale: served, and refreshed in the background through a circuit
        let after = before;
        for (let i = 0; i < 50 && !after.some((r) => r.id === late.ready.id); i++) {
          await new Promise((r) => setTimeout(r, 100));
          after = await refreshing.relays();
        }
        expect(after.some((r) => r.id === late.ready.id)).toBe(true);
        expect(direct).toBe(1);
        expect(refreshing.circuitFor('allium:directory')?.circuit.state).toBe('open');
      } finally {
        await late.stop();
      }
    } finally {
      refreshing.close();
    }
  });

  it('cuts a peer that opens a link and stalls before any handshake, with TIMEOUT_ERROR', async () => {
    const quick = await startRelayProcess(network.pool.ready, network.dir, 11, true, ['--handshake-timeout', '1']);
    try {
      const socket = new WebSocket(quick.ready.url, [LINK_SUBPROTOCOL]);
      const started = Date.now();
      const closed = await new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
      expect(closed.code).toBe(4004);
      expect(closed.reason).toMatch(/^TIMEOUT_ERROR/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await quick.stop();
    }
  });

  it('a relay killed mid-transfer gives a clear error within 2 s; the next request succeeds on a new circuit', async () => {
    const source = await tcpServer();
    const page = await recordingServer(Buffer.from('after the failure'));
    try {
      const stream = await client.connect('127.0.0.1', source.port, { isolationKey: 'victim' });
      await stream.writable.getWriter().write(new TextEncoder().encode('S'));
      const reader = stream.readable.getReader();
      await readExactly(reader, 256 * 1024);
      const middle = client.circuitFor('victim')!.relays[1];
      const victim = network.relays.find((r) => r.ready.id === middle.id)!;
      const killedAt = Date.now();
      victim.process.kill('SIGKILL');
      let error: unknown;
      try {
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
        }
      } catch (err) {
        error = err;
      }
      expect(Date.now() - killedAt).toBeLessThan(2000);
      expect(error).toBeInstanceOf(TpdpError);
      expect((error as TpdpError).code).toMatch(/LINK_CLOSED|RELAY_SHUTDOWN/);
      const response = await client.fetch(page.url, { isolationKey: 'victim' });
      expect(await response.text()).toBe('after the failure');
      expect(client.circuitFor('victim')!.relays.some((r) => r.id === middle.id)).toBe(false);

      // The dead relay leaves the pool list within deprecation delay (1 s) + one GC cycle (0.5 s).
      const deadline = killedAt + 1000 + 500 + 1000;
      for (;;) {
        const { relays } = await fetchDirectory([network.poolRef], { fetch, crypto: nodeCrypto });
        if (!relays.some((r) => r.id === middle.id)) break;
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await source.close();
      await page.close();
    }
  });
});
