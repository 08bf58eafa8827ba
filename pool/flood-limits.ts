// Per-source limits on the pool's signed endpoints (POST), against one address flooding the pool:
// a token bucket on every POST, checked before the body is read, and a smaller one on
// registrations of relays the pool does not list yet, which bounds how fast one address can fill
// the registry with relays of its own making (identity keys cost nothing). Sources are TCP peer
// addresses, IPv6 by /64, as the site's login limits key them.
import type { Logger } from '../node/log.ts';
import { throttledWarning } from '../relay/throttled-log.ts';
import { TokenBuckets, type BucketPolicy } from '../node/token-buckets.ts';
import { sourceKey } from '../node/peer-address.ts';
import { HttpError } from './http.ts';
import type { Counter } from '../node/metrics.ts';
import type { PoolLimit } from './pool-metrics.ts';

export interface PoolFloodLimits {
  /** Every POST from one source. A relay needs one per heartbeat period (10 s by default). */
  requestsPerSource: BucketPolicy;
  /** Registrations of relays not listed yet, per source (re-registrations of a listed relay are free). */
  newRelaysPerSource: BucketPolicy;
  /** Sources tracked at once; past it the least recently limited source is forgotten. */
  maxSources: number;
}

export const DEFAULT_POOL_FLOOD_LIMITS: PoolFloodLimits = {
  // Room for a host running many relays with short heartbeat periods (test networks use 0.3 s).
  requestsPerSource: { capacity: 200, refillPerSecond: 50 },
  // A burst of 32 (a whole local test network registering at once), then one every 10 s.
  newRelaysPerSource: { capacity: 32, refillPerSecond: 0.1 },
  maxSources: 100_000,
};

export class FloodLimits {
  private readonly requests: TokenBuckets;
  private readonly newRelays: TokenBuckets;
  private readonly warnRequests: () => void;
  private readonly warnNewRelays: () => void;
  private readonly limited: Counter<PoolLimit>;

  /** Refusals are counted in `limited`, by limit. */
  constructor(limits: PoolFloodLimits, log: Logger, limited: Counter<PoolLimit>) {
    this.limited = limited;
    this.requests = new TokenBuckets(limits.requestsPerSource, limits.maxSources);
    this.newRelays = new TokenBuckets(limits.newRelaysPerSource, limits.maxSources);
    this.warnRequests = throttledWarning(log, 'POST refused: a source exceeded its request rate', 10_000);
    this.warnNewRelays = throttledWarning(log, 'registration refused: a source exceeded its rate of new relays', 10_000);
  }

  /** Throws 429 unless `address` may send another signed request now. */
  admitRequest(address: string, now: number): void {
    const key = sourceKey(address);
    if (this.requests.take(key, now)) return;
    this.limited.inc('requests_per_source');
    this.warnRequests();
    throw tooMany('too many requests from this address', this.requests.retryAfterSeconds(key, now));
  }

  /** Throws 429 unless `address` may register one more relay that the pool does not list. */
  admitNewRelay(address: string, now: number): void {
    const key = sourceKey(address);
    if (this.newRelays.take(key, now)) return;
    this.limited.inc('new_relays_per_source');
    this.warnNewRelays();
    throw tooMany('too many new relays registered from this address', this.newRelays.retryAfterSeconds(key, now));
  }
}

function tooMany(message: string, retryAfterSeconds: number): HttpError {
  return new HttpError(429, 'TOO_MANY_REQUESTS', `${message}; try again later`, { 'retry-after': String(Math.max(1, retryAfterSeconds)) });
}
