// Fuzzing the local proxy's front ends over real TCP (proxy/socks5.ts, proxy/http-proxy.ts):
// arbitrary bytes, near-valid SOCKS5 handshakes and HTTP requests, split across TCP writes at
// arbitrary points. proxy/socks5-parser.test.ts covers the parser alone; here the whole front end
// must answer each connection with a well-formed reply (or close it) within the handshake
// timeout, never log an unexpected failure, never open a stream to a destination the client did
// not name, and keep serving well-behaved clients.
import fc from 'fast-check';
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TpdpError } from '../../shared/errors.ts';
import { createLogger } from '../../node/log.ts';
import { startProxy, type RunningProxy } from '../../proxy/server.ts';
import type { StreamOpener } from '../../proxy/stream-opener.ts';
import { createTestOpener, startEchoServer, startOriginServer } from '../../proxy/test-harness.ts';
import { recordFigure } from '../support/figures.ts';
import { bytes } from './bytes.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const PER_CASE = 32; // connections at once
const SOCKS_RUNS = 120; // × PER_CASE connections
const HTTP_RUNS = 120;
// Short, so that connections a test leaves hanging are closed quickly.
const HANDSHAKE_TIMEOUT_MS = 200;

let proxy: RunningProxy;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let origin: Awaited<ReturnType<typeof startOriginServer>>;
const logs: { level: string; message: string }[] = [];
const reached: string[] = [];

beforeAll(async () => {
  echo = await startEchoServer();
  origin = await startOriginServer();
  const direct = createTestOpener({ names: { 'echo.test': '127.0.0.1', 'origin.test': '127.0.0.1' } });
  // Only the two local servers are reachable: a fuzzed address must never become a real connection.
  const opener: StreamOpener = {
    connect(host, port, options) {
      const allowed = ['echo.test', 'origin.test', '127.0.0.1'].includes(host) && (port === echo.port || port === origin.port);
      if (!allowed) return Promise.reject(new TpdpError('EXIT_POLICY_REFUSED'));
      reached.push(`${host}:${port}`);
      return direct.connect(host, port, options);
    },
  };
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) logs.push(JSON.parse(line) as { level: string; message: string });
      done();
    },
  });
  proxy = await startProxy({ opener, socks: { port: 0 }, http: { port: 0 }, log: createLogger('proxy', sink), handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS, connectTimeoutMs: 2000 });
});

afterAll(async () => {
  // Still serving: a SOCKS5 CONNECT that echoes, and an HTTP proxy request.
  const socks = await exchange(proxy.socks!, [Buffer.from([5, 1, 0, 5, 1, 0, 3, 9, ...Buffer.from('echo.test'), echo.port >> 8, echo.port & 255]), Buffer.from('ping')]);
  expect([...socks.subarray(0, 4)]).toEqual([5, 0, 5, 0]);
  expect(socks.subarray(12).toString()).toBe('ping');
  const http = await exchange(proxy.http!, [Buffer.from(`GET http://origin.test:${origin.port}/ HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n`)], false);
  expect(http.toString()).toMatch(/^HTTP\/1\.1 200 [\s\S]*hello from origin/);
  expect(logs.filter((l) => l.level === 'error' || /unexpectedly/.test(l.message))).toEqual([]);
  await proxy.close();
  echo.server.close();
  origin.server.close();
});

/** Writes the chunks (as separate TCP writes), half-closes unless told not to, and collects the answer until close. */
function exchange(address: string, chunks: Uint8Array[], halfClose = true, timeoutMs = HANDSHAKE_TIMEOUT_MS + 3000): Promise<Buffer> {
  const colon = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const received: Buffer[] = [];
    const socket = net.connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), allowHalfOpen: true }, async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) break;
        socket.write(chunk);
        await new Promise((r) => setImmediate(r));
      }
      if (halfClose) socket.end();
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (data) => received.push(data));
    socket.on('end', () => socket.end());
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(received));
    });
  });
}

/** Splits bytes into TCP writes at arbitrary points. */
const split = (arbitrary: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(arbitrary, fc.array(fc.nat(), { maxLength: 4 })).map(([data, cuts]) => {
    const points = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % data.length)))].sort((a, b) => a - b);
    const out: Uint8Array[] = [];
    let start = 0;
    for (const p of [...points, data.length]) {
      out.push(data.subarray(start, p));
      start = p;
    }
    return out.filter((c) => c.length > 0);
  });

