// Per-source connection limits on the relay's listening side, in the spirit of Tor's DoS defences
// (DoSConnectionMaxConcurrentCount, DoSConnectionConnectRate/Burst): one address may hold only so
// many TCP connections at once, and open new ones only at a bounded rate, so it cannot use up the
// relay's connection table or keep it busy with handshakes. Relays reach each other over one link
// per pair, so the limits only ever bind clients. Sources are peer addresses, IPv6 by /64.
import type { Logger } from '../node/log.ts';
import { TokenBuckets, type BucketPolicy } from '../site/rate-limit.ts';
import { sourceKey } from '../site/peer.ts';
import { throttledWarning } from './throttled-log.ts';

export interface SourceLimits {
  /** Connections one source may hold open at once (Tor: 50). */
  maxConnectionsPerSource: number;
  /** New connections per source: a burst, then a steady rate (Tor: burst 40, 20 per second). */
  connectionRate: BucketPolicy;
  /** Sources whose connection rate is tracked at once; past it the oldest is forgotten. */
  maxSources: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  maxConnectionsPerSource: 50,
  connectionRate: { capacity: 40, refillPerSecond: 20 },
  maxSources: 100_000,
};

export class ConnectionGate {
  private readonly limits: SourceLimits;
  private readonly open = new Map<string, number>();
  private readonly rate: TokenBuckets;
  private readonly warnConcurrent: () => void;
  private readonly warnRate: () => void;

  constructor(limits: SourceLimits, log: Logger) {
    this.limits = limits;
    this.rate = new TokenBuckets(limits.connectionRate, limits.maxSources);
    this.warnConcurrent = throttledWarning(log, `connection refused: a source already holds ${limits.maxConnectionsPerSource} connections (per-source limit)`);
    this.warnRate = throttledWarning(
      log,
      `connection refused: a source opens connections faster than ${limits.connectionRate.refillPerSecond}/s after a burst of ${limits.connectionRate.capacity} (per-source limit)`,
    );
  }

  /** Admits a new connection from `address`: returns its release, or undefined to refuse it. */
  admit(address: string, now: number): (() => void) | undefined {
    const key = sourceKey(address);
    const held = this.open.get(key) ?? 0;
    if (held >= this.limits.maxConnectionsPerSource) {
      this.warnConcurrent();
      return undefined;
    }
    if (!this.rate.take(key, now)) {
      this.warnRate();
      return undefined;
    }
    this.open.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    };
  }
}
