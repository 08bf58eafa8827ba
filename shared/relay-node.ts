// The relay's circuit switch (docs/TPDP.md §4–§5), free of I/O: links come in through addLink(),
// outbound links, extend authorisation and exit streams are injected. Any relay can be first,
// middle or last hop, and does the same work on every cell whatever its position.
import { bodiesOf, CELL_BODY_SIZE, CELL_COMMANDS, type Cell } from './cell.ts';
import { decodeCreate, decodeCreated, decodeDestroy, decodeExtend, encodeCreate, encodeCreated, encodeDestroy } from './control-cells.ts';
import type { CryptoProvider } from './crypto/provider.ts';
import { unusedCircuitId } from './circuit-id.ts';
import { describeReason, isTpdpError, TpdpError, type ReasonName } from './errors.ts';
import { serverHandshake, type RelayKeys } from './handshake.ts';
import { HopCrypto } from './hop-crypto.ts';
import type { Layers, Link } from './link.ts';
import type { LogSink } from './log-sink.ts';
import { createRelayCounters, type RelayCounters } from './relay-events.ts';
import { circuitsToShed, MEMORY_CHECK_FLOOR, MEMORY_CHECK_INTERVAL_MS } from './queue-memory.ts';
import { decodeRelayBody, encodeRelayBody, RELAY_COMMANDS, type RelayCommand } from './relay-cell.ts';
import type { BeginRequest } from './begin.ts';
import type { CircuitStream } from './stream.ts';
import { StreamMux } from './stream-mux.ts';

export interface RelayLimits {
  /** Circuits one link may carry (Tor has no fixed cap; this bounds one peer's share). */
  maxCircuitsPerLink: number;
  maxCircuits: number;
  maxStreamsPerCircuit: number;
  /** EXTENDs waiting for the next relay's CREATED. */
  maxPendingExtends: number;
  /** Bound on a link without circuits, and on waiting for CREATED (Torpydo: 10 s). */
  handshakeTimeoutMs: number;
  /** An idle link (no circuits) is closed after this long. */
  idleLinkTimeoutMs: number;
  /** RELAY_EARLY cells per circuit, as Tor: bounds how long a path a client can build through us. */
  maxRelayEarly: number;
  /** A link whose unsent bytes exceed this is closed: its peer is not reading. */
  maxLinkBufferedBytes: number;
  /** Cell bytes queued in all links at once; past it the circuits holding most are closed (shared/queue-memory.ts). */
  maxQueuedBytes: number;
}

export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  maxCircuitsPerLink: 16_384,
  maxCircuits: 65_536,
  maxStreamsPerCircuit: 256,
  maxPendingExtends: 512,
  handshakeTimeoutMs: 10_000,
  idleLinkTimeoutMs: 5 * 60_000,
  maxRelayEarly: 8,
  maxLinkBufferedBytes: 32 * 1024 * 1024,
  maxQueuedBytes: 256 * 1024 * 1024,
};

export interface RelayNodeOptions {
  crypto: CryptoProvider;
  keys: RelayKeys;
  limits?: Partial<RelayLimits>;
  /** Opens (or fails to open) a link to another relay. */
  openLink(url: string): Promise<Link>;
  /** Resolves to an error message if the relay at url with this identity must not be extended to. */
  checkExtend(url: string, identityKey: Uint8Array): Promise<string | undefined>;
  /** Serves a stream that a client began at this relay as its exit. */
  exit(stream: CircuitStream, request: BeginRequest): void;
  log: LogSink;
  /** Where the node counts handshakes, errors and refusals; its own if not given. */
  counters?: RelayCounters;
}

export interface RelayStats {
  links: number;
  circuits: number;
  streams: number;
  /** Cell bytes received and sent on links, closed links included. */
  bytesReceived: number;
  bytesSent: number;
}

class RelayCircuit {
  readonly prevLink: Link;
  readonly prevId: number;
  readonly hop: HopCrypto;
  nextLink?: Link;
  nextId = 0;
  extending = false;
  extendTimer?: ReturnType<typeof setTimeout>;
  early = 0;
  mux?: StreamMux;
  closed = false;
  private backwardLayer?: Layers;
  constructor(prevLink: Link, prevId: number, hop: HopCrypto) {
    this.prevLink = prevLink;
    this.prevId = prevId;
    this.hop = hop;
  }

