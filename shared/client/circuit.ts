// The client's end of one circuit (docs/TPDP.md §4–§5): builds it hop by hop (CREATE to the
// first relay, then EXTEND through the last one built), wraps and unwraps the onion layers, checks
// every backward cell's tag, and hands stream messages from the last hop to its StreamMux.
import type { BeginRequest } from '../begin.ts';
import { fromBase64Url } from '../bytes.ts';
import type { RelayDescriptor } from '../descriptor.ts';
import { encodeBegin } from '../begin.ts';
import { bodiesOf, CELL_BODY_SIZE, CELL_COMMANDS, type Cell } from '../cell.ts';
import { decodeCreated, decodeDestroy, encodeCreate, encodeExtend } from '../control-cells.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { describeReason, isTpdpError, TpdpError, type ReasonName } from '../errors.ts';
import { clientHandshakeFinish, clientHandshakeStart, type ClientHandshakeState } from '../handshake.ts';
import { HopCrypto } from '../hop-crypto.ts';
import type { Layers, Link } from '../link.ts';
import { decodeRelayBody, encodeRelayBody, RELAY_COMMANDS, type RelayCommand, type RelayMessage } from '../relay-cell.ts';
import type { CircuitStream } from '../stream.ts';
import { StreamMux } from '../stream-mux.ts';

/** A relay as the client needs it to build a hop. */
export interface HopTarget {
  readonly id: string;
  readonly url: string;
  readonly identityKey: Uint8Array;
  readonly onionKey: Uint8Array;
}

// One per descriptor, so every build through a relay hands the crypto provider the same key
// arrays: node:crypto keeps the key objects it imports by array, and a fresh array per build cost
// an onion-key import (16 µs) per hop.
const hopTargets = new WeakMap<object, HopTarget>();

/** The handshake inputs of a relay from its (verified) descriptor, decoded once per descriptor. */
export function hopTargetOf(relay: Pick<RelayDescriptor, 'id' | 'url' | 'identityKey' | 'onionKey'>): HopTarget {
  let target = hopTargets.get(relay);
  if (!target) {
    target = { id: relay.id, url: relay.url, identityKey: fromBase64Url(relay.identityKey), onionKey: fromBase64Url(relay.onionKey) };
    hopTargets.set(relay, target);
  }
  return target;
}

export type CircuitState = 'building' | 'open' | 'closed';

export interface CircuitOptions {
  crypto: CryptoProvider;
  link: Link;
  circuitId: number;
  /** Called when the circuit closes, so the owner can drop it from its tables. */
  onClose: (circuit: ClientCircuit, error: TpdpError) => void;
  /** Called when the circuit's last stream closes. */
  onIdle?: (circuit: ClientCircuit) => void;
  handshakeTimeoutMs: number;
  maxStreams?: number;
}

