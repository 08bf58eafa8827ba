// The pool's metrics (docs/METRICS.md): what it accepted, what it refused and why, how many relays
// it lists. Requests are counted as they are answered; the list size is read when scraped.
import { MetricsRegistry, registerProcessMetrics, type Counter } from '../node/metrics.ts';

/** Every error code the pool answers with (docs/POOL.md); anything new is counted as OTHER. */
const REJECTION_CODES = [
  'BAD_JSON',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'INVALID_DESCRIPTOR',
  'INVALID_HEARTBEAT',
  'INVALID_UNREGISTER',
  'BAD_SIGNATURE',
  'UNKNOWN_RELAY',
  'STALE_TIMESTAMP',
  'REPLAYED',
  'TOO_MANY_REQUESTS',
  'REGISTRY_FULL',
  'POOL_BUSY',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'INTERNAL_ERROR',
  'OTHER',
] as const;
type RejectionCode = (typeof REJECTION_CODES)[number];
const KNOWN = new Set<string>(REJECTION_CODES);

/** The per-source limits of pool/flood-limits.ts, as the `limit` label names them. */
export const POOL_LIMITS = ['requests_per_source', 'new_relays_per_source'] as const;
export type PoolLimit = (typeof POOL_LIMITS)[number];

export type Accepted = 'register' | 'heartbeat' | 'unregister' | 'list';

export interface PoolMetrics {
  registry: MetricsRegistry;
  accepted: Counter<Accepted>;
  limited: Counter<PoolLimit>;
  rejected(code: string): void;
}

export function poolMetrics(relaysListed: () => number): PoolMetrics {
  const registry = new MetricsRegistry();
  registry.register('allium_pool_relays_listed', 'gauge', 'Relays the pool lists now.', relaysListed);
  const accepted = registry.labelledCounter<Accepted>(
    'allium_pool_requests_accepted_total',
    'Requests answered 200, by kind: registrations, heartbeats, unregistrations, relay-list fetches.',
    'request',
    ['register', 'heartbeat', 'unregister', 'list'],
  );
  const rejections = registry.labelledCounter<RejectionCode>('allium_pool_rejections_total', 'Requests refused, by the error code answered (docs/POOL.md).', 'code', REJECTION_CODES);
  const limited = registry.labelledCounter<PoolLimit>('allium_pool_rate_limited_total', 'Requests refused 429 by a per-source limit, by limit.', 'limit', POOL_LIMITS);
  registerProcessMetrics(registry);
  return { registry, accepted, limited, rejected: (code) => rejections.inc(KNOWN.has(code) ? (code as RejectionCode) : 'OTHER') };
}
