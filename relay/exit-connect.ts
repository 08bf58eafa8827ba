// A `connect` stream at the exit: TCP to the checked address, bytes spliced both ways with the
// circuit's flow control (the socket is paused while the stream's windows are closed, and a cell
// is acknowledged only once the socket has taken it).
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { UNLIMITED, type BandwidthLimiter } from '../node/bandwidth-limiter.ts';
import type { Logger } from '../node/log.ts';
import { isTpdpError, TpdpError } from '../shared/errors.ts';
import type { CircuitStream } from '../shared/stream.ts';
import type { ExitPolicy } from './exit-policy.ts';

export interface ExitContext {
  policy: ExitPolicy;
  /** Source address of outbound connections (the relay's exit address). */
  localAddress?: string;
  connectTimeoutMs: number;
  /** The relay's bandwidth limit, which what destinations send counts against. */
  bandwidth?: BandwidthLimiter;
}

/** The configured source address, if it has the destination's address family. */
export function localAddressFor(context: ExitContext, family: 4 | 6): string | undefined {
  return context.localAddress && (family === 6) === context.localAddress.includes(':') ? context.localAddress : undefined;
}

export async function openTcp(context: ExitContext, host: string, port: number): Promise<Socket> {
  context.policy.checkPort(port);
  const { address, family } = await context.policy.resolve(host);
  const localAddress = localAddressFor(context, family);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, localAddress, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TpdpError('TIMEOUT_ERROR', `no TCP connection to ${host}:${port} within ${context.connectTimeoutMs} ms`));
    }, context.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TpdpError('DESTINATION_CONNECTION_ERROR', `cannot connect to ${host}:${port}: ${err.code ?? err.message}`));
    });
  });
}

/**
 * Feeds what a destination sends into `stream`. The source is paused while the stream's windows
 * are closed or while the relay's bandwidth is spent, and resumes only once neither holds it.
 */
export function feedStream(source: Readable, stream: CircuitStream, bandwidth: BandwidthLimiter = UNLIMITED): void {
  let full = false;
  const reading = bandwidth.register({
    pause: () => source.pause(),
    resume: () => {
      if (!full) source.resume();
    },
  });
  stream.onWritable = () => {
    full = false;
    if (!reading.throttled) source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    reading.read(chunk.length);
    if (!stream.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) {
      full = true;
      source.pause();
    }
  });
  source.once('close', () => reading.detach());
}

/** Joins a circuit stream and a socket until either side ends. */
export function spliceSocket(stream: CircuitStream, socket: Socket, bandwidth?: BandwidthLimiter): void {
  stream.onData = (chunk) => {
    socket.write(chunk, () => stream.consumed());
  };
  stream.onFinish = () => socket.end();
  stream.onClose = () => socket.destroy();
  feedStream(socket, stream, bandwidth);
  socket.on('end', () => stream.finish());
  socket.on('error', () => stream.close('DESTINATION_CONNECTION_ERROR'));
  socket.on('close', () => {
    if (stream.state !== 'closed') stream.finish();
  });
}

export async function serveConnect(context: ExitContext, stream: CircuitStream, host: string, port: number, log: Logger): Promise<void> {
  let socket: Socket;
  try {
    socket = await openTcp(context, host, port);
  } catch (err) {
    const reason = isTpdpError(err) ? err.code : 'DESTINATION_CONNECTION_ERROR';
    log.debug('exit connect failed', { reason, error: (err as Error).message, destination: `${host}:${port}` });
    stream.close(reason, (err as Error).message);
    return;
  }
  if (stream.state === 'closed') {
    socket.destroy();
    return;
  }
  spliceSocket(stream, socket, context.bandwidth);
  stream.accept();
}
