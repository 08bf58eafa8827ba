// The isomorphic public API of Allium (`import … from 'allium'`): runs in Node and in browsers.
export { AlliumClient, type AlliumClientOptions, type AlliumRequestInit, type StreamOptions } from './client/client.ts';
export type { ByteStream } from './client/byte-stream.ts';
export type { CircuitEvent, CircuitPhase, ManagedCircuit } from './client/circuit-manager.ts';
export { fetchDirectory, fetchRelayList, type DirectoryRelay, type PoolRef } from './directory.ts';
export type { RelayDescriptor } from './descriptor.ts';
export { REASONS, TpdpError, describeReason, isTpdpError, type ReasonName } from './errors.ts';
export { nobleCrypto } from './crypto/noble.ts';
export type { CryptoProvider } from './crypto/provider.ts';
export type { WebSocketFactory, WebSocketLike } from './websocket-link.ts';
export type { LogSink } from './log-sink.ts';
