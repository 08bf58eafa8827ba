// What a relay counts as it works: handshakes, circuit errors by reason, and refusals by the limit
// that caused them. Plain numbers in plain objects, incremented in place on the hot path (no
// call, no allocation, no label strings); metrics and the status view read them when they need to.
import { REASONS, type ReasonName } from './errors.ts';

/** Every limit that can refuse work, named as the metrics label `limit` shows it. */
export const REJECTION_LIMITS = [
  /** Circuits on the whole relay (RelayLimits.maxCircuits). */
  'max_circuits',
  /** Circuits on one link, inbound or toward the next relay (RelayLimits.maxCircuitsPerLink). */
  'circuits_per_link',
  /** Streams on one circuit at the exit (RelayLimits.maxStreamsPerCircuit). */
  'streams_per_circuit',
  /** EXTENDs waiting for the next relay (RelayLimits.maxPendingExtends). */
  'pending_extends',
  /** A link closed because its peer did not read (RelayLimits.maxLinkBufferedBytes). */
  'link_buffer',
  /** Circuits closed because the relay's queued cells exceeded RelayLimits.maxQueuedBytes. */
  'max_memory',
  /** RELAY_EARLY cells beyond RelayLimits.maxRelayEarly. */
  'relay_early',
  /** An EXTEND to a relay no pool lists under that URL and identity. */
  'extend_refused',
  /** TCP connections refused: the relay holds its most connections. */
  'max_connections',
  /** TCP connections refused: the source holds its most connections (SourceLimits). */
  'source_connections',
  /** TCP connections refused: the source opens them too fast (SourceLimits.connectionRate). */
  'source_new_connections',
  /** CREATE cells refused: the source creates circuits too fast (SourceLimits.circuitRate). */
  'source_create_rate',
  /** Links closed for a flood of refused CREATE cells. */
  'create_flood',
] as const;

export type RejectionLimit = (typeof REJECTION_LIMITS)[number];

export const REASON_NAMES = Object.keys(REASONS) as ReasonName[];
/** Reasons a circuit ends with when something went wrong: all but DONE, a normal end. */
export const CIRCUIT_ERROR_CODES = REASON_NAMES.filter((code) => code !== 'DONE');

export interface RelayCounters {
  handshakes: { ok: number; failed: number };
  /** Circuits that ended with this reason (a DONE is a normal end, the others are errors). */
  circuitsClosed: Record<ReasonName, number>;
  /** Streams the exit began for clients. */
  streamsOpened: number;
  rejections: Record<RejectionLimit, number>;
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

export function createRelayCounters(): RelayCounters {
  return { handshakes: { ok: 0, failed: 0 }, circuitsClosed: zeros(REASON_NAMES), streamsOpened: 0, rejections: zeros(REJECTION_LIMITS) };
}
