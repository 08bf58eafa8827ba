// Path selection (docs/TPDP.md §8): three distinct relays, the exit first (it must allow what
// the circuit is for), then middle and guard; with several pools, hops from different pools where
// possible so no single pool chooses the whole path; never two relays of one /16 off loopback.
import type { CryptoProvider } from '../crypto/provider.ts';
import type { DirectoryRelay } from '../directory.ts';
import { TpdpError } from '../errors.ts';
import { MAX_EXTEND_URL_BYTES } from '../control-cells.ts';
import { utf8 } from '../bytes.ts';

export interface PathRequirements {
  /** The circuit will carry streams to private or loopback addresses. */
  allowPrivate: boolean;
  /** Relay ids to avoid (recently unreachable). */
  avoid?: ReadonlySet<string>;
  length?: number;
}

/** An unbiased random index below n from the injected CSPRNG. */
export function randomIndex(crypto: CryptoProvider, n: number): number {
  if (n <= 0) throw new RangeError('empty choice');
  const limit = Math.floor(0x1_0000_0000 / n) * n;
  for (;;) {
    const b = crypto.randomBytes(4);
    const value = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
    if (value < limit) return value % n;
  }
}

function hostOf(relay: DirectoryRelay): string {
  try {
    return new URL(relay.url).hostname;
  } catch {
    return '';
  }
}

/** The /16 of an IPv4 host, or undefined for loopback and names (the constraint does not apply). */
function subnet16(relay: DirectoryRelay): string | undefined {
  const host = hostOf(relay);
  const m = /^(\d+)\.(\d+)\.\d+\.\d+$/.exec(host);
  if (!m || m[1] === '127') return undefined;
  return `${m[1]}.${m[2]}`;
}

function compatible(a: DirectoryRelay, b: DirectoryRelay): boolean {
  if (a.id === b.id) return false;
  const sa = subnet16(a);
  return sa === undefined || sa !== subnet16(b);
}

export function choosePath(relays: DirectoryRelay[], crypto: CryptoProvider, requirements: PathRequirements): DirectoryRelay[] {
  const length = requirements.length ?? 3;
  const usable = relays.filter((r) => !requirements.avoid?.has(r.id) && utf8(r.url).length <= MAX_EXTEND_URL_BYTES);
  const pick = (candidates: DirectoryRelay[], chosen: DirectoryRelay[]): DirectoryRelay | undefined => {
    const fitting = candidates.filter((c) => chosen.every((p) => compatible(c, p)));
    if (fitting.length === 0) return undefined;
    // Prefer relays listed by a pool that lists none of the hops chosen so far.
    const usedPools = new Set(chosen.flatMap((p) => p.pools));
    const diverse = fitting.filter((c) => c.pools.some((pool) => !usedPools.has(pool)));
    const from = diverse.length > 0 ? diverse : fitting;
    return from[randomIndex(crypto, from.length)];
  };
  const exits = usable.filter((r) => !requirements.allowPrivate || r.exit.allowPrivate);
  const exit = pick(exits, []);
  if (!exit) {
    throw new TpdpError('HOP_UNREACHABLE', requirements.allowPrivate ? 'no relay in the pool list allows private destinations (--allow-private)' : 'the pool list has no usable relay');
  }
  const path = [exit];
  while (path.length < length) {
    const next = pick(usable, path);
    if (!next) throw new TpdpError('HOP_UNREACHABLE', `the pool list has ${usable.length} usable relays; a path needs ${length} distinct ones`);
    path.unshift(next);
  }
  return path;
}
