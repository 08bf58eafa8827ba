// Ends a client connection after a last message (an error reply). What the client still sends is
// read and dropped for a moment: closing a TCP socket with unread input makes the kernel send a
// reset, which can destroy the reply before the client has read it.
import type { Socket } from 'node:net';

export const LINGER_MS = 2000;

export function endWith(socket: Socket, message: Uint8Array | string): void {
  socket.removeAllListeners('data');
  socket.end(message);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  socket.once('close', () => clearTimeout(timer));
}
