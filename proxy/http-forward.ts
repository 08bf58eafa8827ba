// Absolute-URI requests (GET http://host/path): one stream through the circuit per request, with
// node:http writing the HTTP/1.1 framing on it. Bodies stream both ways, never buffered whole.
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { errorMessage } from '../node/log.ts';
import { isTpdpError, TpdpError } from '../shared/errors.ts';
import { byteStreamDuplex } from './byte-stream-duplex.ts';
import type { FrontEndOptions } from './front-end-options.ts';
import { httpFailure } from './http-failure.ts';
import { endToEndHeaders } from './http-headers.ts';
import type { AbsoluteTarget } from './http-target.ts';
import { openStream } from './open-stream.ts';

export async function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: AbsoluteTarget,
  key: string,
  options: FrontEndOptions & { maxHeaderSize: number },
): Promise<void> {
  options.log.debug('HTTP proxy request', { method: req.method, target: `${target.authority}${target.path}` });
  const gone = new AbortController();
  res.once('close', () => gone.abort(new Error('the client closed its connection')));
  let stream;
  try {
    stream = await openStream(options.opener, target.host, target.port, { isolationKey: key, signal: gone.signal, timeoutMs: options.connectTimeoutMs });
  } catch (err) {
    options.log.debug('HTTP proxy connect failed', { error: errorMessage(err), host: target.host, port: target.port });
    return fail(res, err);
  }
  const remote = byteStreamDuplex(stream);
  // However the exchange ends, the stream is not reused (one request per stream).
  res.once('close', () => remote.destroy());
  const upstream = request({
    method: req.method,
    path: target.path,
    // The URI's authority replaces the client's Host; hop-by-hop headers stay on this hop; and
    // the origin closes its end once done, since the stream is not reused.
    headers: ['Host', target.authority, ...endToEndHeaders(req.rawHeaders, ['host']), 'Connection', 'close'],
    createConnection: () => remote,
    maxHeaderSize: options.maxHeaderSize,
  });
  upstream.on('response', (response: IncomingMessage) => {
    res.sendDate = false; // the origin's headers as they are, no Date added
    res.writeHead(response.statusCode ?? 502, response.statusMessage, endToEndHeaders(response.rawHeaders));
    response.pipe(res);
    // A body cut short by the origin or the circuit must not look complete to the client.
    response.once('error', () => res.destroy());
  });
  upstream.on('error', (err) => {
    options.log.debug('HTTP proxy request failed', { error: err.message });
    fail(res, isTpdpError(err) ? err : new TpdpError('PROTOCOL_ERROR', `no valid HTTP response from the destination (${err.message})`));
  });
  req.pipe(upstream);
}

/** An error response if nothing was sent yet, else a cut connection. */
export function fail(res: ServerResponse, err: unknown): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const { status, body } = httpFailure(err);
  // The request body may be left unread: the connection cannot carry another request.
  res.setHeader('Connection', 'close');
  sendText(res, status, body);
}

export function sendText(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
