// Path selection (docs/TPDP.md §8.2): three distinct relays, the exit first (it must allow what
// the circuit is for), then middle and guard, each with probability proportional to its
// advertised bandwidth; with several pools, hops from different pools where possible so no single
// pool chooses the whole path; never two relays of one declared family, nor of one /16 off loopback.
import type { CryptoProvider } from '../crypto/provider.ts';
import type { DirectoryRelay } from '../directory.ts';
import { TpdpError } from '../errors.ts';
import { MAX_EXTEND_URL_BYTES } from '../control-cells.ts';
import { utf8 } from '../bytes.ts';
import { acceptsAnyPort, parsePortPolicy, policyAccepts, type PortPolicy } from '../port-policy.ts';

export interface PathRequirements {
  /** The circuit will carry streams to private or loopback addresses. */
  allowPrivate: boolean;
  /** Destination port of the stream the circuit is built for: the exit's policy must accept it. */
  port?: number;
  /** Relay ids to avoid (recently unreachable). */
  avoid?: ReadonlySet<string>;
  length?: number;
}

/**
 * Selection weight floor, bytes per second: a new relay advertises 0 until it has carried
 * traffic, and would never be picked (so never measured) without it.
 */
export const MIN_WEIGHT = 100_000;
/** Weight cap (10 Gbit/s): bandwidth is self-reported, so one relay's claim is bounded. */
export const MAX_WEIGHT = 1_250_000_000;

export function selectionWeight(relay: Pick<DirectoryRelay, 'bandwidth'>): number {
  return Math.min(Math.max(relay.bandwidth, MIN_WEIGHT), MAX_WEIGHT);
}

/** Policies parsed once per verified descriptor, not once per path. */
const parsedPolicies = new WeakMap<object, PortPolicy>();

/** Whether the relay's exit policy lets it carry a stream to `port` (any port when undefined). */
export function exitAccepts(relay: Pick<DirectoryRelay, 'exit'>, port: number | undefined): boolean {
  let policy = parsedPolicies.get(relay.exit);
  if (!policy) parsedPolicies.set(relay.exit, (policy = parsePortPolicy(relay.exit.policy)));
  return port === undefined ? acceptsAnyPort(policy) : policyAccepts(policy, port);
}

/**
 * Whether two relays are one family: each lists the other. A one-sided claim counts for nothing,
 * or a hostile relay could list every honest relay as family, never share a path with them, and
 * so be paired only with its accomplices.
 */
export function sameFamily(a: Pick<DirectoryRelay, 'id' | 'family'>, b: Pick<DirectoryRelay, 'id' | 'family'>): boolean {
  return (a.family?.includes(b.id) ?? false) && (b.family?.includes(a.id) ?? false);
}

const TWO_POW_53 = 2 ** 53;

/** An unbiased random integer below n (at most 2^53) from the injected CSPRNG. */
export function randomBelow(crypto: CryptoProvider, n: number): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError('empty choice');
  const limit = Math.floor(TWO_POW_53 / n) * n;
  for (;;) {
    const b = crypto.randomBytes(7);
    // 53 random bits: the low 5 bits of the first byte, then 48 more.
    const value = (b[0] & 0x1f) * 2 ** 48 + ((b[1] << 16) | (b[2] << 8) | b[3]) * 2 ** 24 + ((b[4] << 16) | (b[5] << 8) | b[6]);
    if (value < limit) return value % n;
  }
}

/** One relay, with probability proportional to its selection weight. */
export function weightedChoice<T extends Pick<DirectoryRelay, 'bandwidth'>>(crypto: CryptoProvider, candidates: T[]): T {
  const total = candidates.reduce((sum, c) => sum + selectionWeight(c), 0);
  let point = randomBelow(crypto, total);
  for (const candidate of candidates) {
    point -= selectionWeight(candidate);
    if (point < 0) return candidate;
  }
  throw new RangeError('empty choice');
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
  if (a.id === b.id || sameFamily(a, b)) return false;
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
    return weightedChoice(crypto, from);
  };
  const exits = usable.filter((r) => (!requirements.allowPrivate || r.exit.allowPrivate) && exitAccepts(r, requirements.port));
  const exit = pick(exits, []);
  if (!exit) throw new TpdpError('HOP_UNREACHABLE', noExitMessage(usable, requirements));
  const path = [exit];
  while (path.length < length) {
    const next = pick(usable, path);
    if (!next) throw new TpdpError('HOP_UNREACHABLE', `the pool list has ${usable.length} usable relays; a path needs ${length} distinct ones`);
    path.unshift(next);
  }
  return path;
}

function noExitMessage(usable: DirectoryRelay[], requirements: PathRequirements): string {
  if (usable.length === 0) return 'the pool list has no usable relay';
  const port = requirements.port === undefined ? 'any port' : `port ${requirements.port}`;
  if (requirements.allowPrivate) {
    return usable.some((r) => r.exit.allowPrivate)
      ? `no relay that allows private destinations (--allow-private) has an exit policy accepting ${port}`
      : 'no relay in the pool list allows private destinations (--allow-private)';
  }
  return `no relay in the pool list has an exit policy accepting ${port}`;
}
