// Option values as operators write them, each checked into what the code takes, with a usage
// error naming the option when it is not (the CLI appends where the value was set).
import { CliError } from './command.ts';

/** Parses a TCP port option; 0 means "any free port". */
export function portOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--${name} must be a port number (0-65535), got "${value}"`, 2);
  return port;
}

/** Parses a positive duration given in seconds (fractions allowed), returning milliseconds. */
export function secondsOption(value: unknown, name: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliError(`--${name} must be a positive number of seconds, got "${value}"`, 2);
  return Math.round(seconds * 1000);
}

/** A whole number option of at least `min`. */
export function countOption(value: unknown, name: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const count = Number(value);
  if (!Number.isSafeInteger(count) || count < min || String(value).trim() === '') throw new CliError(`--${name} must be a whole number of at least ${min}, got "${value}"`, 2);
  return count;
}

/** A positive number of events per second (fractions allowed: 0.1 is one every 10 s). */
export function perSecondOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0 || String(value).trim() === '') throw new CliError(`--${name} must be a positive number per second, got "${value}"`, 2);
  return rate;
}

const UNIT_MS: Record<string, number> = { '': 1000, s: 1000, m: 60_000, h: 3600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** A duration as "90", "90s", "15m", "12h", "28d" or "1w" (fractions allowed), in milliseconds. */
export function durationOption(value: unknown, name: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$/i.exec(String(value));
  const ms = match ? Math.round(Number(match[1]) * UNIT_MS[match[2].toLowerCase()]) : NaN;
  if (!(ms > 0) || !Number.isSafeInteger(ms)) {
    throw new CliError(`--${name} must be a positive duration: seconds, or a number with s, m, h, d or w (e.g. 28d), got "${value}"`, 2);
  }
  return ms;
}
