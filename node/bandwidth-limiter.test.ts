import { describe, expect, it } from 'vitest';
import { TokenBucketLimiter, UNLIMITED, type BandwidthClock } from './bandwidth-limiter.ts';

/** A clock the test moves by hand; timers fire as it passes them. */
function fakeClock() {
  let now = 0;
  let timers: { at: number; callback: () => void }[] = [];
  const clock: BandwidthClock & { advance(ms: number): void; pending(): number } = {
    now: () => now,
    setTimeout(callback, ms) {
      timers.push({ at: now + ms, callback });
      return undefined;
    },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.callback();
      }
      now = end;
    },
    pending: () => timers.length,
  };
  return clock;
}

function reader() {
  const events: string[] = [];
  return { events, pause: () => events.push('pause'), resume: () => events.push('resume') };
}

describe('bandwidth limiter', () => {
  it('lets a burst through at once, then pauses every reader until a tenth of a second of rate is back', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ rate: 1000, burst: 3000 }, clock);
    const a = reader();
    const b = reader();
    const ha = limiter.register(a);
    limiter.register(b);
    ha.read(2999);
    expect(a.events).toEqual([]);
    ha.read(500); // 499 bytes of debt
    expect(a.events).toEqual(['pause']);
    expect(b.events).toEqual(['pause']);
    expect(ha.throttled).toBe(true);
    // Debt 499 + 100 (a tenth of a second's rate) = 599 ms before reading resumes.
    clock.advance(598);
    expect(a.events).toEqual(['pause']);
    clock.advance(1);
    expect(a.events).toEqual(['pause', 'resume']);
    expect(b.events).toEqual(['pause', 'resume']);
    expect(ha.throttled).toBe(false);
    expect(clock.pending()).toBe(0);
  });

  it('holds the long-run rate: bytes read over time never exceed burst + rate × time', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ rate: 10_000, burst: 20_000 }, clock);
    const r = reader();
    const handle = limiter.register(r);
    let read = 0;
    // A greedy reader: 1500-byte chunks every millisecond whenever it is not paused.
    for (let ms = 0; ms < 10_000; ms++) {
      if (!handle.throttled) {
        handle.read(1500);
        read += 1500;
      }
      clock.advance(1);
    }
    // 20 000 burst + 100 000 over ten seconds, give or take the one chunk read into debt.
    expect(read).toBeGreaterThan(0.97 * 120_000);
    expect(read).toBeLessThanOrEqual(120_000 + 1500);
  });

  it('refills to the burst at most', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ rate: 1000, burst: 2000 }, clock);
    limiter.register(reader()).read(2000);
    clock.advance(60_000);
    expect(limiter.available()).toBe(2000);
  });

  it('pauses a reader that registers while the bucket is empty, and forgets a detached one', () => {
    const clock = fakeClock();
    const limiter = new TokenBucketLimiter({ rate: 1000, burst: 1000 }, clock);
    const first = reader();
    limiter.register(first).read(1500);
    const late = reader();
    const handle = limiter.register(late);
    expect(late.events).toEqual(['pause']);
    handle.detach();
    clock.advance(1000);
    expect(late.events).toEqual(['pause']);
    expect(first.events).toEqual(['pause', 'resume']);
  });

  it('refuses a burst below the rate', () => {
    expect(() => new TokenBucketLimiter({ rate: 1000, burst: 999 })).toThrow(/burst >= rate/);
  });

  it('does nothing at all when unlimited', () => {
    const r = reader();
    const handle = UNLIMITED.register(r);
    handle.read(1e12);
    expect(handle.throttled).toBe(false);
    expect(r.events).toEqual([]);
  });
});