  /**
   * This hop's layer on every backward cell, forwarded or its own, applied when the previous
   * link writes the cell: one keystream, so one place decides its order.
   */
  get backward(): Layers {
    return (this.backwardLayer ??= [this.hop.backward]);
  }
}

interface LinkState {
  circuits: Map<number, RelayCircuit>;
  idleTimer?: ReturnType<typeof setTimeout>;
  /** Whether a circuit was ever created on it: an unused inbound link is a stalled handshake. */
  used: boolean;
}

export class RelayNode {
  private readonly options: RelayNodeOptions;
  private readonly limits: RelayLimits;
  private readonly links = new Map<Link, LinkState>();
  /** Links we opened, by relay URL, so circuits to the same next relay share one link. */
  private readonly outbound = new Map<string, Promise<Link>>();
  private readonly outboundUrl = new Map<Link, string>();
  private circuitCount = 0;
  private pendingExtends = 0;
  private stopping = false;
  private lastMemoryCheck = 0;
  readonly counters: RelayCounters;
  private readonly closedLinkBytes = { received: 0, sent: 0 };

  constructor(options: RelayNodeOptions) {
    this.options = options;
    this.counters = options.counters ?? createRelayCounters();
    this.limits = { ...DEFAULT_RELAY_LIMITS, ...options.limits };
  }

  stats(): RelayStats {
    let streams = 0;
    for (const [link, state] of this.links) {
      if (link.initiator) continue;
      for (const circuit of state.circuits.values()) streams += circuit.mux?.size ?? 0;
    }
    const bytes = this.linkBytes();
    return { links: this.links.size, circuits: this.circuitCount, streams, bytesReceived: bytes.received, bytesSent: bytes.sent };
  }

  /** Cell bytes received and sent on all links, closed ones included; cheap: no circuit is visited. */
  linkBytes(): { received: number; sent: number } {
    let { received, sent } = this.closedLinkBytes;
    for (const link of this.links.keys()) {
      received += link.bytesReceived;
      sent += link.bytesSent;
    }
    return { received, sent };
  }

  /** Takes ownership of a link, inbound (a peer opened it) or outbound (we did). */
  addLink(link: Link): void {
    const state: LinkState = { circuits: new Map(), used: false };
    this.links.set(link, state);
    link.handlers = {
      onCells: (cells) => this.onCells(link, state, cells),
      onClose: (reason, detail) => this.onLinkClosed(link, state, reason, detail),
    };
    // A peer that opens a link must create a circuit within the handshake timeout.
    this.armIdleTimer(link, state, link.initiator ? this.limits.idleLinkTimeoutMs : this.limits.handshakeTimeoutMs);
  }

  /** Tears every circuit down with RELAY_SHUTDOWN and closes every link. */
  shutdown(): void {
    this.stopping = true;
    for (const [link, state] of [...this.links]) {
      for (const circuit of [...state.circuits.values()]) this.destroy(circuit, 'RELAY_SHUTDOWN', 'relay shutting down');
      link.close('RELAY_SHUTDOWN', 'relay shutting down');
    }
  }

  private armIdleTimer(link: Link, state: LinkState, ms: number): void {
    clearTimeout(state.idleTimer);
    state.idleTimer = setTimeout(() => {
      if (state.circuits.size > 0) return;
      if (link.initiator || state.used) link.close('DONE', 'idle link');
      else link.close('TIMEOUT_ERROR', `no circuit created within ${ms} ms`);
    }, ms);
  }

  private onCells(link: Link, state: LinkState, cells: Cell[]): void {
    for (let i = 0; i < cells.length && !link.isClosed; ) {
      const cell = cells[i];
      const circuit = state.circuits.get(cell.circuitId);
      // Toward the exit, consecutive relay cells of a circuit are one run of its forward
      // keystream: taken off in one call, then handled cell by cell, as TPDP §5.2.2 says.
      if (!link.initiator && circuit && isRelayCell(cell)) {
        let end = i + 1;
        while (end < cells.length && cells[end].circuitId === cell.circuitId && isRelayCell(cells[end])) end++;
        circuit.hop.forward.xorInPlace(bodiesOf(cell, cells[end - 1]));
        for (; i < end && !circuit.closed; i++) this.relayForward(circuit, cells[i].body, cells[i].command === CELL_COMMANDS.RELAY_EARLY);
        i = end;
        continue;
      }
      this.onCell(link, state, cell, circuit);
      i++;
    }
  }