interface PendingHandshake {
  hop: HopTarget;
  state: ClientHandshakeState;
  resolve: () => void;
  reject: (err: TpdpError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class ClientCircuit {
  readonly circuitId: number;
  readonly path: HopTarget[] = [];
  state: CircuitState = 'building';
  closeError?: TpdpError;
  private readonly options: CircuitOptions;
  private readonly link: Link;
  private readonly hops: HopCrypto[] = [];
  /** Per target hop t: the forward layers a cell for it is sealed under, t's first, hop 0's last. */
  private readonly forwardLayers: Layers[] = [];
  private readonly mux: StreamMux;
  private pending?: PendingHandshake;

  constructor(options: CircuitOptions) {
    this.options = options;
    this.link = options.link;
    this.circuitId = options.circuitId;
    this.mux = new StreamMux({
      send: (command, streamId, data) => this.sendRelay(this.hops.length - 1, command, streamId, data),
      maxStreams: options.maxStreams ?? 256,
      onIdle: () => options.onIdle?.(this),
    });
  }

  get streamCount(): number {
    return this.mux.size;
  }

  /** Builds the whole path; rejects with a TpdpError (and the circuit is destroyed) on failure. */
  async build(path: HopTarget[]): Promise<void> {
    for (const hop of path) {
      await this.addHop(hop);
    }
    this.state = 'open';
  }

  /**
   * Opens a stream at the exit. A connect stream resolves once the exit accepted it. A fetch
   * stream resolves at once and its request follows BEGIN without waiting for CONNECTED
   * (optimistic data, docs/TPDP.md §6.1): the exit accepts fetch streams as it reads BEGIN, so
   * this saves a circuit round trip; a refusal still arrives, as END, and closes the stream.
   */
  openStream(request: BeginRequest): Promise<CircuitStream> {
    if (this.state !== 'open') return Promise.reject(this.closeError ?? new TpdpError('PROTOCOL_ERROR', 'circuit is not open'));
    if (request.kind === 'fetch') return Promise.resolve(this.mux.open(encodeBegin(request), true));
    const stream = this.mux.open(encodeBegin(request));
    return new Promise((resolve, reject) => {
      stream.onOpen = () => resolve(stream);
      stream.onClose = (error) => reject(error ?? new TpdpError('DESTINATION_CONNECTION_ERROR', 'stream closed before it opened'));
    });
  }

  /** Tears the circuit down and tells the first relay, which propagates it along the path. */
  destroy(reason: ReasonName = 'DONE', detail?: string): void {
    if (this.state === 'closed') return;
    this.link.send(this.circuitId, CELL_COMMANDS.DESTROY, Uint8Array.of(0));
    this.close(new TpdpError(reason, detail ?? describeReason(reason)));
  }

  /** The link delivered consecutive cells of one message for this circuit. */
  handleCells(cells: Cell[]): void {
    for (let i = 0; i < cells.length && this.state !== 'closed'; ) {
      let end = i + 1;
      if (cells[i].command === CELL_COMMANDS.RELAY && this.state === 'open') {
        while (end < cells.length && cells[end].command === CELL_COMMANDS.RELAY) end++;
        this.guard(() => this.receiveRelayRun(cells, i, end));
      } else this.handleCell(cells[i]);
      i = end;
    }
  }

  /** One cell of handleCells that is not part of a run of RELAY cells on an open circuit. */
  private handleCell(cell: Cell): void {
    if (this.state === 'closed') return;
    this.guard(() => {
      switch (cell.command) {
        case CELL_COMMANDS.PADDING:
          return;
        case CELL_COMMANDS.CREATED:
          if (this.hops.length !== 0) throw new TpdpError('PROTOCOL_ERROR', 'CREATED after the first hop');
          return this.completeHandshake(decodeCreated(cell.body));
        case CELL_COMMANDS.RELAY:
          return this.receiveRelay(cell.body);
        case CELL_COMMANDS.DESTROY: {
          const reason = decodeDestroy(cell.body);
          if (this.pending && reason === 'PROTOCOL_ERROR') {
            // The one refusal an honest relay gives a well-formed handshake: a key it no longer holds.
            const who = `relay ${this.pending.hop.id.slice(0, 8)}`;
            return this.close(new TpdpError(reason, `${who} refused the handshake (protocol error): if it rotated its onion key past the grace period, the relay list is out of date and must be fetched again`));
          }
          return this.close(new TpdpError(reason, `circuit destroyed by the network: ${describeReason(reason)}`));
        }
        default:
          throw new TpdpError('PROTOCOL_ERROR', `unexpected cell command ${cell.command} toward the client`);
      }
    });
  }

  /** Runs a step of cell handling; a failure destroys the circuit with its code. */
  private guard(step: () => void): void {
    try {
      step();
    } catch (err) {
      const error = isTpdpError(err) ? err : new TpdpError('INTERNAL_ERROR', (err as Error).message);
      this.destroy(error.code, error.message);
    }
  }

  /** The link under the circuit closed. */
  linkClosed(reason: ReasonName, detail: string): void {
    this.close(new TpdpError('LINK_CLOSED', `connection to the first relay closed (${reason}: ${detail})`));
  }

  private addHop(hop: HopTarget): Promise<void> {
    const { state, message } = clientHandshakeStart(this.options.crypto, hop.identityKey, hop.onionKey);
    return new Promise<void>((resolve, reject) => {
      if (this.state === 'closed') return reject(this.closeError);
      const timer = setTimeout(() => {
        this.destroy('TIMEOUT_ERROR', `relay ${hop.id.slice(0, 8)} did not complete the handshake within ${this.options.handshakeTimeoutMs} ms`);
      }, this.options.handshakeTimeoutMs);
      this.pending = { hop, state, resolve, reject, timer };
      if (this.hops.length === 0) {
        this.link.send(this.circuitId, CELL_COMMANDS.CREATE, encodeCreate(message));
      } else {
        this.sendRelay(this.hops.length - 1, RELAY_COMMANDS.EXTEND, 0, encodeExtend({ url: hop.url, handshake: message }), true);
      }
    });
  }

  private completeHandshake(reply: Uint8Array): void {
    const pending = this.pending;
    if (!pending) throw new TpdpError('PROTOCOL_ERROR', 'unexpected handshake reply');
    this.pending = undefined;
    clearTimeout(pending.timer);
    const keys = clientHandshakeFinish(this.options.crypto, pending.state, reply);
    const hop = new HopCrypto(this.options.crypto, keys, CELL_BODY_SIZE);
    this.hops.push(hop);
    this.forwardLayers.push([hop.forward, ...(this.forwardLayers.at(-1) ?? [])]);
    this.path.push(pending.hop);
    pending.resolve();
  }

  private receiveRelay(body: Uint8Array): void {
    for (let i = 0; i < this.hops.length; i++) {
      this.hops[i].backward.xorInPlace(body);
      if (!this.hops[i].backwardTags.open(body)) continue;
      const message = decodeRelayBody(body);
      if (message.command === RELAY_COMMANDS.EXTENDED) {
        if (!this.pending || i !== this.hops.length - 1) throw new TpdpError('PROTOCOL_ERROR', 'unexpected EXTENDED');
        return this.completeHandshake(decodeCreated(message.data));
      }
      return this.deliver(i, message);
    }
    throw new TpdpError('INTEGRITY_ERROR', 'a relay cell failed its integrity check');
  }

  /**
   * RELAY cells[start..end) on a built circuit, whose hops no longer change: each hop's layer is
   * taken off every run of adjacent cells still unrecognised in one call, then the cells are
   * handled in order. Same keystream and tag order as receiveRelay, cell by cell (§5.2.3).
   */
  private receiveRelayRun(cells: Cell[], start: number, end: number): void {
    const from = new Array<number>(end - start).fill(-1);
    for (let i = 0; i < this.hops.length; i++) {
      const hop = this.hops[i];
      for (let k = start; k < end; ) {
        if (from[k - start] >= 0) {
          k++;
          continue;
        }
        let last = k;
        while (last + 1 < end && from[last + 1 - start] < 0) last++;
        hop.backward.xorInPlace(bodiesOf(cells[k], cells[last]));
        for (; k <= last; k++) if (hop.backwardTags.open(cells[k].body)) from[k - start] = i;
      }
    }
    for (let k = start; k < end && this.state === 'open'; k++) {
      const i = from[k - start];
      if (i < 0) throw new TpdpError('INTEGRITY_ERROR', 'a relay cell failed its integrity check');
      const message = decodeRelayBody(cells[k].body);
      if (message.command === RELAY_COMMANDS.EXTENDED) throw new TpdpError('PROTOCOL_ERROR', 'unexpected EXTENDED');
      this.deliver(i, message);
    }
  }

  private deliver(hopIndex: number, message: RelayMessage): void {
    if (hopIndex !== this.hops.length - 1 || this.state !== 'open') throw new TpdpError('PROTOCOL_ERROR', `relay command ${message.command} from a middle hop`);
    this.mux.handle(message.command, message.streamId, message.data);
  }

  private sendRelay(hopIndex: number, command: RelayCommand, streamId: number, data: Uint8Array, early = false): void {
    if (this.state === 'closed') return;
    const body = encodeRelayBody(command, streamId, data);
    this.hops[hopIndex].forwardTags.seal(body);
    this.link.send(this.circuitId, early ? CELL_COMMANDS.RELAY_EARLY : CELL_COMMANDS.RELAY, body, this.forwardLayers[hopIndex]);
  }

  private close(error: TpdpError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeError = error;
    if (this.pending) {
      clearTimeout(this.pending.timer);
      this.pending.reject(error);
      this.pending = undefined;
    }
    this.mux.failAll(error);
    this.options.onClose(this, error);
  }
}
