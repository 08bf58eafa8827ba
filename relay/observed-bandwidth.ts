// The bandwidth a relay advertises in its descriptor (docs/POOL.md, `bandwidth`). Like Tor's
// observed bandwidth: the highest rate the relay sustained over any 10-second window recently,
// in the busier direction of its links, capped by the operator's configured rate. Clients weight
// path selection by it (docs/TPDP.md §8.2); it is republished when it changes by half or double.
export const WINDOW_SECONDS = 10;
/** How long a peak counts: a relay that was busy yesterday can be busy again. */
export const HISTORY_MS = 24 * 3600_000;
/** Peaks are kept per bucket of this length, so the history is 24 numbers. */
const BUCKET_MS = 3600_000;
/** A change by this factor (either way) is worth a new descriptor… */
const CHANGE_FACTOR = 2;
/** …at most this often (Tor likewise limits bandwidth-driven uploads). */
export const MIN_REPUBLISH_MS = 20 * 60_000;

export type ByteTotals = { received: number; sent: number };

/** Fed with the relay's cumulative byte counts once a second; answers the observed bandwidth. */
export class ObservedBandwidth {
  /** The last WINDOW_SECONDS + 1 samples, oldest first. */
  private readonly samples: ByteTotals[] = [];
  /** Highest 10-second rate per hour bucket, keyed by the bucket's start. */
  private readonly peaks = new Map<number, number>();

  sample(totals: ByteTotals, now: number): void {
    this.samples.push(totals);
    if (this.samples.length <= WINDOW_SECONDS) return;
    if (this.samples.length > WINDOW_SECONDS + 1) this.samples.shift();
    const first = this.samples[0];
    const rate = Math.max(totals.received - first.received, totals.sent - first.sent) / WINDOW_SECONDS;
    const bucket = now - (now % BUCKET_MS);
    this.peaks.set(bucket, Math.max(this.peaks.get(bucket) ?? 0, rate));
    for (const start of this.peaks.keys()) if (start + BUCKET_MS <= now - HISTORY_MS) this.peaks.delete(start);
  }

  /** Bytes per second, an integer; 0 until a full window was seen. */
  value(): number {
    return Math.floor(Math.max(0, ...this.peaks.values()));
  }
}

/** What to advertise: the observed bandwidth, never more than the configured rate. */
export function advertisedBandwidth(observed: number, rate: number | undefined): number {
  return Math.floor(rate === undefined ? observed : Math.min(rate, observed));
}

/** Whether `next` differs enough from what pools list to sign a new descriptor now. */
export function worthRepublishing(published: number, next: number, sincePublishedMs: number): boolean {
  if (sincePublishedMs < MIN_REPUBLISH_MS || next === published) return false;
  return published === 0 || next >= published * CHANGE_FACTOR || next * CHANGE_FACTOR <= published;
}

export interface BandwidthAdvertiserOptions {
  totals(): ByteTotals;
  /** The operator's configured rate (bytes per second), if any. */
  rate?: number;
  /** Registers a descriptor with the new value with every pool. */
  publish(bandwidth: number): void;
}

/** Samples once a second and republishes when the advertised value changed enough. */
export function startBandwidthAdvertiser(options: BandwidthAdvertiserOptions): { stop(): void } {
  const observed = new ObservedBandwidth();
  let published = 0;
  let publishedAt = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    observed.sample(options.totals(), now);
    const next = advertisedBandwidth(observed.value(), options.rate);
    if (!worthRepublishing(published, next, now - publishedAt)) return;
    published = next;
    publishedAt = now;
    options.publish(next);
  }, 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
