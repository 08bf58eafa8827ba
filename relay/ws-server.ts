// The relay's listening side: HTTP server + `ws`, refusing anything that is not a TPDP link.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { LINK_SUBPROTOCOL, MAX_MESSAGE_SIZE } from '../shared/cell.ts';
import type { Link } from '../shared/link.ts';
import { linkFromWebSocket, type WebSocketLike } from '../shared/websocket-link.ts';

export interface LinkServerOptions {
  host: string;
  port: number;
  /** Bound on the WebSocket opening handshake (HTTP upgrade). */
  handshakeTimeoutMs: number;
  maxConnections: number;
  onLink(link: Link): void;
  /** Extra plain-HTTP routes (health); return false to fall through to 404. */
  onRequest?(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

export interface LinkServer {
  port: number;
  close(): Promise<void>;
}

export function startLinkServer(options: LinkServerOptions): Promise<LinkServer> {
  const server = http.createServer((req, res) => {
    if (options.onRequest?.(req, res)) return;
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end(`This is an Allium relay: connect with a WebSocket offering the "${LINK_SUBPROTOCOL}" subprotocol.\n`);
  });
  server.headersTimeout = options.handshakeTimeoutMs;
  server.requestTimeout = options.handshakeTimeoutMs;
  server.maxConnections = options.maxConnections;
  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_MESSAGE_SIZE,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
    verifyClient: (info: { req: http.IncomingMessage }) => (info.req.headers['sec-websocket-protocol'] ?? '').split(',').some((p) => p.trim() === LINK_SUBPROTOCOL),
  });
  wss.on('connection', (socket) => {
    socket.on('error', () => {});
    options.onLink(linkFromWebSocket(socket as unknown as WebSocketLike, false, 'inbound'));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const client of wss.clients) client.terminate();
            wss.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
