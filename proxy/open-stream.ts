// Opens a stream for a client that may give up or wait forever: the attempt is abandoned when
// the client goes away or the connect time limit passes, even if the opener ignores its signal.
import { TpdpError } from '../shared/errors.ts';
import type { ByteStream, StreamOpener } from './stream-opener.ts';

export interface OpenStreamOptions {
  isolationKey: string;
  /** Aborted when the client is gone. */
  signal: AbortSignal;
  timeoutMs: number;
}

export function openStream(opener: StreamOpener, host: string, port: number, options: OpenStreamOptions): Promise<ByteStream> {
  // The signal the opener sees covers the attempt only: once the stream is open it never fires,
  // so an opener that ties the stream's life to it cannot cut a long tunnel.
  const attempt = new AbortController();
  return new Promise<ByteStream>((resolve, reject) => {
    let settled = false;
    const settle = () => {
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onGone);
    };
    const giveUp = (reason: unknown) => {
      if (settled) return;
      settle();
      attempt.abort(reason);
      reject(reason);
    };
    const timer = setTimeout(() => giveUp(new TpdpError('TIMEOUT_ERROR', `no connection to ${host}:${port} within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
    const onGone = () => giveUp(options.signal.reason);
    if (options.signal.aborted) return onGone();
    options.signal.addEventListener('abort', onGone, { once: true });
    Promise.resolve()
      .then(() => opener.connect(host, port, { isolationKey: options.isolationKey, signal: attempt.signal }))
      .then(
        (stream) => {
          // Nobody is waiting for a stream that arrives too late: release it.
          if (settled) return void stream.close().catch(() => {});
          settle();
          resolve(stream);
        },
        (err: unknown) => {
          if (settled) return;
          settle();
          reject(err);
        },
      );
  });
}
