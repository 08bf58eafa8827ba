import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../node/log.ts';
import type { ReasonName } from '../shared/errors.ts';
import { isolationKey } from './isolation-key.ts';
import { startProxy, type RunningProxy } from './server.ts';
import { createTestOpener, patternBytes, SocketReader, startEchoServer, tcpConnect, type TestOpener } from './test-harness.ts';

const quiet = createLogger('test', new Writable({ write: (_chunk, _encoding, done) => done() }));
const SUCCEEDED = [5, 0, 0, 1, 0, 0, 0, 0, 0, 0];

let echo: { server: Server; port: number };
let echo6: Server;
let opener: TestOpener;
let proxy: RunningProxy;

beforeAll(async () => {
  echo = await startEchoServer();
  // The same echo service on ::1, same port if free, for the IPv6 address type.
  echo6 = createServer({ allowHalfOpen: true }, (socket) => socket.on('error', () => {}).pipe(socket));
  echo6.listen(echo.port, '::1');
  await once(echo6, 'listening');
  opener = createTestOpener({
    names: { 'echo.allium.test': '127.0.0.1' },
    refuse: {
      'policy.test': 'EXIT_POLICY_REFUSED',
      'nxdomain.test': 'DESTINATION_RESOLVE_ERROR',
      'refused.test': 'DESTINATION_CONNECTION_ERROR',
      'timeout.test': 'TIMEOUT_ERROR',
      'protocol.test': 'PROTOCOL_ERROR',
      'hop.test': 'HOP_UNREACHABLE',
    },
    hang: ['hang.test'],
  });
  proxy = await startProxy({ opener, socks: { port: 0 }, log: quiet, handshakeTimeoutMs: 500, connectTimeoutMs: 500 });
});

afterAll(async () => {
  await proxy.close();
  echo.server.close();
  echo6.close();
});

interface Request {
  host: string;
  port: number;
  atyp?: 'domain' | 'ipv4' | 'ipv6';
  auth?: [string, string];
  command?: number;
}

function requestBytes({ host, port, atyp = 'domain', auth, command = 1 }: Request): { greeting: Buffer; auth?: Buffer; request: Buffer } {
  const greeting = Buffer.from(auth ? [5, 1, 2] : [5, 1, 0]);
  const authBytes = auth && Buffer.concat([Buffer.from([1, auth[0].length]), Buffer.from(auth[0]), Buffer.from([auth[1].length]), Buffer.from(auth[1])]);
  let address: Buffer;
  if (atyp === 'domain') address = Buffer.concat([Buffer.from([3, host.length]), Buffer.from(host)]);
  else if (atyp === 'ipv4') address = Buffer.from([1, ...host.split('.').map(Number)]);
  else {
    const groups = host.split(':').map((g) => parseInt(g || '0', 16));
    address = Buffer.from([4, ...groups.flatMap((g) => [g >> 8, g & 0xff])]);
  }
  const request = Buffer.concat([Buffer.from([5, command, 0]), address, Buffer.from([port >> 8, port & 0xff])]);
  return { greeting, auth: authBytes, request };
}

/** Runs the handshake; returns the reader positioned after the reply and the reply bytes. */
async function socks(request: Request): Promise<{ socket: Socket; reader: SocketReader; reply: number[] }> {
  const socket = await tcpConnect(proxy.socks!);
  const reader = new SocketReader(socket);
  const { greeting, auth, request: req } = requestBytes(request);
  socket.write(greeting);
  expect([...(await reader.read(2))]).toEqual([5, auth ? 2 : 0]);
  if (auth) {
    socket.write(auth);
    expect([...(await reader.read(2))]).toEqual([1, 0]);
  }
  socket.write(req);
  return { socket, reader, reply: [...(await reader.read(10))] };
}

async function roundTrip(socket: Socket, reader: SocketReader, text: string): Promise<string> {
  socket.write(text);
  return (await reader.read(Buffer.byteLength(text))).toString();
}

/** The proxy still serves a normal client. */
async function stillServing(): Promise<void> {
  const { socket, reader, reply } = await socks({ host: 'echo.allium.test', port: echo.port });
  expect(reply).toEqual(SUCCEEDED);
  expect(await roundTrip(socket, reader, 'still here')).toBe('still here');
  socket.destroy();
}

async function closedBy(reader: SocketReader): Promise<number[]> {
  return [...(await reader.rest())];
}

