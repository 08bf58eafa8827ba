// `allium proxy`: the SOCKS5 and HTTP front ends on loopback, carrying every connection over
// streams from the injected opener (the client core, or a test harness).
import { once } from 'node:events';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from '../node/log.ts';
import type { FrontEndOptions } from './front-end-options.ts';
import { createHttpProxyServer } from './http-proxy.ts';
import { createSocks5Server } from './socks5.ts';
import type { StreamOpener } from './stream-opener.ts';

export interface ListenAddress {
  /** Default 127.0.0.1: a proxy open to the network would let anyone use the client's circuits. */
  host?: string;
  /** 0 picks a free port. */
  port: number;
}

export interface ProxyOptions {
  opener: StreamOpener;
  socks?: ListenAddress;
  http?: ListenAddress;
  log: Logger;
  /** Default 10 s, TPDP's handshake timeout. */
  handshakeTimeoutMs?: number;
  /** Default 120 s, as Tor's SocksTimeout: enough for a circuit build with retries. */
  connectTimeoutMs?: number;
  /** Per front end; further connections are refused, which bounds the proxy's memory. Default 1024. */
  maxConnections?: number;
}

export interface RunningProxy {
  /** "host:port" of each front end that was asked for. */
  socks?: string;
  http?: string;
  /** Client connections open now, and bytes received from and sent to clients so far. */
  stats(): { connections: number; received: number; sent: number };
  /** Stops listening and ends every client connection. */
  close(): Promise<void>;
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const frontEnd: FrontEndOptions = {
    opener: options.opener,
    log: options.log,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    connectTimeoutMs: options.connectTimeoutMs ?? 120_000,
  };
  const listeners: { name: 'socks' | 'http'; server: NetServer; at: ListenAddress }[] = [];
  if (options.socks) listeners.push({ name: 'socks', server: createSocks5Server({ ...frontEnd, log: options.log.child('socks5') }), at: options.socks });
  if (options.http) listeners.push({ name: 'http', server: createHttpProxyServer({ ...frontEnd, log: options.log.child('http') }), at: options.http });

  const clients = new Set<Socket>();
  const closedBytes = { received: 0, sent: 0 };
  for (const { server } of listeners) {
    server.maxConnections = options.maxConnections ?? 1024;
    server.on('connection', (socket: Socket) => {
      clients.add(socket);
      socket.once('close', () => {
        clients.delete(socket);
        closedBytes.received += socket.bytesRead;
        closedBytes.sent += socket.bytesWritten;
      });
    });
  }
  const stats = () => {
    let { received, sent } = closedBytes;
    for (const socket of clients) {
      received += socket.bytesRead;
      sent += socket.bytesWritten;
    }
    return { connections: clients.size, received, sent };
  };
  const close = async () => {
    const closing = listeners.filter(({ server }) => server.listening).map(({ server }) => once(server, 'close'));
    for (const { server } of listeners) server.close();
    for (const socket of clients) socket.destroy();
    await Promise.all(closing);
  };

  const running: RunningProxy = { stats, close };
  try {
    for (const { name, server, at } of listeners) {
      const host = at.host ?? '127.0.0.1';
      server.listen(at.port, host);
      await once(server, 'listening');
      const { port } = server.address() as { port: number };
      running[name] = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      options.log.info(`${name === 'socks' ? 'SOCKS5' : 'HTTP'} proxy listening`, { address: running[name] });
    }
  } catch (err) {
    await close();
    throw err;
  }
  return running;
}
