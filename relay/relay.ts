// `allium relay` as a library: a TPDP relay on a WebSocket port, registered with its pools.
// Wires the I/O-free RelayNode (shared/relay-node.ts) to `ws`, node:crypto, the exit and the pools.
import { toBase64Url } from '../shared/bytes.ts';
import { fetchDirectory, type DirectoryRelay, type PoolRef } from '../shared/directory.ts';
import { relayIdOf } from '../shared/descriptor.ts';
import { RelayNode, type RelayLimits } from '../shared/relay-node.ts';
import { openWebSocketLink } from '../shared/websocket-link.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { loadOrCreateKeys } from '../node/key-file.ts';
import type { Logger } from '../node/log.ts';
import { nodeWebSocketFactory } from '../node/websocket.ts';
import { trustedProxySet } from '../node/peer-address.ts';
import type { TlsFiles } from '../node/tls-credentials.ts';
import { nodeFetch } from '../node/tls-fetch.ts';
import { limitFactoryReads, TokenBucketLimiter, UNLIMITED, type BandwidthSettings } from '../node/bandwidth-limiter.ts';
import { createExit } from './exit.ts';
import { createExitPolicy } from './exit-policy.ts';
import { joinPools, type PoolStatus } from './pool-client.ts';
import { startBandwidthAdvertiser } from './observed-bandwidth.ts';
import { DEFAULT_ONION_KEY_GRACE_MS, DEFAULT_ONION_KEY_ROTATION_MS, OnionKeyRing } from './onion-keys.ts';
import { relayHealth, relayMetrics } from './relay-metrics.ts';
import { startMetricsServer } from '../node/metrics-server.ts';
import { createRelayCounters } from '../shared/relay-events.ts';
import type { SourceLimits } from './source-limits.ts';
import { startLinkServer } from './ws-server.ts';

export interface RelayOptions {
  pools: PoolRef[];
  keyFile: string;
  host: string;
  port: number;
  /** URL published in the descriptor; default ws://host:port (wss:// with tls). */
  publicUrl?: string;
  /** Source address of outbound connections (exit traffic and links to other relays). */
  outbound?: string;
  allowPrivate: boolean;
  nickname?: string;
  /** Operator contact published in the descriptor. */
  contact?: string;
  /** Ids of the operator's other relays (docs/RELAY-METADATA.md). */
  family?: string[];
  /** Canonical port policy summary (shared/port-policy.ts); default every port. */
  exitPolicy?: string;
  /** Onion-key rotation period and grace (default 28 and 7 days). */
  onionKeyRotationMs?: number;
  onionKeyGraceMs?: number;
  limits?: Partial<RelayLimits>;
  /** Per-source connection limits on the listening side (relay/source-limits.ts). */
  sourceLimits?: Partial<SourceLimits>;
  /** Serve wss:// with these certificate and key files (reloaded when they change). */
  tls?: TlsFiles;
  /** PEM certificates trusted, on top of the system's, for https:// pools and wss:// relays. */
  ca?: string[];
  /** Reverse proxies whose X-Forwarded-For names the source of their connections. */
  trustedProxies?: string[];
  /** TCP connections the listener holds at once (default 10 000). */
  maxConnections?: number;
  /** Bandwidth limit on everything the relay reads (node/bandwidth-limiter.ts); none without it. */
  bandwidth?: BandwidthSettings;
  /** Serve GET /metrics and /health there (node/metrics-server.ts); none without it. */
  metrics?: { host: string; port: number };
  log: Logger;
  /** Aborts the start (waiting to be listed), as a signal to a relay still starting does. */
  signal?: AbortSignal;
}

export interface RunningRelay {
  id: string;
  url: string;
  node: RelayNode;
  /** The metrics endpoint's base URL, when one was asked for. */
  metricsUrl?: string;
  /** Whether each pool lists the relay now. */
  pools(): PoolStatus[];
  close(): Promise<void>;
}

const DIRECTORY_REFRESH_MS = 60_000;
/** At most one refresh per this interval for misses, however many EXTENDs name unknown relays. */
const DIRECTORY_MISS_REFRESH_MS = 1_000;

/**
 * Extends go only to relays our pools list under that URL with that identity key: a client
 * cannot use a relay to open WebSockets to arbitrary addresses (Tor: only extend to known relays).
 * The list is read at start and kept warm, so a pool outage does not stop extends to relays it
 * listed; a miss waits for the next refresh (a relay that joined since), and misses never make
 * more than one request per DIRECTORY_MISS_REFRESH_MS to the pools.
 */
function extendPolicy(pools: PoolRef[], fetch: typeof globalThis.fetch, log: Logger) {
  let relays: DirectoryRelay[] = [];
  let attemptedAt = 0;
  let pending: Promise<void> | undefined;
  const refresh = () =>
    (pending ??= ((attemptedAt = Date.now()), fetchDirectory(pools, { fetch, crypto: nodeCrypto }))
      .then(
        (result) => {
          relays = result.relays;
        },
        (err) => log.warn('cannot refresh relay list for extend checks', { error: (err as Error).message }),
      )
      .finally(() => (pending = undefined)));
  const listed = (url: string, key: string) => relays.some((r) => r.url === url && r.identityKey === key);
  let timer: ReturnType<typeof setInterval> | undefined;
  return {
    /** Reads the list now and then every DIRECTORY_REFRESH_MS. */
    async start() {
      await refresh();
      timer = setInterval(() => void refresh(), DIRECTORY_REFRESH_MS);
      timer.unref();
    },
    stop: () => clearInterval(timer),
    async check(url: string, identityKey: Uint8Array): Promise<string | undefined> {
      const key = toBase64Url(identityKey);
      if (listed(url, key)) return undefined;
      const seen = attemptedAt;
      const wait = seen + DIRECTORY_MISS_REFRESH_MS - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Whoever wakes first refreshes; the others wait for that same refresh.
      if (attemptedAt === seen) await refresh();
      else await pending;
      return listed(url, key) ? undefined : `no pool lists a relay at ${url} with that identity`;
    },
  };
}

