import { createHash } from 'node:crypto';
import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../node/log.ts';
import { isolationKey } from './isolation-key.ts';
import { startProxy, type RunningProxy } from './server.ts';
import {
  createTestOpener,
  patternBytes,
  SocketReader,
  startEchoServer,
  startOriginServer,
  tcpConnect,
  type OriginServer,
  type TestOpener,
} from './test-harness.ts';

const quiet = createLogger('test', new Writable({ write: (_chunk, _encoding, done) => done() }));
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let echo: { server: Server; port: number };
let origin: OriginServer;
let opener: TestOpener;
let proxy: RunningProxy;
let originUrl: string;

beforeAll(async () => {
  echo = await startEchoServer();
  origin = await startOriginServer();
  originUrl = `http://origin.allium.test:${origin.port}`;
  opener = createTestOpener({
    names: { 'echo.allium.test': '127.0.0.1', 'origin.allium.test': '127.0.0.1' },
    refuse: { 'policy.test': 'EXIT_POLICY_REFUSED', 'refused.test': 'DESTINATION_CONNECTION_ERROR', 'timeout.test': 'TIMEOUT_ERROR' },
    hang: ['hang.test'],
  });
  proxy = await startProxy({ opener, http: { port: 0 }, log: quiet, handshakeTimeoutMs: 1000, connectTimeoutMs: 500 });
});

afterAll(async () => {
  await proxy.close();
  echo.server.close();
  origin.server.close();
});

interface ProxiedResponse {
  status: number;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
}

/** A request to the proxy with `target` as the request target (absolute URI). */
function viaProxy(target: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | Buffer[] } = {}): Promise<ProxiedResponse> {
  const [host, port] = proxy.http!.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), method: options.method ?? 'GET', path: target, headers: options.headers, agent: false });
    req.on('error', reject);
    req.on('response', async (res) => {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of res) chunks.push(chunk as Buffer);
      } catch (err) {
        return reject(err);
      }
      resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) });
    });
    const bodies = options.body === undefined ? [] : Array.isArray(options.body) ? options.body : [options.body];
    for (const chunk of bodies) req.write(chunk);
    req.end();
  });
}