  /** A cell onCells does not take as part of a run; `circuit` is the link's circuit of its id, if any. */
  private onCell(link: Link, state: LinkState, cell: Cell, circuit: RelayCircuit | undefined): void {
    switch (cell.command) {
      case CELL_COMMANDS.PADDING:
        return;
      case CELL_COMMANDS.CREATE:
        if (link.initiator) return link.close('PROTOCOL_ERROR', 'CREATE on a link we opened');
        if (cell.circuitId === 0 || circuit) return link.close('PROTOCOL_ERROR', `CREATE for circuit id ${cell.circuitId} already in use`);
        return this.create(link, state, cell);
      case CELL_COMMANDS.CREATED:
        if (!link.initiator) return link.close('PROTOCOL_ERROR', 'CREATED on a link the peer opened');
        if (circuit) this.extended(circuit, cell.body);
        return;
      case CELL_COMMANDS.RELAY:
      case CELL_COMMANDS.RELAY_EARLY:
        // Cells for a circuit we just destroyed may still be in flight: drop them, as Tor does.
        if (!circuit) return;
        if (link.initiator) {
          // RELAY_EARLY only ever travels away from the client (tor-spec §5.6).
          if (cell.command === CELL_COMMANDS.RELAY_EARLY) return this.destroy(circuit, 'PROTOCOL_ERROR', 'RELAY_EARLY toward the client');
          this.relayBackward(circuit, cell.body);
        }
        // (Toward the exit, onCells handled it.)
        return;
      case CELL_COMMANDS.DESTROY:
        if (circuit) this.destroy(circuit, decodeDestroy(cell.body), 'destroyed by neighbour', link);
        return;
    }
  }

  private create(link: Link, state: LinkState, cell: Cell): void {
    const refuse = (reason: ReasonName) => link.send(cell.circuitId, CELL_COMMANDS.DESTROY, encodeDestroy(reason));
    if (this.stopping) return refuse('RELAY_SHUTDOWN');
    if (state.circuits.size >= this.limits.maxCircuitsPerLink || this.circuitCount >= this.limits.maxCircuits) {
      const perLink = state.circuits.size >= this.limits.maxCircuitsPerLink;
      this.counters.rejections[perLink ? 'circuits_per_link' : 'max_circuits']++;
      this.options.log.warn('circuit refused: limit reached', { limit: perLink ? 'per-link' : 'total' });
      return refuse('RESOURCE_LIMIT');
    }
    let reply: Uint8Array;
    let hop: HopCrypto;
    try {
      const result = serverHandshake(this.options.crypto, this.options.keys, decodeCreate(cell.body));
      reply = result.reply;
      hop = new HopCrypto(this.options.crypto, result.keys, CELL_BODY_SIZE);
    } catch (err) {
      this.counters.handshakes.failed++;
      this.options.log.info('handshake refused', { error: (err as Error).message });
      return refuse('PROTOCOL_ERROR');
    }
    this.counters.handshakes.ok++;
    const circuit = new RelayCircuit(link, cell.circuitId, hop);
    state.circuits.set(cell.circuitId, circuit);
    state.used = true;
    clearTimeout(state.idleTimer);
    this.circuitCount++;
    link.send(cell.circuitId, CELL_COMMANDS.CREATED, encodeCreated(reply));
  }

  /** A cell toward the exit, its layer already taken off (onCells). */
  private relayForward(circuit: RelayCircuit, body: Uint8Array, early: boolean): void {
    if (early && ++circuit.early > this.limits.maxRelayEarly) {
      this.counters.rejections.relay_early++;
      return this.destroy(circuit, 'PROTOCOL_ERROR', 'too many RELAY_EARLY cells');
    }
    if (circuit.hop.forwardTags.open(body)) {
      try {
        const message = decodeRelayBody(body);
        this.handleLocal(circuit, message.command, message.streamId, message.data, early);
      } catch (err) {
        this.destroy(circuit, isTpdpError(err) ? err.code : 'INTERNAL_ERROR', (err as Error).message);
      }
      return;
    }
    if (circuit.nextLink && !circuit.extending) {
      circuit.nextLink.send(circuit.nextId, early ? CELL_COMMANDS.RELAY_EARLY : CELL_COMMANDS.RELAY, body);
      this.checkBuffered(circuit.nextLink);
      return;
    }
    this.destroy(circuit, 'INTEGRITY_ERROR', 'relay cell failed its integrity check at the last hop');
  }

