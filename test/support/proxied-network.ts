// A test network (pool and three relay processes) whose client reaches every first hop through a
// TCP proxy of its own, so a test can cut, stall or silence the client's link to its guard.
import { createNodeClient, type NodeClientOptions } from '../../node/client.ts';
import { nodeWebSocketFactory } from '../../node/websocket.ts';
import { startTestNetwork } from './processes.ts';
import { listedRelays, warmUp } from './relay-circuits.ts';
import { proxyEveryRelay } from './tcp-proxy.ts';

export async function startProxiedNetwork(clientOptions: Omit<NodeClientOptions, 'pools' | 'webSocket'> = {}) {
  const network = await startTestNetwork({ relays: 3 });
  const relays = await listedRelays(network.poolRef);
  await warmUp(relays);
  const proxied = await proxyEveryRelay(relays, nodeWebSocketFactory());
  const client = createNodeClient({ pools: [network.poolRef], webSocket: proxied.webSocket, ...clientOptions });
  return {
    network,
    relays,
    /** The proxy in front of each relay, by relay URL. */
    proxies: proxied.proxies,
    client,
    async stop() {
      client.close();
      await proxied.close();
      await network.stop();
    },
  };
}

export type ProxiedNetwork = Awaited<ReturnType<typeof startProxiedNetwork>>;
