// How both routings (Chrome's own circuits, Firefox's through the local proxy) describe a tab's
// circuit and its troubles to the popup.
import type { RelayView, TabState, TabStatus } from './messages.ts';

/** The circuit part of a tab's status: relay ids guard first, and a label that tells circuits apart. */
export function circuitView(relays: RelayView[], circuitId: number | undefined): Pick<TabStatus, 'circuit' | 'circuitId' | 'relays'> {
  return {
    circuit: relays.map((relay) => relay.id),
    ...(circuitId !== undefined && relays.length > 0 ? { circuitId: `${relays[0].id.slice(0, 8)}/${circuitId}` } : {}),
    relays: relays.map(({ id, url, nickname, pools }) => ({ id, url, ...(nickname ? { nickname } : {}), pools })),
  };
}

/** A circuit could not be built: no relay list at all, or one attempt that failed (another follows). */
export function troubleState(message: string): TabState {
  return /no pool/i.test(message) ? 'no-pool' : 'retrying';
}
