// The relay's listening side: HTTP server + `ws`, refusing anything that is not a TPDP link.
// Every TCP connection is admitted per source (relay/source-limits.ts) and must become a TPDP
// link within the handshake timeout, so idle and slow-header connections cannot pile up; a link's
// CREATE cells are then held to its source's circuit budget (relay/create-filter.ts). Connections
// from a trusted reverse proxy are admitted at their upgrade request instead, by the client
// address the proxy forwards (node/peer-address.ts).
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { LINK_SUBPROTOCOL, MAX_MESSAGE_SIZE } from '../shared/cell.ts';
import type { Link } from '../shared/link.ts';
import { linkFromWebSocket, type WebSocketLike } from '../shared/websocket-link.ts';
import type { RejectionLimit } from '../shared/relay-events.ts';
import type { Logger } from '../node/log.ts';
import { limitWebSocketReads, type BandwidthLimiter } from '../node/bandwidth-limiter.ts';
import { normalizeAddress, requestSource } from '../node/peer-address.ts';
import type { TlsFiles } from '../node/tls-credentials.ts';
import { createHttpServer } from '../node/tls-server.ts';
import { filterCreates } from './create-filter.ts';
import { DEFAULT_SOURCE_LIMITS, SourceGate, type SourceLimits, type SourceTicket } from './source-limits.ts';

export interface LinkServerOptions {
  host: string;
  port: number;
  /** Bound on the WebSocket opening handshake (HTTP upgrade), from the TCP connection on. */
  handshakeTimeoutMs: number;
  maxConnections: number;
  /** Per-source connection limits; defaults as Tor's. */
  sourceLimits?: Partial<SourceLimits>;
  /** The relay's bandwidth limit, which every link's reads count against. */
  bandwidth?: BandwidthLimiter;
  /** Where refused connections and CREATEs are counted, by limit (shared/relay-events.ts). */
  rejections: Record<RejectionLimit, number>;
  /** Serve wss:// with these files, reloaded when they change. */
  tls?: TlsFiles;
  /** Reverse proxies whose X-Forwarded-For names the source (normalized addresses). */
  trustedProxies?: ReadonlySet<string>;
  log: Logger;
  onLink(link: Link): void;
  /** Extra plain-HTTP routes (health); return false to fall through to 404. */
  onRequest?(req: http.IncomingMessage, res: http.ServerResponse): boolean;
}

export interface LinkServer {
  port: number;
  close(): Promise<void>;
}

export function startLinkServer(options: LinkServerOptions): Promise<LinkServer> {
  const server = createHttpServer(
    {
      headersTimeout: options.handshakeTimeoutMs,
      requestTimeout: options.handshakeTimeoutMs,
      // How often node enforces the two timeouts above (its default, 30 s, would triple them).
      connectionsCheckingInterval: Math.min(1000, options.handshakeTimeoutMs),
    },
    (req, res) => {
      if (options.onRequest?.(req, res)) return;
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end(`This is an Allium relay: connect with a WebSocket offering the "${LINK_SUBPROTOCOL}" subprotocol.\n`);
    },
    options.tls,
    options.log,
  );
  server.maxConnections = options.maxConnections;
  server.on('drop', () => options.rejections.max_connections++);
  const limits = { ...DEFAULT_SOURCE_LIMITS, ...options.sourceLimits };
  const gate = new SourceGate(limits, options.log, options.rejections);
  const trustedProxies = options.trustedProxies ?? new Set<string>();
  // By the TCP connection's remote address and port: under TLS the socket a request arrives on
  // wraps the one the 'connection' event saw.
  const admitted = new Map<string, { ticket?: SourceTicket; deadline: ReturnType<typeof setTimeout> }>();
  server.on('connection', (socket: Socket) => {
    const key = connectionKey(socket);
    if (key === undefined) {
      socket.destroy();
      return;
    }
    // A trusted proxy carries many clients: each is admitted at its upgrade request instead.
    const proxied = trustedProxies.has(normalizeAddress(socket.remoteAddress!));
    const ticket = proxied ? undefined : gate.admit(socket.remoteAddress!, Date.now());
    if (!proxied && !ticket) {
      socket.destroy();
      return;
    }
    // Node's header timeout only starts with the first byte: a silent connection would stay forever.
    const deadline = setTimeout(() => socket.destroy(), options.handshakeTimeoutMs);
    admitted.set(key, { ticket, deadline });
    socket.once('close', () => {
      clearTimeout(deadline);
      admitted.get(key)?.ticket?.release();
      admitted.delete(key);
    });
  });
  /** Whether the upgrade's source may open a link; a proxied connection takes its ticket here. */
  const admitUpgrade = (req: http.IncomingMessage): boolean => {
    const admission = admitted.get(connectionKey(req.socket) ?? '');
    if (admission === undefined) return false;
    admission.ticket ??= gate.admit(requestSource(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trustedProxies), Date.now());
    return admission.ticket !== undefined;
  };
  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_MESSAGE_SIZE,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(LINK_SUBPROTOCOL) ? LINK_SUBPROTOCOL : false),
    verifyClient: (info: { req: http.IncomingMessage }, done: (ok: boolean, status?: number) => void) => {
      if (!(info.req.headers['sec-websocket-protocol'] ?? '').split(',').some((p) => p.trim() === LINK_SUBPROTOCOL)) done(false);
      else if (!admitUpgrade(info.req)) done(false, 429);
      else done(true);
    },
  });
  wss.on('connection', (socket, req) => {
    const { ticket, deadline } = admitted.get(connectionKey(req.socket)!)!;
    // A link now: from here the relay's own link timers (no circuit within the timeout) apply.
    clearTimeout(deadline);
    socket.on('error', () => {});
    if (options.bandwidth) limitWebSocketReads(socket, options.bandwidth);
    // Who connected goes in a field node/log.ts scrubs unless --log-sensitive.
    options.log.debug('link accepted', { peer: `${req.socket.remoteAddress}:${req.socket.remotePort}` });
    // A link refused a whole burst's worth of CREATEs is flooding: it is closed.
    const filtered = filterCreates(
      socket as unknown as WebSocketLike,
      () => ticket!.mayCreateCircuit(Date.now()),
      limits.circuitRate.capacity,
      () => options.rejections.create_flood++,
    );
    options.onLink(linkFromWebSocket(filtered, false, 'inbound'));
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

function connectionKey(socket: Socket): string | undefined {
  return socket.remoteAddress === undefined ? undefined : `${socket.remoteAddress} ${socket.remotePort}`;
}