  private relayBackward(circuit: RelayCircuit, body: Uint8Array): void {
    circuit.prevLink.send(circuit.prevId, CELL_COMMANDS.RELAY, body, circuit.backward);
    this.checkBuffered(circuit.prevLink);
  }

  /** Sends a relay message that originates at this hop back toward the client. */
  private sendBackward(circuit: RelayCircuit, command: RelayCommand, streamId: number, data: Uint8Array): void {
    if (circuit.closed) return;
    const body = encodeRelayBody(command, streamId, data);
    circuit.hop.backwardTags.seal(body);
    circuit.prevLink.send(circuit.prevId, CELL_COMMANDS.RELAY, body, circuit.backward);
    this.checkBuffered(circuit.prevLink);
  }

  private checkBuffered(link: Link): void {
    const buffered = link.bufferedAmount;
    if (buffered > this.limits.maxLinkBufferedBytes && !link.isClosed) {
      this.counters.rejections.link_buffer++;
      link.close('RESOURCE_LIMIT', 'peer is not reading: link buffer limit reached');
    } else if (buffered > MEMORY_CHECK_FLOOR && Date.now() - this.lastMemoryCheck >= MEMORY_CHECK_INTERVAL_MS) {
      this.lastMemoryCheck = Date.now();
      this.shedQueuedMemory();
    }
  }

  /** Closes the circuits holding the most queued bytes while the relay holds more than maxQueuedBytes. */
  private shedQueuedMemory(): void {
    const { queued, unattributed, victims } = circuitsToShed(this.links, this.limits.maxQueuedBytes);
    if (victims.length === 0) return;
    this.options.log.warn('circuits closed with RESOURCE_LIMIT: queued cells exceed the memory limit', {
      queuedBytes: queued,
      unattributedBytes: unattributed,
      limitBytes: this.limits.maxQueuedBytes,
      circuits: victims.length,
      freedBytes: victims.reduce((sum, v) => sum + v.bytes, 0),
    });
    const touched = new Set<Link>();
    for (const { circuit } of victims) {
      this.counters.rejections.max_memory++;
      touched.add(circuit.prevLink);
      if (circuit.nextLink) touched.add(circuit.nextLink);
      this.destroy(circuit, 'RESOURCE_LIMIT', 'queued cells exceed the memory limit');
    }
    // A link left with no circuit and a backlog only holds dead cells: closing it frees them.
    for (const link of touched) {
      if (this.links.get(link)?.circuits.size === 0 && link.bufferedAmount > 0) link.close('RESOURCE_LIMIT', 'queued cells exceed the memory limit');
    }
  }

  private handleLocal(circuit: RelayCircuit, command: RelayCommand, streamId: number, data: Uint8Array, early: boolean): void {
    if (command === RELAY_COMMANDS.EXTEND) {
      if (!early) throw new TpdpError('PROTOCOL_ERROR', 'EXTEND outside RELAY_EARLY');
      if (circuit.nextLink || circuit.extending || circuit.mux) throw new TpdpError('PROTOCOL_ERROR', 'EXTEND on a circuit that is already extended or in use');
      void this.extend(circuit, decodeExtend(data));
      return;
    }
    if (command === RELAY_COMMANDS.EXTENDED || command === RELAY_COMMANDS.CONNECTED) throw new TpdpError('PROTOCOL_ERROR', `relay command ${command} sent toward the exit`);
    if (command === RELAY_COMMANDS.DROP) return;
    if (circuit.nextLink || circuit.extending) throw new TpdpError('PROTOCOL_ERROR', 'stream command for a middle hop');
    circuit.mux ??= new StreamMux({
      send: (cmd, id, payload) => this.sendBackward(circuit, cmd, id, payload),
      onBegin: (stream, request) => {
        this.counters.streamsOpened++;
        this.options.exit(stream, request);
      },
      onStreamRefused: () => this.counters.rejections.streams_per_circuit++,
      maxStreams: this.limits.maxStreamsPerCircuit,
    });
    circuit.mux.handle(command, streamId, data);
  }

