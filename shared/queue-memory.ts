// The relay's bound on queued cell bytes (Tor's MaxMemInQueues): when the bytes waiting in all its
// links' transports exceed it, the circuits holding the most are closed until the rest fits. A
// peer that stops reading (or a client that asks for data and never takes it) then loses its own
// circuits, and every other circuit keeps its share of memory.
import type { Link } from './link.ts';

/** A link's backlog below this is a peer keeping up: the relay-wide sum is not computed for it. */
export const MEMORY_CHECK_FLOOR = 16 * 1024;
/** The relay-wide sum is computed at most this often. */
export const MEMORY_CHECK_INTERVAL_MS = 100;

export interface Shedding<Circuit> {
  /** Bytes waiting in every link. */
  queued: number;
  /** Of those, bytes no circuit could be found for (cells sent around the links' records). */
  unattributed: number;
  /** Circuits to close, most queued bytes first, with their bytes; empty when `queued` fits. */
  victims: { circuit: Circuit; bytes: number }[];
}

/** Which circuits to close so that what `links` hold fits in `maxBytes`. */
export function circuitsToShed<Circuit>(links: ReadonlyMap<Link, { circuits: Map<number, Circuit> }>, maxBytes: number): Shedding<Circuit> {
  let queued = 0;
  for (const [link] of links) queued += link.bufferedAmount;
  if (queued <= maxBytes) return { queued, unattributed: 0, victims: [] };
  const held = new Map<Circuit, number>();
  for (const [link, state] of links) {
    for (const [id, bytes] of link.queuedByCircuit()) {
      const circuit = state.circuits.get(id);
      if (circuit !== undefined) held.set(circuit, (held.get(circuit) ?? 0) + bytes);
    }
  }
  let attributed = 0;
  for (const bytes of held.values()) attributed += bytes;
  const victims: Shedding<Circuit>['victims'] = [];
  let left = queued;
  for (const [circuit, bytes] of [...held].sort((a, b) => b[1] - a[1])) {
    if (left <= maxBytes) break;
    victims.push({ circuit, bytes });
    left -= bytes;
  }
  return { queued, unattributed: Math.max(0, queued - attributed), victims };
}
