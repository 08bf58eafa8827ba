// Per-source limits on the relay's listening side, in the spirit of Tor's DoS defences:
// - connections (DoSConnectionMaxConcurrentCount, DoSConnectionConnectRate/Burst): one address may
//   hold only so many TCP connections at once, and open new ones only at a bounded rate;
// - circuit creation (DoSCircuitCreationRate/Burst/MinConnections): an address holding several
//   links may create circuits only at a bounded rate; CREATE cells beyond it are refused before
//   any handshake work is done, so a flood costs the relay neither CPU nor memory.
// A relay reaches another over one link per direction, and a client over one link per first hop,
// so the circuit limit binds only sources that hold several links: floods, or addresses shared by
// many clients (NAT). A source that was limited stays limited, whatever it holds, until its budget
// has refilled. Sources are peer addresses, IPv6 by /64.
import type { Logger } from '../node/log.ts';
import { TokenBuckets, type BucketPolicy } from '../node/token-buckets.ts';
import { sourceKey } from '../node/peer-address.ts';
import { throttledWarning } from './throttled-log.ts';
import type { RejectionLimit } from '../shared/relay-events.ts';

export interface SourceLimits {
  /** Connections one source may hold open at once (Tor: 50). */
  maxConnectionsPerSource: number;
  /** New connections per source: a burst, then a steady rate (Tor: burst 40, 20 per second). */
  connectionRate: BucketPolicy;
  /** Circuits a source may create once it holds circuitRateMinConnections links (Tor: burst 90, 3 per second). */
  circuitRate: BucketPolicy;
  /** Links a source must hold before its circuit rate is limited (Tor: 3). */
  circuitRateMinConnections: number;
  /** Sources whose rates are tracked at once; past it the oldest is forgotten. */
  maxSources: number;
}

export const DEFAULT_SOURCE_LIMITS: SourceLimits = {
  maxConnectionsPerSource: 50,
  connectionRate: { capacity: 40, refillPerSecond: 20 },
  circuitRate: { capacity: 90, refillPerSecond: 3 },
  circuitRateMinConnections: 3,
  maxSources: 100_000,
};

/** What an admitted connection holds: its place in the source's count, and the source's circuit budget. */
export interface SourceTicket {
  release(): void;
  /** Whether the source may create one more circuit now (spends it if so). */
  mayCreateCircuit(now: number): boolean;
}

export class SourceGate {
  private readonly limits: SourceLimits;
  private readonly open = new Map<string, number>();
  private readonly connections: TokenBuckets;
  private readonly circuits: TokenBuckets;
  private readonly warnConcurrent: () => void;
  private readonly warnConnectionRate: () => void;
  private readonly warnCircuitRate: () => void;
  private readonly rejections: Record<RejectionLimit, number>;

  /** Refusals are counted in `rejections` (shared/relay-events.ts). */
  constructor(limits: SourceLimits, log: Logger, rejections: Record<RejectionLimit, number>) {
    this.limits = limits;
    this.rejections = rejections;
    this.connections = new TokenBuckets(limits.connectionRate, limits.maxSources);
    this.circuits = new TokenBuckets(limits.circuitRate, limits.maxSources);
    this.warnConcurrent = throttledWarning(log, `connection refused: a source already holds ${limits.maxConnectionsPerSource} connections (per-source limit)`);
    this.warnConnectionRate = throttledWarning(
      log,
      `connection refused: a source opens connections faster than ${limits.connectionRate.refillPerSecond}/s after a burst of ${limits.connectionRate.capacity} (per-source limit)`,
    );
    this.warnCircuitRate = throttledWarning(
      log,
      `CREATE refused with RESOURCE_LIMIT: a source holding ${limits.circuitRateMinConnections} or more links creates circuits faster than ${limits.circuitRate.refillPerSecond}/s after a burst of ${limits.circuitRate.capacity} (per-source limit)`,
    );
  }

  /** Admits a new connection from `address`, or returns undefined to refuse it. */
  admit(address: string, now: number): SourceTicket | undefined {
    const key = sourceKey(address);
    const held = this.open.get(key) ?? 0;
    if (held >= this.limits.maxConnectionsPerSource) {
      this.rejections.source_connections++;
      this.warnConcurrent();
      return undefined;
    }
    if (!this.connections.take(key, now)) {
      this.rejections.source_new_connections++;
      this.warnConnectionRate();
      return undefined;
    }
    this.open.set(key, held + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const left = (this.open.get(key) ?? 1) - 1;
        if (left > 0) this.open.set(key, left);
        else this.open.delete(key);
      },
      mayCreateCircuit: (time) => {
        // A source below the link count is free, unless it was limited and its budget has not
        // refilled yet: a flood whose links are closed one by one must not go on unlimited on
        // the last two.
        const fewLinks = (this.open.get(key) ?? 0) < this.limits.circuitRateMinConnections;
        if ((fewLinks && !this.circuits.isRefilling(key, time)) || this.circuits.take(key, time)) return true;
        this.rejections.source_create_rate++;
        this.warnCircuitRate();
        return false;
      },
    };
  }
}
