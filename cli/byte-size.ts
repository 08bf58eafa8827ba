// Byte sizes and rates as operators write them (Tor's torrc units): "2MB", "512 KiB", "1.5G",
// "1000". Decimal prefixes are powers of 1000 (K, KB, M, MB, G, GB), binary ones powers of 1024
// (KiB, MiB, GiB); the unit's case does not matter. A rate is the same syntax, read per second.
import { CliError } from './command.ts';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Bytes, or undefined when `text` is not a size: a non-negative number and an optional unit. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNITS[match[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** A size option: `fallback` when absent, at least `min` bytes, else a usage error naming the option. */
export function byteSizeOption(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const bytes = parseByteSize(String(value));
  if (bytes === undefined) throw new CliError(`--${name} must be a size in bytes, optionally with a unit (K, KB, KiB, M, MB, MiB, G, GB, GiB), got "${value}"`, 2);
  if (bytes < min) throw new CliError(`--${name} must be at least ${formatByteSize(min)}, got "${value}"`, 2);
  return bytes;
}

/** A size for messages and --help: the largest unit that divides it exactly, else bytes. */
export function formatByteSize(bytes: number): string {
  const units = [['GiB', 1024 ** 3], ['GB', 1e9], ['MiB', 1024 ** 2], ['MB', 1e6], ['KiB', 1024], ['KB', 1e3]] as const;
  for (const [unit, size] of units) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}
