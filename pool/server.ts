// The pool index: relays register signed descriptors and keep them alive with signed heartbeats;
// clients fetch the list of live relays signed with the pool's key. docs/POOL.md is the API.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeKey, toBase64Url } from '../shared/bytes.ts';
import { ED25519_KEY_BYTES, type CryptoProvider, type KeyPair } from '../shared/crypto/provider.ts';
import {
  openStatement,
  SignatureError,
  verifyDescriptor,
  type SignedDescriptor,
  type StatementKind,
} from '../shared/descriptor.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { loadOrCreateKeys } from '../node/key-file.ts';
import { createLogger, errorMessage, type Logger } from '../node/log.ts';
import { requestSource, trustedProxySet } from '../node/peer-address.ts';
import type { TlsFiles } from '../node/tls-credentials.ts';
import { createHttpServer } from '../node/tls-server.ts';
import { DEFAULT_POOL_FLOOD_LIMITS, FloodLimits, type PoolFloodLimits } from './flood-limits.ts';
import { HttpError, readJsonBody, sendError, sendJson } from './http.ts';
import { SignedListCache } from './list-cache.ts';
import { MAX_LIST_ENTRY_BYTES, RelayRegistry } from './registry.ts';
import { ReplayGuard } from './replay-guard.ts';
import { poolMetrics } from './pool-metrics.ts';
import { startMetricsServer } from '../node/metrics-server.ts';
import type { MetricsRegistry } from '../node/metrics.ts';

export type PoolOptions = {
  host?: string;
  port?: number;
  /** Where the pool's Ed25519 key is kept; without it the key is ephemeral (tests, demos). */
  keyFile?: string;
  /** How often relays are asked to send a heartbeat. */
  heartbeatPeriodMs?: number;
  /** A relay silent for this long is no longer listed. */
  deprecationDelayMs?: number;
  /** How often deprecated entries and expired nonces are freed. */
  gcIntervalMs?: number;
  maxRelays?: number;
  /** Bytes the descriptors may take in the list; default: what keeps it within what clients read. */
  maxListBytes?: number;
  /** How far a signed timestamp may be from the pool's clock. */
  clockSkewMs?: number;
  log?: Logger;
  crypto?: CryptoProvider;
  /** Per-source limits on POST requests and on new registrations (pool/flood-limits.ts). */
  floodLimits?: Partial<PoolFloodLimits>;
  /** Serve https:// with these certificate and key files (reloaded when they change). */
  tls?: TlsFiles;
  /** Reverse proxies whose X-Forwarded-For names the source of their requests (node/peer-address.ts). */
  trustedProxies?: string[];
  /** Serve GET /metrics and /health there (node/metrics-server.ts); none without it. */
  metrics?: { host: string; port: number };
};

export type RunningPool = {
  url: string;
  poolKey: string;
  /** The metrics endpoint's base URL, when one was asked for. */
  metricsUrl?: string;
  metrics: MetricsRegistry;
  /** Relays listed now. */
  relaysListed(): number;
  close(): Promise<void>;
};

export const POOL_DEFAULTS = {
  host: '127.0.0.1',
  heartbeatPeriodMs: 10_000,
  deprecationDelayMs: 30_000,
  gcIntervalMs: 60_000,
  maxRelays: 10_000,
  clockSkewMs: 60_000,
};

const MAX_BODY_BYTES = 64 * 1024;
/** Re-sign the list at least this often so its publication time stays fresh. */
const RESIGN_INTERVAL_MS = 5_000;
const REQUEST_TIMEOUT_MS = 15_000;

type Route = { method: 'GET' | 'POST'; handle(body: unknown, now: number, source: string): unknown };

