// WebSockets for Node: `ws` (with bufferutil for masking speed), configured for TPDP links.
import { isIPv6 } from 'node:net';
import WebSocket from 'ws';
import { MAX_MESSAGE_SIZE } from '../shared/cell.ts';
import type { WebSocketFactory, WebSocketLike } from '../shared/websocket-link.ts';

export interface NodeWebSocketOptions {
  /** Source address for outbound links (a relay's --outbound address). */
  localAddress?: string;
  /** Opening handshake bound. */
  handshakeTimeoutMs?: number;
}

export function nodeWebSocketFactory(options: NodeWebSocketOptions = {}): WebSocketFactory {
  // A source address only works toward its own family: resolve relay names in that family too.
  const family = options.localAddress === undefined ? undefined : isIPv6(options.localAddress) ? 6 : 4;
  return (url, protocols) =>
    new WebSocket(url, protocols, {
      localAddress: options.localAddress,
      family,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      maxPayload: MAX_MESSAGE_SIZE,
      // Cells are encrypted, hence incompressible; compression would only cost CPU and leak sizes.
      perMessageDeflate: false,
    }) as unknown as WebSocketLike;
}