describe('SOCKS5 front end', () => {
  it('CONNECTs to a domain name, unresolved, with bytes both ways', async () => {
    const before = opener.calls.length;
    const { socket, reader, reply } = await socks({ host: 'echo.allium.test', port: echo.port });
    expect(reply).toEqual(SUCCEEDED);
    expect(opener.calls.slice(before)).toEqual([{ host: 'echo.allium.test', port: echo.port, isolationKey: 'socks5' }]);
    expect(await roundTrip(socket, reader, 'ping')).toBe('ping');
    expect(await roundTrip(socket, reader, 'pong and more')).toBe('pong and more');
    socket.destroy();
  });

  it('carries 1 MiB both ways intact and passes the half-close on', async () => {
    const { socket, reader } = await socks({ host: 'echo.allium.test', port: echo.port });
    const data = patternBytes(1 << 20);
    socket.end(data);
    const back = await reader.rest();
    expect(back.length).toBe(data.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('holds a fast sender back while the other side does not read, both ways', async () => {
    /** Writes as long as the socket accepts; returns the count of bytes handed to it. */
    const pump = (socket: Socket) => {
      const counter = { sent: 0 };
      const chunk = Buffer.alloc(64 * 1024);
      const fill = () => {
        do counter.sent += chunk.length;
        while (socket.write(chunk));
      };
      socket.on('drain', fill);
      fill();
      return counter;
    };
    const stalls = async (counter: { sent: number }) => {
      await sleep(700);
      const settled = counter.sent;
      await sleep(300);
      expect(counter.sent).toBe(settled);
      expect(settled).toBeLessThan(64 << 20);
    };
    let fromDestination = { sent: 0 };
    const flood = createServer((socket) => {
      socket.on('error', () => {});
      socket.pause(); // never reads what the client sends
      fromDestination = pump(socket);
    });
    flood.listen(0, '127.0.0.1');
    await once(flood, 'listening');
    const { socket } = await socks({ host: '127.0.0.1', port: (flood.address() as { port: number }).port, atyp: 'ipv4' });
    socket.pause(); // never reads what the destination sends
    socket.removeAllListeners('data');
    const fromClient = pump(socket);
    await Promise.all([stalls(fromDestination), stalls(fromClient)]);
    socket.destroy();
    flood.close();
  });

  it('uses username/password only as the isolation key', async () => {
    const keys: string[] = [];
    for (const auth of [['alice', 'one'], ['bob', 'two'], ['alice', 'one'], ['alic', 'eone']] as [string, string][]) {
      const { socket, reply } = await socks({ host: 'echo.allium.test', port: echo.port, auth });
      expect(reply).toEqual(SUCCEEDED);
      keys.push(opener.calls.at(-1)!.isolationKey);
      socket.destroy();
    }
    const key = (u: string, p: string) => isolationKey('socks5', { username: Buffer.from(u), password: Buffer.from(p) });
    expect(keys).toEqual([key('alice', 'one'), key('bob', 'two'), key('alice', 'one'), key('alic', 'eone')]);
    expect(new Set(keys).size).toBe(3);
    expect(keys).not.toContain('socks5');
    expect(keys.join()).not.toContain('alice'); // no credentials in clear
  });

  it('CONNECTs to IPv4 and IPv6 addresses, IPv6 in canonical form', async () => {
    const v4 = await socks({ host: '127.0.0.1', port: echo.port, atyp: 'ipv4' });
    expect(v4.reply).toEqual(SUCCEEDED);
    expect(await roundTrip(v4.socket, v4.reader, 'over v4')).toBe('over v4');
    v4.socket.destroy();
    const v6 = await socks({ host: '0:0:0:0:0:0:0:1', port: echo.port, atyp: 'ipv6' });
    expect(opener.calls.at(-1)!.host).toBe('::1');
    expect(v6.reply).toEqual(SUCCEEDED);
    expect(await roundTrip(v6.socket, v6.reader, 'over v6')).toBe('over v6');
    v6.socket.destroy();
  });

  it('answers BIND and UDP ASSOCIATE with 0x07', async () => {
    for (const command of [2, 3]) {
      const { reader, reply } = await socks({ host: 'echo.allium.test', port: echo.port, command });
      expect(reply[1]).toBe(0x07);
      await reader.rest(); // and closes
    }
    await stillServing();
  });

  it.each([
    ['policy.test', 'EXIT_POLICY_REFUSED', 0x02],
    ['nxdomain.test', 'DESTINATION_RESOLVE_ERROR', 0x04],
    ['refused.test', 'DESTINATION_CONNECTION_ERROR', 0x05],
    ['timeout.test', 'TIMEOUT_ERROR', 0x06],
    ['protocol.test', 'PROTOCOL_ERROR', 0x01],
    ['hop.test', 'HOP_UNREACHABLE', 0x01],
    ['unknown.test', 'DESTINATION_RESOLVE_ERROR (no such name)', 0x04],
  ] as [string, ReasonName, number][])('maps a refusal for %s (%s) to reply 0x%i', async (host, _code, expected) => {
    const { reader, reply } = await socks({ host, port: 80 });
    expect(reply).toEqual([5, expected, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(await closedBy(reader)).toEqual([]);
  });

  it('answers TTL expired (0x06) when the stream takes longer than the connect timeout', async () => {
    const started = Date.now();
    const { reply } = await socks({ host: 'hang.test', port: 80 });
    expect(reply[1]).toBe(0x06);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('abandons the attempt when the client leaves while its stream is being opened', async () => {
    const before = opener.calls.length;
    const socket = await tcpConnect(proxy.socks!);
    const { greeting, request } = requestBytes({ host: 'hang.test', port: 80 });
    socket.write(Buffer.concat([greeting, request]));
    await expect.poll(() => opener.calls.length).toBe(before + 1);
    const signal = opener.signals[before]!;
    expect(signal.aborted).toBe(false);
    socket.destroy();
    await expect.poll(() => signal.aborted).toBe(true);
  });

  it('parses a handshake delivered one byte per TCP write', async () => {
    const socket = await tcpConnect(proxy.socks!);
    socket.setNoDelay(true);
    const reader = new SocketReader(socket);
    const { greeting, auth, request } = requestBytes({ host: 'echo.allium.test', port: echo.port, auth: ['u', 'p'] });
    for (const byte of Buffer.concat([greeting, auth!, request])) {
      socket.write(Uint8Array.of(byte));
      await sleep(2);
    }
    expect([...(await reader.read(2 + 2 + 10))]).toEqual([5, 2, 1, 0, ...SUCCEEDED]);
    expect(await roundTrip(socket, reader, 'slowly')).toBe('slowly');
    socket.destroy();
  });

  it('passes on data sent together with the request (optimistic data)', async () => {
    const socket = await tcpConnect(proxy.socks!);
    const reader = new SocketReader(socket);
    const { greeting, request } = requestBytes({ host: 'echo.allium.test', port: echo.port });
    socket.write(Buffer.concat([greeting, request, Buffer.from('early bytes')]));
    expect([...(await reader.read(12))]).toEqual([5, 0, ...SUCCEEDED]);
    expect((await reader.read(11)).toString()).toBe('early bytes');
    socket.destroy();
  });

  it.each([
    ['HTTP bytes', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), []],
    ['SOCKS4', Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0]), [0, 0x5b, 0, 0, 0, 0, 0, 0]],
    ['random bytes', Buffer.from([5, 1, 0, 5, 1, 0, 0xee, 1, 2, 3]), [5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['an oversized flood after a bad greeting', Buffer.concat([Buffer.from([5, 0]), Buffer.alloc(4 << 20, 0x41)]), [5, 0xff]],
  ])('closes a connection sending %s, and keeps serving', async (_, input, expected) => {
    const socket = await tcpConnect(proxy.socks!);
    const reader = new SocketReader(socket);
    socket.write(input);
    expect(await closedBy(reader)).toEqual(expected);
    await stillServing();
  });

  it('closes a truncated handshake when the client ends it, and after the handshake timeout', async () => {
    const ended = await tcpConnect(proxy.socks!);
    const endedReader = new SocketReader(ended);
    ended.end(Buffer.from([5, 1, 0, 5, 1, 0, 3, 20, 0x61]));
    expect(await closedBy(endedReader)).toEqual([5, 0]);

    const silent = await tcpConnect(proxy.socks!);
    const started = Date.now();
    const silentReader = new SocketReader(silent);
    silent.write(Buffer.from([5, 1]));
    expect(await closedBy(silentReader)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    await stillServing();
  });

  it('resets the destination when the client resets, and the client when the destination resets', async () => {
    const first = await socks({ host: 'echo.allium.test', port: echo.port });
    const destination = opener.sockets.at(-1)!;
    const destinationClosed = new Promise((resolve) => destination.once('close', resolve));
    first.socket.resetAndDestroy();
    await destinationClosed;

    const second = await socks({ host: 'echo.allium.test', port: echo.port });
    const clientError = new Promise<string>((resolve) => second.socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? '')));
    opener.sockets.at(-1)!.resetAndDestroy();
    expect(await clientError).toBe('ECONNRESET');
  });

  it('close() ends client connections', async () => {
    const own = await startProxy({ opener, socks: { port: 0 }, log: quiet });
    const socket = await tcpConnect(own.socks!);
    const reader = new SocketReader(socket);
    socket.write(Buffer.from([5, 1, 0]));
    await reader.read(2);
    await own.close();
    await reader.rest();
    expect(socket.readableEnded || socket.destroyed).toBe(true);
  });
});