export async function startPool(opts: PoolOptions = {}): Promise<RunningPool> {
  const settings = { ...POOL_DEFAULTS, ...withoutUndefined(opts) };
  const { heartbeatPeriodMs, deprecationDelayMs, gcIntervalMs, maxRelays, clockSkewMs } = settings;
  for (const [name, value] of Object.entries({ heartbeatPeriodMs, deprecationDelayMs, gcIntervalMs, maxRelays, clockSkewMs })) {
    if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`pool: ${name} must be a positive integer, got ${value}`);
  }
  if (deprecationDelayMs <= heartbeatPeriodMs) {
    throw new Error('pool: the deprecation delay must be longer than the heartbeat period, or live relays would drop out');
  }
  const crypto = opts.crypto ?? nodeCrypto;
  const log = opts.log ?? createLogger('pool');
  const poolKey: KeyPair = opts.keyFile ? loadOrCreateKeys(opts.keyFile, { pool: 'ed25519' }, crypto).pool : crypto.ed25519Keygen();
  const poolKeyText = toBase64Url(poolKey.publicKey);

  const maxListBytes = opts.maxListBytes ?? MAX_LIST_ENTRY_BYTES;
  const registry = new RelayRegistry({ deprecationDelayMs, maxRelays, maxListBytes });
  // Replay state outlives registry entries by one skew window, hence room for churn; a relay
  // heartbeating on time spends about 2·skew/period nonces per window.
  const guard = new ReplayGuard({
    clockSkewMs,
    maxRelays: 2 * maxRelays,
    maxNoncesPerRelay: Math.ceil((2 * clockSkewMs) / heartbeatPeriodMs) + 16,
  });
  const list = new SignedListCache({ registry, poolKey, crypto, maxAgeMs: RESIGN_INTERVAL_MS });
  const timings = { heartbeatPeriod: heartbeatPeriodMs, deprecationDelay: deprecationDelayMs };
  const relaysListed = () => registry.listed(Date.now()).length;
  const metrics = poolMetrics(relaysListed);
  const flood = new FloodLimits({ ...DEFAULT_POOL_FLOOD_LIMITS, ...opts.floodLimits }, log, metrics.limited);
  const trustedProxies = trustedProxySet(opts.trustedProxies ?? []);

  const statementOf = (body: unknown, kind: StatementKind, now: number) => {
    let opened;
    try {
      opened = openStatement(body, kind);
    } catch (err) {
      throw new HttpError(400, `INVALID_${kind.toUpperCase()}`, errorMessage(err));
    }
    const entry = registry.live(opened.statement.id, now);
    if (entry === undefined) {
      throw new HttpError(404, 'UNKNOWN_RELAY', 'relay is not registered here (or was deprecated); register again');
    }
    try {
      opened.verify(entry.identityKey, crypto);
    } catch (err) {
      throw new HttpError(403, 'BAD_SIGNATURE', errorMessage(err));
    }
    guard.admit(opened.statement.id, opened.statement.time, opened.statement.nonce, now);
    return entry;
  };

  const routes = new Map<string, Route>([
    [
      '/v1/register',
      {
        method: 'POST',
        handle(body, now, source) {
          let descriptor;
          try {
            descriptor = verifyDescriptor(body, crypto);
          } catch (err) {
            if (err instanceof SignatureError) throw new HttpError(403, 'BAD_SIGNATURE', err.message);
            throw new HttpError(400, 'INVALID_DESCRIPTOR', errorMessage(err));
          }
          const signed = body as SignedDescriptor;
          const envelope = { descriptor: signed.descriptor, signature: signed.signature };
          if (!registry.hasRoomFor(descriptor.id, envelope, now)) {
            throw new HttpError(503, 'REGISTRY_FULL', `this pool lists at most ${maxRelays} relays, in a list clients can read (${maxListBytes} bytes of descriptors)`);
          }
          if (registry.live(descriptor.id, now) === undefined) flood.admitNewRelay(source, now);
          guard.admit(descriptor.id, descriptor.published, descriptor.nonce, now);
          const previous = registry.register(
            {
              descriptor,
              envelope,
              identityKey: decodeKey(descriptor.identityKey, ED25519_KEY_BYTES, 'identityKey'),
              lastSeen: now,
            },
            now,
          );
          log.info(previous ? 'relay re-registered' : 'relay registered', { id: descriptor.id, url: descriptor.url });
          metrics.accepted.inc('register');
          return timings;
        },
      },
    ],
    [
      '/v1/heartbeat',
      {
        method: 'POST',
        handle(body, now) {
          statementOf(body, 'heartbeat', now).lastSeen = now;
          metrics.accepted.inc('heartbeat');
          return timings;
        },
      },
    ],
    [
      '/v1/unregister',
      {
        method: 'POST',
        handle(body, now) {
          const entry = statementOf(body, 'unregister', now);
          registry.remove(entry.descriptor.id);
          log.info('relay unregistered', { id: entry.descriptor.id, url: entry.descriptor.url });
          metrics.accepted.inc('unregister');
          return {};
        },
      },
    ],
    [
      '/v1/relays',
      {
        method: 'GET',
        handle(_body, now) {
          metrics.accepted.inc('list');
          return list.get(now);
        },
      },
    ],
    [
      '/v1/health',
      { method: 'GET', handle: (_body, now) => ({ status: 'ok', poolKey: poolKeyText, relays: registry.listed(now).length }) },
    ],
  ]);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    try {
      // Matched as a plain string: a URL parser would throw on hostile request targets.
      const path = (req.url ?? '/').split('?')[0];
      const route = routes.get(path);
      if (route === undefined) throw new HttpError(404, 'NOT_FOUND', `no endpoint ${path.slice(0, 100)}`);
      if (req.method !== route.method) {
        throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${path} accepts ${route.method} only`, { allow: route.method });
      }
      const source = requestSource(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trustedProxies);
      // Checked before the body is read: a flood costs the pool no JSON parsing and no signature check.
      if (route.method === 'POST') flood.admitRequest(source, Date.now());
      const body = route.method === 'POST' ? await readJsonBody(req, MAX_BODY_BYTES) : undefined;
      sendJson(res, 200, route.handle(body, Date.now(), source));
    } catch (err) {
      metrics.rejected(err instanceof HttpError ? err.code : 'INTERNAL_ERROR');
      if (err instanceof HttpError) {
        log.debug('request refused', { path: req.url?.slice(0, 100), status: err.status, code: err.code, error: err.message });
        sendError(res, err);
      } else {
        log.error('request failed', { path: req.url?.slice(0, 100), error: errorMessage(err) });
        sendError(res, new HttpError(500, 'INTERNAL_ERROR', 'internal error'));
      }
    }
  };

  const server = createHttpServer(
    { requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS },
    (req, res) => {
      void handle(req, res);
    },
    opts.tls,
    log,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port ?? 0, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `${opts.tls ? 'https' : 'http'}://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;

  const gcTimer = setInterval(() => {
    const now = Date.now();
    for (const entry of registry.gc(now)) {
      log.info('relay deprecated: no heartbeat within the deprecation delay', { id: entry.descriptor.id, url: entry.descriptor.url });
    }
    guard.gc(now);
  }, gcIntervalMs);
  gcTimer.unref();

  log.info('pool listening', { url, poolKey: poolKeyText, heartbeatPeriodMs, deprecationDelayMs, gcIntervalMs });
  // The pool is healthy while it serves: an empty list is a state, not a fault.
  const metricsServer = opts.metrics
    ? await startMetricsServer({
        ...opts.metrics,
        registry: metrics.registry,
        health: () => ({ ok: true, details: { poolKey: poolKeyText, relays: relaysListed() } }),
        log: log.child('metrics'),
      }).catch((err) => {
        clearInterval(gcTimer);
        server.close();
        server.closeAllConnections();
        throw err;
      })
    : undefined;
  let closing: Promise<void> | undefined;
  return {
    url,
    poolKey: poolKeyText,
    metricsUrl: metricsServer?.url,
    metrics: metrics.registry,
    relaysListed,
    close: () =>
      (closing ??= new Promise<void>((resolve, reject) => {
        void metricsServer?.close();
        clearInterval(gcTimer);
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      })),
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
