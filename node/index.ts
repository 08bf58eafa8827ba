// The Node API of Allium (`import … from 'allium/node'`): the client wired to `ws` and
// node:crypto, and the servers the CLI runs.
export { createNodeClient } from './client.ts';
export { nodeCrypto } from './crypto.ts';
export { createLogger, type Logger } from './log.ts';
export { startRelay, type RelayOptions, type RunningRelay } from '../relay/relay.ts';
export { startPool, type PoolOptions, type RunningPool } from '../pool/server.ts';
export { startDemoNetwork, type DemoOptions, type DemoNetwork } from '../demo/network.ts';
