// Order statistics for latency samples, and unit conversions used in every report.

/** The value below which `p` % of the samples lie (nearest rank). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) throw new RangeError('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const median = (samples: number[]) => percentile(samples, 50);

export const MIB = 1024 * 1024;

/** Throughput in MB/s (10^6 bytes per second, as network figures are usually given). */
export const megabytesPerSecond = (bytes: number, seconds: number) => bytes / seconds / 1e6;

/** Rounds to a few significant digits for display and JSON. */
export function round(x: number, digits = 3): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const scale = 10 ** Math.max(0, digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return Math.round(x * scale) / scale;
}
