// A circuit stream as web streams ({readable, writable, closed, close()}, the shape of
// Cloudflare's connect() sockets): what client.connect() returns in Node and in the extension.
import { TpdpError } from '../errors.ts';
import type { CircuitStream } from '../stream.ts';

export interface ByteStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Settles when the stream is over: resolves on a clean close, rejects with a TpdpError. */
  closed: Promise<void>;
  close(): Promise<void>;
}

export function toByteStream(stream: CircuitStream): ByteStream {
  const queue: Uint8Array[] = [];
  let finished = false;
  let error: TpdpError | undefined;
  let wake: (() => void) | undefined;
  let writableWait: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  let resolveClosed!: () => void;
  let rejectClosed!: (err: Error) => void;
  const closed = new Promise<void>((resolve, reject) => {
    resolveClosed = resolve;
    rejectClosed = reject;
  });
  closed.catch(() => {});

  stream.onData = (chunk) => {
    queue.push(chunk);
    notify();
  };
  stream.onFinish = () => {
    finished = true;
    notify();
  };
  stream.onWritable = () => {
    writableWait?.resolve();
    writableWait = undefined;
  };
  stream.onClose = (err) => {
    finished = true;
    error = err;
    notify();
    writableWait?.reject(err ?? new TpdpError('DONE', 'stream closed'));
    writableWait = undefined;
    if (err) rejectClosed(err);
    else resolveClosed();
  };

  const readable = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (queue.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
        const chunk = queue.shift();
        if (chunk) {
          controller.enqueue(chunk);
          // Acknowledge only what the reader took: a slow reader holds the sender back.
          stream.consumed();
        } else if (error) controller.error(error);
        else controller.close();
      },
      cancel() {
        stream.close('DONE');
      },
    },
    { highWaterMark: 0 },
  );

  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      if (error || stream.state === 'closed') throw error ?? new TpdpError('DONE', 'stream closed');
      if (stream.write(chunk)) return;
      await new Promise<void>((resolve, reject) => (writableWait = { resolve, reject }));
    },
    close() {
      stream.finish();
    },
    abort() {
      stream.close('DONE');
    },
  });

  return {
    readable,
    writable,
    closed,
    async close() {
      stream.close('DONE');
    },
  };
}
