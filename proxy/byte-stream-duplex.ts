// A ByteStream seen as a Node Duplex, for node:stream pipes and node:http. Backpressure is the
// web streams' own (writes wait for the writer to be ready, reads pull on demand); each direction
// ends on its own (half-close), and destroying the Duplex aborts the ByteStream.
import { Duplex } from 'node:stream';
import type { ByteStream } from './stream-opener.ts';

export function byteStreamDuplex(stream: ByteStream): Duplex {
  const duplex = Duplex.fromWeb({ readable: stream.readable, writable: stream.writable }, { allowHalfOpen: true });
  // An implementation may report a reset only through `closed`.
  stream.closed.catch((err: unknown) => duplex.destroy(err instanceof Error ? err : new Error(String(err))));
  duplex.once('close', () => void stream.close().catch(() => {}));
  return duplex;
}
