// The client core configured for Node: `ws` sockets, node:crypto, structured logs.
import { AlliumClient, type AlliumClientOptions } from '../shared/client/client.ts';
import { nodeCrypto } from './crypto.ts';
import { nodeWebSocketFactory } from './websocket.ts';

export function createNodeClient(options: Omit<AlliumClientOptions, 'webSocket'> & Partial<Pick<AlliumClientOptions, 'webSocket'>>): AlliumClient {
  return new AlliumClient({ crypto: nodeCrypto, webSocket: nodeWebSocketFactory(), ...options });
}
