// The SOCKS5 front end: one Socks5Parser per client connection, then a spliced stream through
// the circuit. Credentials only select the isolation key.
import { createServer, type Server, type Socket } from 'node:net';
import { errorMessage } from '../node/log.ts';
import { isTpdpError } from '../shared/errors.ts';
import { collectEarlyData } from './early-data.ts';
import { endWith } from './end-with.ts';
import type { FrontEndOptions } from './front-end-options.ts';
import { isolationKey, type Credentials } from './isolation-key.ts';
import { openStream } from './open-stream.ts';
import { splice } from './splice.ts';
import { Socks5Parser } from './socks5-parser.ts';
import { SOCKS5_REPLY, socks5Reply, socks5ReplyCodeFor } from './socks5-reply.ts';

const AUTH_SUCCEEDED = Uint8Array.of(0x01, 0x00);

export function createSocks5Server(options: FrontEndOptions): Server {
  // Half-open: a client may send its last bytes and FIN while the answer is still coming.
  return createServer({ allowHalfOpen: true, noDelay: true }, (socket) => serveSocks5(socket, options));
}

function serveSocks5(socket: Socket, options: FrontEndOptions): void {
  const log = options.log;
  // The client's address goes in a field node/log.ts scrubs unless --log-sensitive.
  log.debug('SOCKS5 connection', { client: `${socket.remoteAddress}:${socket.remotePort}` });
  socket.on('error', (err) => log.debug('SOCKS5 client connection error', { error: err.message }));
  const timer = setTimeout(() => {
    log.debug('SOCKS5 handshake timed out');
    socket.destroy();
  }, options.handshakeTimeoutMs);
  socket.once('close', () => clearTimeout(timer));

  const parser = new Socks5Parser();
  let credentials: Credentials | undefined;
  // A client that ends its side before finishing the handshake will never finish it: close ours
  // too (gracefully, so a reply already written still arrives).
  const onEnd = () => {
    log.debug('SOCKS5 client ended its side during the handshake');
    socket.end();
  };
  socket.once('end', onEnd);
  const onData = (chunk: Buffer) => {
    for (const event of parser.push(chunk)) {
      if (event.type === 'method') socket.write(Uint8Array.of(0x05, event.method));
      else if (event.type === 'credentials') {
        credentials = { username: event.username, password: event.password };
        socket.write(AUTH_SUCCEEDED);
      } else if (event.type === 'refuse') {
        log.debug('SOCKS5 handshake refused', { reason: event.reason });
        if (event.reply) endWith(socket, event.reply);
        else socket.destroy();
      } else {
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('end', onEnd);
        connect(socket, event.host, event.port, event.rest, isolationKey('socks5', credentials), options).catch((err: unknown) => {
          log.warn('SOCKS5 connect failed unexpectedly', { error: errorMessage(err) });
          socket.destroy();
        });
      }
    }
  };
  socket.on('data', onData);
}

async function connect(socket: Socket, host: string, port: number, rest: Uint8Array, key: string, options: FrontEndOptions): Promise<void> {
  const log = options.log;
  const early = collectEarlyData(socket, [rest]);
  const gone = new AbortController();
  socket.once('close', () => gone.abort(new Error('the client closed its connection')));
  try {
    const stream = await openStream(options.opener, host, port, { isolationKey: key, signal: gone.signal, timeoutMs: options.connectTimeoutMs });
    socket.write(socks5Reply(SOCKS5_REPLY.SUCCEEDED));
    splice(socket, stream, early(), (err) => {
      if (err) log.debug('SOCKS5 stream ended with an error', { error: err.message });
    });
  } catch (err) {
    if (socket.destroyed) return;
    // Destinations are only logged at debug level: the proxy's logs should not be a browsing history.
    log.debug('SOCKS5 connect failed', { code: isTpdpError(err) ? err.code : undefined, error: errorMessage(err), host, port });
    endWith(socket, socks5Reply(socks5ReplyCodeFor(err)));
  }
}
