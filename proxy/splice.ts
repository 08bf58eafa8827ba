// Joins a client's TCP connection to a stream through the circuit, both ways, with TCP's
// semantics kept: a FIN (end) on either side is passed on as a half-close, and a failure on
// either side resets the other.
import type { Socket } from 'node:net';
import { byteStreamDuplex } from './byte-stream-duplex.ts';
import type { ByteStream } from './stream-opener.ts';

/**
 * `early` holds what the client sent before the stream was open; it goes first. The socket
 * must allow half-open connections, so a client's FIN does not also close its reading side.
 * `done` is called once the stream is closed, with the error that ended it if any.
 */
export function splice(socket: Socket, stream: ByteStream, early: Uint8Array[], done: (err: Error | null) => void): void {
  const remote = byteStreamDuplex(stream);
  let failure: Error | null = null;
  // The client sees a reset rather than a clean FIN that would pass a cut transfer off as complete.
  remote.once('error', (err) => {
    failure = err;
    socket.resetAndDestroy();
  });
  remote.once('close', () => done(failure));
  socket.once('error', (err) => remote.destroy(err));
  socket.once('close', () => {
    // After a clean end both ways the stream finishes on its own (destroying it now could drop
    // its last queued bytes); anything else is an abort.
    if (!socket.readableEnded || !socket.writableFinished) remote.destroy(new Error('the client connection closed'));
  });
  for (const chunk of early) remote.write(chunk);
  socket.pipe(remote);
  remote.pipe(socket);
}