  private async extend(circuit: RelayCircuit, request: { url: string; handshake: Uint8Array }): Promise<void> {
    if (this.pendingExtends >= this.limits.maxPendingExtends) {
      this.counters.rejections.pending_extends++;
      return this.destroy(circuit, 'RESOURCE_LIMIT', 'too many pending extends');
    }
    circuit.extending = true;
    this.pendingExtends++;
    circuit.extendTimer = setTimeout(
      () => this.destroy(circuit, 'TIMEOUT_ERROR', `next relay did not answer within ${this.limits.handshakeTimeoutMs} ms`),
      this.limits.handshakeTimeoutMs,
    );
    try {
      const refusal = await this.options.checkExtend(request.url, request.handshake.subarray(0, 32));
      if (refusal) {
        this.counters.rejections.extend_refused++;
        throw new TpdpError('HOP_UNREACHABLE', refusal);
      }
      const link = await this.outboundLink(request.url);
      if (circuit.closed) return;
      const state = this.links.get(link);
      if (!state || link.isClosed) throw new TpdpError('HOP_UNREACHABLE', 'link to next relay closed');
      if (state.circuits.size >= this.limits.maxCircuitsPerLink) {
        this.counters.rejections.circuits_per_link++;
        throw new TpdpError('RESOURCE_LIMIT', 'link to next relay is full');
      }
      const id = unusedCircuitId(this.options.crypto, state.circuits);
      circuit.nextLink = link;
      circuit.nextId = id;
      state.circuits.set(id, circuit);
      clearTimeout(state.idleTimer);
      link.send(id, CELL_COMMANDS.CREATE, encodeCreate(request.handshake));
    } catch (err) {
      const code = isTpdpError(err) ? err.code : 'HOP_UNREACHABLE';
      this.options.log.info('extend failed', { reason: code, error: (err as Error).message });
      this.destroy(circuit, code, (err as Error).message);
    }
  }

  private extended(circuit: RelayCircuit, body: Uint8Array): void {
    if (!circuit.extending) return this.destroy(circuit, 'PROTOCOL_ERROR', 'unexpected CREATED');
    let reply: Uint8Array;
    try {
      reply = decodeCreated(body);
    } catch (err) {
      return this.destroy(circuit, 'PROTOCOL_ERROR', (err as Error).message);
    }
    this.finishExtend(circuit);
    this.sendBackward(circuit, RELAY_COMMANDS.EXTENDED, 0, encodeCreated(reply));
  }

  private finishExtend(circuit: RelayCircuit): void {
    if (!circuit.extending) return;
    circuit.extending = false;
    clearTimeout(circuit.extendTimer);
    this.pendingExtends--;
  }

  private outboundLink(url: string): Promise<Link> {
    let pending = this.outbound.get(url);
    if (!pending) {
      pending = this.options.openLink(url).then((link) => {
        this.outboundUrl.set(link, url);
        this.addLink(link);
        return link;
      });
      this.outbound.set(url, pending);
      pending.catch(() => this.outbound.delete(url));
    }
    return pending;
  }

  /**
   * Destroys a circuit here and toward both neighbours (except `from`, which told us), so the
   * whole path is torn down when any part fails.
   */
  private destroy(circuit: RelayCircuit, reason: ReasonName, detail: string, from?: Link): void {
    if (circuit.closed) return;
    circuit.closed = true;
    this.finishExtend(circuit);
    this.circuitCount--;
    this.counters.circuitsClosed[reason]++;
    this.options.log.debug('circuit destroyed', { reason, detail });
    const body = encodeDestroy(reason);
    for (const [link, id] of [[circuit.prevLink, circuit.prevId], [circuit.nextLink, circuit.nextId]] as const) {
      if (!link) continue;
      const state = this.links.get(link);
      state?.circuits.delete(id);
      if (link !== from) link.send(id, CELL_COMMANDS.DESTROY, body);
      if (state && state.circuits.size === 0 && !link.isClosed) this.armIdleTimer(link, state, this.limits.idleLinkTimeoutMs);
    }
    circuit.mux?.failAll(new TpdpError(reason, `circuit destroyed: ${describeReason(reason)}`));
  }

  private onLinkClosed(link: Link, state: LinkState, reason: ReasonName, detail: string): void {
    clearTimeout(state.idleTimer);
    this.links.delete(link);
    this.closedLinkBytes.received += link.bytesReceived;
    this.closedLinkBytes.sent += link.bytesSent;
    const url = this.outboundUrl.get(link);
    if (url !== undefined) {
      this.outboundUrl.delete(link);
      this.outbound.delete(url);
    }
    for (const circuit of [...state.circuits.values()]) this.destroy(circuit, 'LINK_CLOSED', `${reason}: ${detail}`, link);
  }
}

const isRelayCell = (cell: Cell) => cell.command === CELL_COMMANDS.RELAY || cell.command === CELL_COMMANDS.RELAY_EARLY;