const u8 = (...parts: (number[] | Uint8Array | string)[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : [...p])));
const port16 = fc.oneof(fc.constantFrom(0, 80), fc.nat(0xffff));
const socksInput = fc.oneof(
  bytes(300),
  // A near-valid greeting, optional username/password, a request with any command and address.
  fc
    .record({
      version: fc.oneof(fc.constant(5), fc.nat(255)),
      methods: fc.array(fc.oneof(fc.constantFrom(0, 2), fc.nat(255)), { maxLength: 5 }),
      auth: fc.option(fc.tuple(fc.oneof(fc.constant(1), fc.nat(255)), fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }))),
      command: fc.oneof(fc.constant(1), fc.nat(255)),
      atyp: fc.oneof(fc.constantFrom(1, 3, 4), fc.nat(255)),
      address: fc.oneof(fc.constantFrom('echo.test', '127.0.0.1', 'a\nb', '', 'x'.repeat(255)), fc.string({ maxLength: 30 })),
      port: fc.oneof(fc.constantFrom(0), port16),
      tail: bytes(40),
    })
    .map((r) => {
      const greeting = u8([r.version, r.methods.length], r.methods);
      const auth = r.auth ? u8([r.auth[0], Math.min(255, r.auth[1].length)], r.auth[1].slice(0, 255), [Math.min(255, r.auth[2].length)], r.auth[2].slice(0, 255)) : u8();
      const address = r.atyp === 1 ? u8([127, 0, 0, 1]) : r.atyp === 4 ? u8(new Array(15).fill(0), [1]) : u8([Math.min(255, r.address.length)], r.address.slice(0, 255));
      return u8(greeting, auth, [5, r.command, 0, r.atyp], address, [r.port >> 8, r.port & 255], r.tail);
    }),
  fc.constantFrom(u8([4, 1, 0, 80, 127, 0, 0, 1, 0]), u8('GET / HTTP/1.1\r\n\r\n'), u8([5, 255, ...new Array(255).fill(2)])),
);

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,10}$/);
const httpInput = fc.oneof(
  bytes(400),
  fc
    .record({
      method: fc.oneof(fc.constantFrom('GET', 'CONNECT', 'POST', 'HEAD', 'OPTIONS'), token),
      target: fc.oneof(
        fc.constantFrom('/', '*', 'http://origin.test:PORT/', 'https://origin.test/', 'echo.test:ECHO', '[::1]:80', 'origin.test', 'http://[::1', 'http://a b/', 'http://origin.test:99999/'),
        fc.string({ maxLength: 40 }),
      ),
      version: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/1.1 x', ''),
      headers: fc.array(fc.tuple(fc.oneof(token, fc.constantFrom('Host', 'Proxy-Authorization', 'Content-Length', 'Transfer-Encoding', 'Connection')), fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('Basic dTpw', 'chunked', '5', '-1', 'close, x'))), { maxLength: 5 }),
      body: bytes(60),
    })
    .map((r) => {
      const target = r.target.replace('PORT', String(origin.port)).replace('ECHO', String(echo.port));
      return u8(`${r.method} ${target} ${r.version}\r\n${r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, r.body);
    }),
  fc.constantFrom(u8('\r\n\r\n'), u8(`GET http://origin.test:1/ HTTP/1.1\r\n${'X: y\r\n'.repeat(2000)}\r\n`), u8('CONNECT echo.test HTTP/1.1\r\n\r\n')),
);

describe('the local proxy fed hostile clients over TCP', () => {
  // Regression: a client that ended its side mid-handshake was held until the handshake timeout.
  it('closes a truncated SOCKS5 handshake as soon as the client ends its side', async () => {
    const started = Date.now();
    await exchange(proxy.socks!, [Uint8Array.of(5, 1, 0, 5, 1, 0, 3, 20, 0x61)]);
    expect(Date.now() - started).toBeLessThan(HANDSHAKE_TIMEOUT_MS / 2);
  });

  it(
    'SOCKS5: every connection gets a SOCKS reply (or none) and is closed within the handshake timeout',
    async () => {
      const firstBytes = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(split(socksInput), { minLength: PER_CASE, maxLength: PER_CASE }), async (connections) => {
          const answers = await Promise.all(connections.map((chunks) => exchange(proxy.socks!, chunks)));
          for (const answer of answers) {
            const kind = answer.length === 0 ? 'closed' : `0x${answer[0].toString(16)}`;
            firstBytes.set(kind, (firstBytes.get(kind) ?? 0) + 1);
            // SOCKS5 replies start with 5 (greeting, request) or 1 (auth); SOCKS4 clients get 0x00 0x5b.
            if (answer.length > 0) expect([0, 1, 5]).toContain(answer[0]);
          }
        }),
        fuzzParameters(SOCKS_RUNS, PER_CASE),
      );
      recordFigure('fuzz SOCKS5 front end over TCP', { connections: PER_CASE * fuzzRuns(SOCKS_RUNS, PER_CASE), firstReplyByte: Object.fromEntries(firstBytes), hung: 0, crashes: 0 });
    },
    fuzzTimeout(SOCKS_RUNS, 400, PER_CASE),
  );

  it(
    'HTTP proxy: every connection gets an HTTP response (never a 500) or is closed, within the handshake timeout',
    async () => {
      const statuses = new Map<string, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(split(httpInput), { minLength: PER_CASE, maxLength: PER_CASE }), async (connections) => {
          const answers = await Promise.all(connections.map((chunks) => exchange(proxy.http!, chunks)));
          for (const answer of answers) {
            const status = /^HTTP\/1\.[01] (\d{3}) /.exec(answer.toString('latin1'))?.[1] ?? (answer.length === 0 ? 'closed' : 'other');
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            // After a CONNECT tunnel opens, the bytes are the destination's; otherwise a status line.
            if (status === 'other') expect(reached.length).toBeGreaterThan(0);
            expect(status).not.toBe('500');
          }
        }),
        fuzzParameters(HTTP_RUNS, PER_CASE),
      );
      recordFigure('fuzz HTTP proxy front end over TCP', { connections: PER_CASE * fuzzRuns(HTTP_RUNS, PER_CASE), statuses: Object.fromEntries(statuses), hung: 0, crashes: 0 });
    },
    fuzzTimeout(HTTP_RUNS, 400, PER_CASE),
  );
});
