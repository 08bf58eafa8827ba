// The HTTP proxy front end: CONNECT tunnels and absolute-URI requests over streams through the
// circuit. node:http parses the client side, with its header size limit and header timeout.
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { errorMessage } from '../node/log.ts';
import { collectEarlyData } from './early-data.ts';
import { endWith } from './end-with.ts';
import type { FrontEndOptions } from './front-end-options.ts';
import { fail, forwardRequest, sendText } from './http-forward.ts';
import { httpFailure } from './http-failure.ts';
import { absoluteTarget, connectTarget, type Target } from './http-target.ts';
import { isolationKey, proxyAuthorizationCredentials } from './isolation-key.ts';
import { openStream } from './open-stream.ts';
import { splice } from './splice.ts';

/** Node's default; a request line plus headers beyond it is answered 431 and closed. */
export const MAX_HEADER_SIZE = 16 * 1024;

export function createHttpProxyServer(options: FrontEndOptions): Server {
  const server = createServer({
    maxHeaderSize: MAX_HEADER_SIZE,
    headersTimeout: options.handshakeTimeoutMs,
    // How often node enforces headersTimeout (default 30 s, which would triple a 10 s limit).
    connectionsCheckingInterval: 1000,
    // Bodies stream to a slow circuit at its pace; the header timeout guards the handshake.
    requestTimeout: 0,
  });
  // The client's address goes in a field node/log.ts scrubs unless --log-sensitive.
  server.on('connection', (socket: Socket) => options.log.debug('HTTP proxy connection', { client: `${socket.remoteAddress}:${socket.remotePort}` }));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let target;
    try {
      target = absoluteTarget(req.url ?? '');
    } catch (err) {
      return sendText(res, 400, `${errorMessage(err)}\n`);
    }
    forwardRequest(req, res, target, keyFor(req), { ...options, maxHeaderSize: MAX_HEADER_SIZE }).catch((err: unknown) => {
      options.log.warn('HTTP proxy request failed unexpectedly', { error: errorMessage(err) });
      fail(res, err);
    });
  });
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    tunnel(req, socket, head, options).catch((err: unknown) => {
      options.log.warn('HTTP CONNECT failed unexpectedly', { error: errorMessage(err) });
      socket.destroy();
    });
  });
  return server;
}

function keyFor(req: IncomingMessage): string {
  return isolationKey('http', proxyAuthorizationCredentials(req.headers['proxy-authorization']));
}

async function tunnel(req: IncomingMessage, socket: Socket, head: Buffer, options: FrontEndOptions): Promise<void> {
  const log = options.log;
  socket.on('error', (err) => log.debug('HTTP CONNECT client connection error', { error: err.message }));
  let target: Target;
  try {
    target = connectTarget(req.url ?? '');
  } catch (err) {
    return endWith(socket, response(400, `${errorMessage(err)}\n`));
  }
  const early = collectEarlyData(socket, [head]);
  const gone = new AbortController();
  socket.once('close', () => gone.abort(new Error('the client closed its connection')));
  try {
    const stream = await openStream(options.opener, target.host, target.port, {
      isolationKey: keyFor(req),
      signal: gone.signal,
      timeoutMs: options.connectTimeoutMs,
    });
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    splice(socket, stream, early(), (err) => {
      if (err) log.debug('HTTP CONNECT tunnel ended with an error', { error: err.message });
    });
  } catch (err) {
    if (socket.destroyed) return;
    log.debug('HTTP CONNECT failed', { error: errorMessage(err), host: target.host, port: target.port });
    const { status, body } = httpFailure(err);
    endWith(socket, response(status, body));
  }
}

/** A complete response written by hand: after CONNECT the socket no longer belongs to node:http. */
function response(status: number, body: string): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