/** Sends a CONNECT request on a raw socket; returns the reader after the response head. */
async function connectTunnel(authority: string, extra = ''): Promise<{ head: string; reader: SocketReader; socket: Socket }> {
  const socket = await tcpConnect(proxy.http!);
  const reader = new SocketReader(socket);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${extra}\r\n`);
  let head = '';
  while (!head.endsWith('\r\n\r\n')) head += (await reader.read(1)).toString('latin1');
  return { head, reader, socket };
}

describe('HTTP proxy: CONNECT', () => {
  it('tunnels bytes both ways, data sent along with the request included', async () => {
    const socket = await tcpConnect(proxy.http!);
    const reader = new SocketReader(socket);
    socket.write(`CONNECT echo.allium.test:${echo.port} HTTP/1.1\r\nHost: echo.allium.test:${echo.port}\r\n\r\nearly`);
    const established = 'HTTP/1.1 200 Connection Established\r\n\r\n';
    expect((await reader.read(established.length)).toString()).toBe(established);
    expect((await reader.read(5)).toString()).toBe('early');
    expect(opener.calls.at(-1)).toEqual({ host: 'echo.allium.test', port: echo.port, isolationKey: 'http' });
    const data = patternBytes(1 << 20);
    socket.end(data);
    expect(sha256(await reader.rest())).toBe(sha256(data));
  });

  it('keeps an idle tunnel open past the header timeout', async () => {
    const { reader, socket } = await connectTunnel(`echo.allium.test:${echo.port}`);
    await sleep(2500);
    socket.write('still open');
    expect((await reader.read(10)).toString()).toBe('still open');
    socket.destroy();
  });

  it('tunnels to a bracketed IPv6 literal, passed on without brackets', async () => {
    const { head, socket } = await connectTunnel('[::1]:9');
    expect(opener.calls.at(-1)!.host).toBe('::1');
    expect(head).toMatch(/^HTTP\/1\.1 502 /);
    socket.destroy();
  });

  it.each([
    ['policy.test:443', 403, 'EXIT_POLICY_REFUSED'],
    ['refused.test:443', 502, 'DESTINATION_CONNECTION_ERROR'],
    ['timeout.test:443', 504, 'TIMEOUT_ERROR'],
    ['hang.test:443', 504, 'TIMEOUT_ERROR'],
    ['nowhere.test:443', 502, 'DESTINATION_RESOLVE_ERROR'],
  ])('answers a failed CONNECT %s with %i naming %s', async (authority, status, code) => {
    const { head, reader } = await connectTunnel(authority);
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect((await reader.rest()).toString()).toMatch(new RegExp(`^${code}: `));
  });

  it.each(['no-port.test', 'host:0', 'host:99999', 'user@host:80', 'host:80/path'])('answers CONNECT %s with 400', async (authority) => {
    const { head, reader } = await connectTunnel(authority);
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect((await reader.rest()).toString()).toMatch(/host:port/);
  });

  it('isolates by Proxy-Authorization credentials', async () => {
    const basic = (pair: string) => `Proxy-Authorization: Basic ${Buffer.from(pair).toString('base64')}\r\n`;
    const keys: string[] = [];
    for (const pair of ['alice:one', 'bob:two', 'alice:one']) {
      const { socket } = await connectTunnel(`echo.allium.test:${echo.port}`, basic(pair));
      keys.push(opener.calls.at(-1)!.isolationKey);
      socket.destroy();
    }
    const alice = isolationKey('http', { username: Buffer.from('alice'), password: Buffer.from('one') });
    expect(keys).toEqual([alice, isolationKey('http', { username: Buffer.from('bob'), password: Buffer.from('two') }), alice]);
    expect(keys[0]).not.toBe(keys[1]);
  });
});

describe('HTTP proxy: absolute-URI requests', () => {
  it('forwards a GET and returns the origin response, hop-by-hop headers stripped both ways', async () => {
    const before = origin.requests.length;
    const res = await viaProxy(`${originUrl}/hello?x=1`, {
      headers: {
        Host: 'ignored.example',
        'Proxy-Authorization': 'Basic dTpw',
        'Proxy-Connection': 'keep-alive',
        Connection: 'keep-alive, X-Per-Hop',
        'X-Per-Hop': 'drop me',
        'X-End-To-End': 'keep me',
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('hello from origin\n');
    expect(res.headers['x-origin']).toBe('yes');
    expect(res.headers['x-secret']).toBeUndefined(); // listed in the origin's Connection header
    expect(opener.calls.at(-1)).toEqual({
      host: 'origin.allium.test',
      port: origin.port,
      isolationKey: isolationKey('http', { username: Buffer.from('u'), password: Buffer.from('p') }),
    });
    const received = origin.requests.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0].url).toBe('/hello?x=1');
    const names = received[0].rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    expect(names).not.toContain('proxy-authorization');
    expect(names).not.toContain('proxy-connection');
    expect(names).not.toContain('x-per-hop');
    expect(names).not.toContain('via');
    expect(received[0].rawHeaders.slice(0, 2)).toEqual(['Host', `origin.allium.test:${origin.port}`]);
    expect(received[0].rawHeaders).toContain('keep me');
    // One stream per request, released once the response is done.
    await expect.poll(() => opener.sockets.at(-1)!.destroyed).toBe(true);
  });

  it('returns a large chunked response byte for byte', async () => {
    const res = await viaProxy(`${originUrl}/big?n=${3 << 20}`);
    expect(res.status).toBe(200);
    expect(sha256(res.body)).toBe(sha256(patternBytes(3 << 20)));
  });

  it('streams a POST body (chunked and with Content-Length) to the origin and the reply back', async () => {
    const data = patternBytes(1 << 20);
    const chunked = await viaProxy(`${originUrl}/echo`, { method: 'POST', body: [data.subarray(0, 1000), data.subarray(1000)] });
    expect(chunked.status).toBe(200);
    expect(chunked.headers['x-method']).toBe('POST');
    expect(sha256(chunked.body)).toBe(sha256(data));
    const sized = await viaProxy(`${originUrl}/echo`, { method: 'PUT', headers: { 'Content-Length': 11 }, body: Buffer.from('hello world') });
    expect(sized.body.toString()).toBe('hello world');
    expect(origin.requests.at(-1)!.rawHeaders).toContain('Content-Length');
  });

  it('uses the default isolation key without credentials', async () => {
    await viaProxy(`${originUrl}/hello`);
    expect(opener.calls.at(-1)!.isolationKey).toBe('http');
  });

  it.each([
    ['http://policy.test/', 403, 'EXIT_POLICY_REFUSED'],
    ['http://refused.test/', 502, 'DESTINATION_CONNECTION_ERROR'],
    ['http://hang.test/', 504, 'TIMEOUT_ERROR'],
  ])('answers %s with %i naming %s', async (target, status, code) => {
    const res = await viaProxy(target);
    expect(res.status).toBe(status);
    expect(res.body.toString()).toMatch(new RegExp(`^${code}: `));
  });

  it('refuses https:// URIs (use CONNECT) and origin-form requests with 400', async () => {
    const https = await viaProxy('https://origin.allium.test/');
    expect(https.status).toBe(400);
    expect(https.body.toString()).toMatch(/CONNECT/);
    const originForm = await viaProxy('/just/a/path');
    expect(originForm.status).toBe(400);
    expect(originForm.body.toString()).toMatch(/absolute URI/);
  });

  it('cuts the client connection when the origin response is truncated', async () => {
    const truncating = createServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part'));
    truncating.listen(0, '127.0.0.1');
    await once(truncating, 'listening');
    const { port } = truncating.address() as { port: number };
    await expect(viaProxy(`http://127.0.0.1:${port}/`)).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
    truncating.close();
  });

  it('answers 502 when the origin does not speak HTTP', async () => {
    // The echo server answers with the request itself, which is no HTTP response.
    const res = await viaProxy(`http://echo.allium.test:${echo.port}/`);
    expect(res.status).toBe(502);
    expect(res.body.toString()).toMatch(/^PROTOCOL_ERROR: /);
  });
});

