// What the control endpoint says about the circuit of one isolation key: the open circuit the
// client core would give the key's next stream, or else what is happening to it (a build under
// way, the last failure), from the client's circuit events.
import type { AlliumClient } from '../shared/client/client.ts';
import type { CircuitEvent } from '../shared/client/circuit-manager.ts';

export type ControlClient = Pick<AlliumClient, 'circuitFor' | 'newCircuit' | 'prepareCircuit' | 'onCircuitEvent' | 'relays'>;

export interface RelayInfo {
  id: string;
  url: string;
  pools: string[];
}

export interface CircuitInfo {
  /** `none`: the key has no circuit (one is built on its first stream). */
  state: 'none' | 'building' | 'open' | 'failed';
  /** Guard first. For `building` and `failed`, the path being (or that was being) built. */
  relays: RelayInfo[];
  /** Tells two open circuits over the same relays apart (the id on the guard's link). */
  circuitId?: number;
  error?: { code: string; message: string };
}

/** Keys whose build or failure is remembered; beyond, the oldest are forgotten (credentials are unbounded). */
const MAX_WATCHED = 4096;

export class CircuitWatch {
  private readonly client: ControlClient;
  private readonly pending = new Map<string, CircuitInfo>();
  readonly stop: () => void;

  constructor(client: ControlClient) {
    this.client = client;
    this.stop = client.onCircuitEvent((event) => this.event(event));
  }

  info(isolationKey: string): CircuitInfo {
    const managed = this.client.circuitFor(isolationKey);
    if (managed && managed.circuit.state === 'open' && !managed.retired) {
      return { state: 'open', relays: managed.relays.map(relayInfo), circuitId: managed.circuit.circuitId };
    }
    return this.pending.get(isolationKey) ?? { state: 'none', relays: [] };
  }

  private event({ isolationKey, phase, relays, error }: CircuitEvent): void {
    this.pending.delete(isolationKey);
    // An open circuit is reported from the client itself. A circuit that closed because a relay
    // or link failed is worth saying (the next stream builds another); one closed when done is not.
    const failed = phase === 'failed' || (phase === 'closed' && error !== undefined && error.code !== 'DONE');
    if (phase !== 'building' && !failed) return;
    this.pending.set(isolationKey, { state: failed ? 'failed' : 'building', relays: relays.map(relayInfo), ...(error ? { error } : {}) });
    if (this.pending.size > MAX_WATCHED) this.pending.delete(this.pending.keys().next().value!);
  }
}

function relayInfo({ id, url, pools }: RelayInfo): RelayInfo {
  return { id, url, pools };
}
