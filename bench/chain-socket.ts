// What the bare-chain processes share: a `ws` server and client configured as TPDP links are
// (no compression), and forwarding that respects backpressure: the upstream socket is paused
// while the downstream one has more than HIGH_WATER bytes unsent, as a well-behaved proxy does.
import WebSocket, { WebSocketServer } from 'ws';

const MAX_PAYLOAD = 1 << 20;
export const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 64 * 1024;

export function listenWebSocket(onConnection: (socket: WebSocket) => void): Promise<WebSocketServer> {
  return new Promise((resolve) => {
    const server: WebSocketServer = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: MAX_PAYLOAD }, () => resolve(server));
    server.on('connection', onConnection);
  });
}

export function openWebSocket(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends on `to`, pausing `from` until `to` has drained below LOW_WATER. */
export function forwardWithBackpressure(from: WebSocket, to: WebSocket, data: Buffer): void {
  to.send(data, () => {
    if (from.isPaused && to.bufferedAmount < LOW_WATER) from.resume();
  });
  if (!from.isPaused && to.bufferedAmount > HIGH_WATER) from.pause();
}