describe('HTTP proxy: lifecycle', () => {
  it('close() ends tunnels and idle keep-alive connections', async () => {
    const own = await startProxy({ opener, http: { port: 0 }, log: quiet });
    const tunnel = await tcpConnect(own.http!);
    const tunnelReader = new SocketReader(tunnel);
    tunnel.write(`CONNECT echo.allium.test:${echo.port} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await tunnelReader.read('HTTP/1.1 200 Connection Established\r\n\r\n'.length);
    const idle = await tcpConnect(own.http!);
    const idleReader = new SocketReader(idle);
    idle.write(`GET ${originUrl}/hello HTTP/1.1\r\nHost: x\r\n\r\n`);
    await idleReader.read(12);
    await own.close();
    await Promise.all([tunnelReader.rest(), idleReader.rest()]);
  });
});

describe('HTTP proxy: hostile clients', () => {
  it('answers oversized headers with 431 and keeps serving', async () => {
    const socket = await tcpConnect(proxy.http!);
    const reader = new SocketReader(socket);
    socket.write(`GET ${originUrl}/hello HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expect((await reader.rest()).toString()).toMatch(/^HTTP\/1\.1 431 /);
    expect((await viaProxy(`${originUrl}/hello`)).status).toBe(200);
  });

  it('answers garbage with 400 and keeps serving', async () => {
    const socket = await tcpConnect(proxy.http!);
    const reader = new SocketReader(socket);
    socket.write('\x00\x01\x02 garbage\r\n\r\n');
    expect((await reader.rest()).toString()).toMatch(/^HTTP\/1\.1 400 /);
    expect((await viaProxy(`${originUrl}/hello`)).status).toBe(200);
  });

  it('closes a connection whose headers never complete', async () => {
    const socket = await tcpConnect(proxy.http!);
    const reader = new SocketReader(socket);
    const started = Date.now();
    socket.write(`GET ${originUrl}/hello HTTP/1.1\r\nHost: x\r\n`);
    await reader.rest();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
