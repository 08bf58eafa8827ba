// The client core configured for Node: `ws` sockets, node:crypto, structured logs.
import { AlliumClient, type AlliumClientOptions } from '../shared/client/client.ts';
import { nodeCrypto } from './crypto.ts';
import { nodeFetch } from './tls-fetch.ts';
import { nodeWebSocketFactory } from './websocket.ts';

export type NodeClientOptions = Omit<AlliumClientOptions, 'webSocket'> &
  Partial<Pick<AlliumClientOptions, 'webSocket'>> & {
    /** PEM certificates trusted for https:// pools and wss:// relays on top of the system's (--ca). */
    ca?: readonly string[];
  };

export function createNodeClient({ ca, ...options }: NodeClientOptions): AlliumClient {
  return new AlliumClient({ crypto: nodeCrypto, webSocket: nodeWebSocketFactory({ ca }), fetch: nodeFetch({ ca }), ...options });
}
