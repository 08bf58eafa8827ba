// Token buckets keyed by user name or source address: a key may spend `capacity` tokens at once,
// then one more every 1/refillPerSecond seconds. Only failures spend tokens on the login path,
// so a user who types the password right is never slowed by their own success.
import { ExpiringMap } from './expiring-map.ts';

export interface BucketPolicy {
  capacity: number;
  refillPerSecond: number;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/** A bucket's tokens `elapsedMs` after it held `tokens`, never above its capacity. */
export function refilled(tokens: number, elapsedMs: number, policy: BucketPolicy): number {
  return Math.min(policy.capacity, tokens + (elapsedMs / 1000) * policy.refillPerSecond);
}

export class TokenBuckets {
  readonly policy: BucketPolicy;
  // A bucket is dropped once it would be full again, so a forgotten key and a full bucket are the
  // same thing; past the cap the oldest bucket is forgotten (given back its tokens early).
  private readonly buckets: ExpiringMap<string, Bucket>;

  constructor(policy: BucketPolicy, maxKeys: number) {
    this.policy = policy;
    this.buckets = new ExpiringMap(maxKeys);
  }

  private tokens(key: string, now: number): number {
    const bucket = this.buckets.get(key, now);
    if (bucket === undefined) return this.policy.capacity;
    return refilled(bucket.tokens, now - bucket.updated, this.policy);
  }

  /** Whether `key` has spent tokens it has not got back yet (a forgotten key's bucket is full). */
  isRefilling(key: string, now: number): boolean {
    return this.buckets.get(key, now) !== undefined;
  }

  /** Whether `key` has a whole token left, without spending it. */
  allows(key: string, now: number): boolean {
    return this.tokens(key, now) >= 1;
  }

  /** Spends one token; returns false, spending nothing, when the bucket is empty. */
  take(key: string, now: number): boolean {
    const tokens = this.tokens(key, now);
    if (tokens < 1) return false;
    const left = tokens - 1;
    const fullAgain = now + ((this.policy.capacity - left) / this.policy.refillPerSecond) * 1000;
    this.buckets.set(key, { tokens: left, updated: now }, fullAgain);
    return true;
  }

  /** Whole seconds until `key` has a token again (0 if it has one now): the Retry-After value. */
  retryAfterSeconds(key: string, now: number): number {
    const missing = 1 - this.tokens(key, now);
    return missing <= 0 ? 0 : Math.ceil(missing / this.policy.refillPerSecond);
  }
}
