// `allium proxy --control P`: a small HTTP API on loopback for the Firefox extension, which routes
// each anonymous tab through the SOCKS5 front end with credentials of its own and shows the tab's
// circuit in its popup. Credentials select isolation keys exactly as the SOCKS5 front end does
// (proxy/isolation-key.ts), so the API speaks of the very circuit those credentials get.
//
//   GET  /v1/status                               → {socks, http, pools, relays, error?}
//   GET  /v1/circuit?username=U&password=P        → CircuitInfo (control-circuits.ts)
//   POST /v1/circuit      {username, password, host?} builds the circuit now → CircuitInfo
//   POST /v1/new-circuit  {username, password}    later streams get a new circuit → CircuitInfo
//
// Every request needs `Authorization: Bearer <token>` and is refused to web pages (control-guard.ts).
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorMessage, type Logger } from '../node/log.ts';
import { isPrivateDestination } from '../shared/address-ranges.ts';
import { CircuitWatch, type ControlClient } from './control-circuits.ts';
import { controlRefusal } from './control-guard.ts';
import { isolationKey } from './isolation-key.ts';

export interface ControlOptions {
  client: ControlClient;
  /** 0 picks a free port. The endpoint always listens on 127.0.0.1. */
  port: number;
  token: string;
  log: Logger;
  /** What /v1/status reports: the front ends' addresses and the pools' URLs. */
  socks?: string;
  http?: string;
  pools: string[];
}

export interface RunningControl {
  /** http://127.0.0.1:P */
  url: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_BODY = 4096;
/** RFC 1929: each of username and password is 1 to 255 bytes. */
const MAX_CREDENTIAL = 255;
/** /v1/status waits this long for a relay list before answering without one. */
const STATUS_WAIT_MS = 5_000;

class BadRequest extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

export async function startControl(options: ControlOptions): Promise<RunningControl> {
  const { client, log } = options;
  const watch = new CircuitWatch(client);
  let port = 0;
  const server = createServer({ headersTimeout: 5_000, requestTimeout: 10_000, maxHeaderSize: 8192 }, (req, res) => {
    const refusal = controlRefusal(req.method, req.headers, port, options.token);
    if (refusal) {
      log.debug('control request refused', { status: refusal.status, reason: refusal.message });
      req.resume();
      return reply(res, refusal.status, { error: refusal.message }, refusal.headers);
    }
    route(req).then(
      (body) => reply(res, 200, body),
      (err: unknown) => {
        const status = err instanceof BadRequest ? err.status : 500;
        if (status === 500) log.warn('control request failed', { error: errorMessage(err) });
        reply(res, status, { error: errorMessage(err) });
      },
    );
  });
  server.maxConnections = 64;

  async function route(req: IncomingMessage): Promise<unknown> {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const endpoint = `${req.method} ${url.pathname}`;
    switch (endpoint) {
      case 'GET /v1/status':
        return status();
      case 'GET /v1/circuit':
        return watch.info(keyOf(url.searchParams.get('username'), url.searchParams.get('password')));
      case 'POST /v1/circuit': {
        const body = await jsonBody(req);
        const key = keyOf(body.username, body.password);
        const host = typeof body.host === 'string' ? body.host : '';
        // A failed build is reported in the answer, as the circuit's state.
        await client.prepareCircuit(key, host !== '' && isPrivateDestination(host)).catch(() => {});
        return watch.info(key);
      }
      case 'POST /v1/new-circuit': {
        const body = await jsonBody(req);
        const key = keyOf(body.username, body.password);
        client.newCircuit(key);
        return watch.info(key);
      }
      default:
        req.resume();
        throw new BadRequest(`no such endpoint: ${endpoint}`, 404);
    }
  }

  async function status(): Promise<unknown> {
    const front = { socks: options.socks ?? null, http: options.http ?? null, pools: options.pools };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no relay list yet')), STATUS_WAIT_MS)));
    try {
      return { ...front, relays: (await Promise.race([client.relays(), timeout])).length };
    } catch (err) {
      return { ...front, relays: null, error: errorMessage(err) };
    } finally {
      clearTimeout(timer);
    }
  }

  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(options.port, HOST);
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
  const url = `http://${HOST}:${port}`;
  log.info('control endpoint listening', { url });
  return {
    url,
    async close() {
      watch.stop();
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The SOCKS5 front end's key for these credentials, as given in UTF-8 by the SOCKS client. */
function keyOf(username: unknown, password: unknown): string {
  if (typeof username !== 'string' || typeof password !== 'string') throw new BadRequest('username and password are required');
  const encoder = new TextEncoder();
  const credentials = { username: encoder.encode(username), password: encoder.encode(password) };
  for (const part of Object.values(credentials)) {
    if (part.length === 0 || part.length > MAX_CREDENTIAL) throw new BadRequest(`SOCKS5 credentials are 1 to ${MAX_CREDENTIAL} bytes each`);
  }
  return isolationKey('socks5', credentials);
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  // Only JSON: the form and text types that browsers send without a preflight are refused too.
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    req.resume();
    throw new BadRequest('the body must be application/json', 415);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BadRequest('body too large', 413);
    chunks.push(chunk);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (body !== null && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // Answered below.
  }
  throw new BadRequest('the body must be a JSON object');
}

function reply(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}
