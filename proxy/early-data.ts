// What a client sends while its stream is still being opened (optimistic data, or the rest of a
// TCP read). Reading continues during the wait so that a client closing or resetting its
// connection is noticed at once, but only up to a limit: past it the socket is paused and TCP
// flow control holds the client back.
import type { Socket } from 'node:net';

export const EARLY_DATA_LIMIT = 64 * 1024;

/** Starts collecting; the returned function stops and hands over what was collected. */
export function collectEarlyData(socket: Socket, first: Uint8Array[]): () => Uint8Array[] {
  const chunks = first.filter((chunk) => chunk.length > 0);
  let size = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EARLY_DATA_LIMIT) socket.pause();
  };
  if (size >= EARLY_DATA_LIMIT) socket.pause();
  socket.on('data', onData);
  return () => {
    socket.off('data', onData);
    return chunks;
  };
}