/** `promise`, or a rejection with the abort reason as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function startRelay(options: RelayOptions): Promise<RunningRelay> {
  const { log } = options;
  const { identity } = loadOrCreateKeys(options.keyFile, { identity: 'ed25519' }, nodeCrypto);
  const keys = new OnionKeyRing({
    keyFile: options.keyFile,
    identity,
    crypto: nodeCrypto,
    rotationMs: options.onionKeyRotationMs ?? DEFAULT_ONION_KEY_ROTATION_MS,
    graceMs: options.onionKeyGraceMs ?? DEFAULT_ONION_KEY_GRACE_MS,
    log: log.child('keys'),
  });
  const id = relayIdOf(keys.identity.publicKey, nodeCrypto);
  const handshakeTimeoutMs = options.limits?.handshakeTimeoutMs ?? 10_000;
  const bandwidth = options.bandwidth ? new TokenBucketLimiter(options.bandwidth) : UNLIMITED;
  const outboundSockets = limitFactoryReads(nodeWebSocketFactory({ localAddress: options.outbound, handshakeTimeoutMs, ca: options.ca }), bandwidth);
  const poolFetch = nodeFetch({ ca: options.ca });
  const extendChecks = extendPolicy(options.pools, poolFetch, log);
  const counters = createRelayCounters();
  const node = new RelayNode({
    counters,
    crypto: nodeCrypto,
    keys,
    limits: options.limits,
    log: log.child('circuits'),
    openLink: (url) => openWebSocketLink(outboundSockets, url, handshakeTimeoutMs),
    checkExtend: (url, identityKey) => extendChecks.check(url, identityKey),
    exit: createExit({ policy: createExitPolicy(options.allowPrivate, undefined, options.exitPolicy), localAddress: options.outbound, connectTimeoutMs: handshakeTimeoutMs, bandwidth }, log.child('exit')),
  });
  const server = await startLinkServer({
    host: options.host,
    port: options.port,
    handshakeTimeoutMs,
    maxConnections: options.maxConnections ?? 10_000,
    bandwidth,
    sourceLimits: options.sourceLimits,
    tls: options.tls,
    trustedProxies: trustedProxySet(options.trustedProxies ?? []),
    rejections: counters.rejections,
    log: log.child('listener'),
    onLink: (link) => node.addLink(link),
    // Anyone can reach this port: it says the relay is up and nothing more. Counts of links,
    // circuits and bytes would let an observer follow a circuit's traffic from outside
    // (docs/METRICS.md); they are on the metrics port, which the operator controls.
    onRequest: (req, res) => {
      if (req.url !== '/health') return false;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', id }));
      return true;
    },
  });
  const url = options.publicUrl ?? `${options.tls ? 'wss' : 'ws'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${server.port}`;
  const membership = joinPools({
    pools: options.pools,
    identity: keys.identity,
    crypto: nodeCrypto,
    fetch: poolFetch,
    log: log.child('pools'),
    descriptorFields: {
      onionKey: toBase64Url(keys.onion.publicKey),
      url,
      outbound: options.outbound ? [options.outbound] : [],
      exit: { allowPrivate: options.allowPrivate, policy: options.exitPolicy },
      ...(options.nickname ? { nickname: options.nickname } : {}),
      contact: options.contact,
      family: options.family,
    },
  });
  log.info('relay listening', { id, url, allowPrivate: options.allowPrivate });
  const pools = () => membership.status();
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  try {
    // Up before the relay is listed, so a supervisor sees why it is not listed yet.
    if (options.metrics) {
      const registry = relayMetrics(id, node, pools);
      metrics = await startMetricsServer({ ...options.metrics, registry, health: () => relayHealth(id, node, pools()), log: log.child('metrics') });
    }
    await untilAborted(membership.waitListed(), options.signal);
    await extendChecks.start();
  } catch (err) {
    await membership.stop();
    await metrics?.close();
    await server.close();
    throw err;
  }
  // The descriptor follows the relay: each new onion key, and the bandwidth as it is observed.
  keys.start((onion) => membership.update({ onionKey: toBase64Url(onion.publicKey) }));
  const advertiser = startBandwidthAdvertiser({
    totals: () => node.linkBytes(),
    rate: options.bandwidth?.rate,
    publish: (bandwidth) => membership.update({ bandwidth }),
  });
  return {
    id,
    url,
    node,
    metricsUrl: metrics?.url,
    pools,
    async close() {
      keys.stop();
      advertiser.stop();
      node.shutdown();
      extendChecks.stop();
      await membership.stop();
      await metrics?.close();
      await server.close();
    },
  };
}
