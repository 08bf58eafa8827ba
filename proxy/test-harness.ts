// Test harness for the proxy front ends only (the lead tests the real circuit path): an opener
// that connects directly with node:net, local destination servers, and a byte reader for
// scripting clients. Nothing here runs in production.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { connect, createServer, isIP, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TpdpError, type ReasonName } from '../shared/errors.ts';
import type { ByteStream, StreamOpener } from './stream-opener.ts';

export interface OpenerCall {
  host: string;
  port: number;
  isolationKey: string;
}

export interface TestOpener extends StreamOpener {
  calls: OpenerCall[];
  /** Destination-side sockets, to reset them or watch them close. */
  sockets: Socket[];
  /** The signal of each call, in order. */
  signals: (AbortSignal | undefined)[];
}

export interface TestOpenerOptions {
  /** Fake names the "exit" resolves; any other name fails as DESTINATION_RESOLVE_ERROR, which
   * shows that names reach the opener unresolved. */
  names?: Record<string, string>;
  /** Hosts the opener refuses with the given code. */
  refuse?: Record<string, ReasonName>;
  /** Hosts for which connect never settles unless aborted. */
  hang?: string[];
}

export function createTestOpener(options: TestOpenerOptions = {}): TestOpener {
  const calls: OpenerCall[] = [];
  const sockets: Socket[] = [];
  const signals: (AbortSignal | undefined)[] = [];
  return {
    calls,
    sockets,
    signals,
    async connect(host, port, { isolationKey = '', signal } = {}) {
      calls.push({ host, port, isolationKey });
      signals.push(signal ?? undefined);
      const refused = options.refuse?.[host];
      if (refused) throw new TpdpError(refused);
      if (options.hang?.includes(host)) {
        return new Promise<ByteStream>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
      }
      const address = isIP(host) ? host : options.names?.[host];
      if (!address) throw new TpdpError('DESTINATION_RESOLVE_ERROR');
      const socket = connect({ host: address, port, allowHalfOpen: true });
      try {
        await once(socket, 'connect');
      } catch (err) {
        throw new TpdpError('DESTINATION_CONNECTION_ERROR', (err as Error).message);
      }
      socket.on('error', () => {});
      sockets.push(socket);
      return socketByteStream(socket);
    },
  };
}

function socketByteStream(socket: Socket): ByteStream {
  const { readable, writable } = Duplex.toWeb(socket) as { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
  const closed = new Promise<void>((resolve, reject) => {
    socket.once('close', (hadError) => (hadError ? reject(new TpdpError('DESTINATION_CONNECTION_ERROR', 'reset')) : resolve()));
  });
  closed.catch(() => {});
  return {
    readable,
    writable,
    closed,
    close: async () => {
      socket.destroy();
    },
  };
}

/** A TCP echo server that passes half-closes on. */
export async function startEchoServer(): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  return { server, port: await listen(server) };
}

export interface OriginServer {
  server: HttpServer;
  port: number;
  /** Raw headers of every request received, in order. */
  requests: { method: string; url: string; rawHeaders: string[] }[];
}

/**
 * GET /hello → fixed text with a few headers; POST /echo → the request body back;
 * GET /big?n=BYTES → that many deterministic bytes, chunked.
 */
export async function startOriginServer(): Promise<OriginServer> {
  const requests: OriginServer['requests'] = [];
  const server = createHttpServer(async (req: IncomingMessage, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders });
    const url = new URL(req.url ?? '/', 'http://origin');
    if (url.pathname === '/echo') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length, 'X-Method': req.method });
      res.end(body);
    } else if (url.pathname === '/big') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(patternBytes(Number(url.searchParams.get('n'))));
    } else {
      res.writeHead(200, { 'Content-Type': 'text/plain', 'X-Origin': 'yes', 'Keep-Alive': 'timeout=5', Connection: 'keep-alive, x-secret', 'X-Secret': 'hop' });
      res.end('hello from origin\n');
    }
  });
  return { server, port: await listen(server), requests };
}

/** Deterministic, non-repeating-looking bytes, so misordered or lost chunks change the hash. */
export function patternBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function listen(server: Server | HttpServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/** Reads exact byte counts from a socket, for scripting protocol exchanges. */
export class SocketReader {
  private buffered = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  readonly socket: Socket;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    const end = () => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', () => {});
  }

  /** Exactly n bytes; rejects if the connection ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.ended) throw new Error(`connection ended after ${this.buffered.length} of ${n} bytes`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Everything until the connection ends. */
  async rest(): Promise<Buffer> {
    while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    const out = this.buffered;
    this.buffered = Buffer.alloc(0);
    return out;
  }
}

export async function tcpConnect(address: string): Promise<Socket> {
  const colon = address.lastIndexOf(':');
  const socket = connect({ host: address.slice(0, colon), port: Number(address.slice(colon + 1)), allowHalfOpen: true });
  await once(socket, 'connect');
  return socket;
}
