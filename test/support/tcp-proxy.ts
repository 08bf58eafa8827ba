// A TCP proxy on loopback between a client and a relay, to fail a link the way a network does:
// cut it without a WebSocket close frame (FIN or RST), or stop reading from the relay.
import net from 'node:net';
import type { WebSocketFactory } from '../../shared/websocket-link.ts';

export interface TcpProxy {
  port: number;
  /** The relay URL as seen through the proxy. */
  url: string;
  /** Connections currently relayed. */
  readonly connections: number;
  /** Ends every relayed connection at the TCP level: FIN both ways, or RST both ways. */
  cut(mode: 'fin' | 'reset'): void;
  /** Stops reading from the relay (its bytes pile up in the kernel, then in the relay), or reads again. */
  stallTowardClient(stalled: boolean): void;
  /** Stops forwarding both ways on the current connections, keeping them open: links gone silent. */
  blackhole(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let stalled = false;
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    const pair = { client, upstream };
    pairs.add(pair);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.pipe(upstream);
    if (!stalled) upstream.pipe(client);
    const gone = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', gone);
    upstream.on('close', gone);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `ws://127.0.0.1:${port}`,
    get connections() {
      return pairs.size;
    },
    cut(mode) {
      for (const { client, upstream } of pairs) {
        if (mode === 'reset') {
          client.resetAndDestroy();
          upstream.resetAndDestroy();
        } else {
          client.end();
          upstream.end();
        }
      }
    },
    stallTowardClient(value) {
      stalled = value;
      for (const { client, upstream } of pairs) {
        if (value) {
          upstream.unpipe(client);
          upstream.pause();
        } else upstream.pipe(client);
      }
    },
    blackhole() {
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        client.unpipe(upstream);
        upstream.pause();
        client.pause();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        server.close(() => resolve());
      }),
  };
}

/**
 * A proxy in front of each relay and a WebSocket factory that reaches every relay through its
 * proxy: a client built with it has every first-hop link under the test's control.
 */
export async function proxyEveryRelay(relays: { url: string }[], direct: WebSocketFactory) {
  const proxies = new Map<string, TcpProxy>();
  for (const relay of relays) {
    const { hostname, port } = new URL(relay.url);
    proxies.set(relay.url, await startTcpProxy({ host: hostname, port: Number(port) }));
  }
  const webSocket: WebSocketFactory = (url, protocols) => direct(proxies.get(url)?.url ?? url, protocols);
  return { proxies, webSocket, close: () => Promise.all([...proxies.values()].map((p) => p.close())) };
}
