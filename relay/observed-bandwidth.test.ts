import { describe, expect, it } from 'vitest';
import { advertisedBandwidth, HISTORY_MS, MIN_REPUBLISH_MS, ObservedBandwidth, worthRepublishing } from './observed-bandwidth.ts';

/** Feeds one sample a second at `rates` bytes per second (received, sent) from `start`. */
function feed(meter: ObservedBandwidth, start: { t: number; received: number; sent: number }, seconds: number, received: number, sent: number) {
  for (let i = 0; i < seconds; i++) {
    start.t += 1000;
    start.received += received;
    start.sent += sent;
    meter.sample({ received: start.received, sent: start.sent }, start.t);
  }
}

describe('observed bandwidth', () => {
  it('is the highest 10-second rate of the busier direction, and forgets peaks older than a day', () => {
    const meter = new ObservedBandwidth();
    const state = { t: 0, received: 0, sent: 0 };
    feed(meter, state, 9, 1e6, 1e6);
    expect(meter.value()).toBe(0); // no full window yet
    feed(meter, state, 30, 1e6, 3e6);
    expect(meter.value()).toBe(3e6);
    // A 5-second burst at 10 MB/s after 3 MB/s: the best window holds 5 s of each.
    feed(meter, state, 5, 0, 10e6);
    feed(meter, state, 20, 0, 0);
    expect(meter.value()).toBe(6.5e6);
    feed(meter, state, HISTORY_MS / 1000 + 3600, 1000, 1000);
    expect(meter.value()).toBe(1000);
  });

  it('advertises the lesser of the observed bandwidth and the configured rate', () => {
    expect(advertisedBandwidth(5e6, undefined)).toBe(5e6);
    expect(advertisedBandwidth(5e6, 1e6)).toBe(1e6);
    expect(advertisedBandwidth(0, 1e6)).toBe(0);
  });

  it('republishes on a change by half or double, at most every 20 minutes', () => {
    expect(worthRepublishing(0, 1, MIN_REPUBLISH_MS)).toBe(true);
    expect(worthRepublishing(0, 1, MIN_REPUBLISH_MS - 1)).toBe(false);
    expect(worthRepublishing(1000, 1999, MIN_REPUBLISH_MS)).toBe(false);
    expect(worthRepublishing(1000, 2000, MIN_REPUBLISH_MS)).toBe(true);
    expect(worthRepublishing(1000, 501, MIN_REPUBLISH_MS)).toBe(false);
    expect(worthRepublishing(1000, 500, MIN_REPUBLISH_MS)).toBe(true);
    expect(worthRepublishing(1000, 1000, 10 * MIN_REPUBLISH_MS)).toBe(false);
  });
});
