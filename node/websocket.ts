// WebSockets for Node: `ws` (with bufferutil for masking speed), configured for TPDP links.
import { isIPv6 } from 'node:net';
import WebSocket from 'ws';
import { MAX_MESSAGE_SIZE } from '../shared/cell.ts';
import type { WebSocketFactory, WebSocketLike } from '../shared/websocket-link.ts';
import { trustedCertificates, untrustedCertificateMessage } from './tls-trust.ts';

export interface NodeWebSocketOptions {
  /** Source address for outbound links (a relay's --outbound address). */
  localAddress?: string;
  /** Opening handshake bound. */
  handshakeTimeoutMs?: number;
  /** PEM certificates trusted for wss:// on top of the system's (--ca). */
  ca?: readonly string[];
}

export function nodeWebSocketFactory(options: NodeWebSocketOptions = {}): WebSocketFactory {
  // A source address only works toward its own family: resolve relay names in that family too.
  const family = options.localAddress === undefined ? undefined : isIPv6(options.localAddress) ? 6 : 4;
  const ca = options.ca && trustedCertificates(options.ca);
  return (url, protocols) => {
    const socket = new WebSocket(url, protocols, {
      localAddress: options.localAddress,
      family,
      ca,
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      maxPayload: MAX_MESSAGE_SIZE,
      // Cells are encrypted, hence incompressible; compression would only cost CPU and leak sizes.
      perMessageDeflate: false,
    });
    // Runs before the listeners a link adds, so their error event already carries the advice.
    socket.prependListener('error', (err: Error) => {
      const untrusted = untrustedCertificateMessage(err, new URL(url).host);
      if (untrusted !== undefined) err.message = untrusted;
    });
    return socket as unknown as WebSocketLike;
  };
}
