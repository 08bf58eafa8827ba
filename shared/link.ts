// A TPDP link: one WebSocket between two parties, carrying the cells of many circuits. Outgoing
// cells queued in the same tick leave as one message (batching); incoming messages are checked
// before any cell is handled, and any violation closes the whole link with a coded reason.
import { bodyOffset, CELL_BODY_SIZE, CELL_COMMANDS, CELL_SIZE, decodeCells, MAX_CELLS_PER_MESSAGE, reusableMessage, writeCell, writeHeader, type Cell, type CellCommand } from './cell.ts';
import type { KeyStream } from './crypto/provider.ts';
import { REASONS, type ReasonName } from './errors.ts';
import { LinkBacklog } from './link-backlog.ts';

/** The transport under a link (a WebSocket, or an in-memory pipe in tests). */
export interface LinkTransport {
  send(message: Uint8Array): void;
  close(code: number, reason: string): void;
  readonly bufferedAmount: number;
}

export interface LinkHandlers {
  /** The cells of one message, in order; consecutive bodies are adjacent (cell.ts bodiesOf). */
  onCells(cells: Cell[]): void;
  onClose(reason: ReasonName, detail: string): void;
}

/**
 * Keystream layers a cell's body is XORed with when its message is written, in order. Cells that
 * follow each other in a message with the same layers (the same array) are XORed in one call per
 * layer: keystreams run on across cells (docs/TPDP.md §5.2), and their bodies are adjacent.
 */
export type Layers = readonly KeyStream[];

/**
 * Outgoing cells wait for the end of the current round of I/O, so every cell produced while
 * handling a batch of incoming messages leaves in one message: setImmediate in Node (5× fewer
 * messages than a microtask on a bulk download, docs/PERFORMANCE.md); in a browser, a message to
 * ourselves on a MessageChannel, the task that comes after the current one and its promise
 * callbacks. (A microtask sent each cell of a request alone: three WebSocket messages for a fetch.)
 */
const scheduleFlush = ((): ((flush: () => void) => void) => {
  const setImmediateIfAny = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  if (setImmediateIfAny) return (flush) => void setImmediateIfAny(flush);
  if (typeof MessageChannel !== 'function') return queueMicrotask;
  const due: (() => void)[] = [];
  const channel = new MessageChannel();
  // (Typed without the DOM, which shared/ does not use: both ports have onmessage where this runs.)
  (channel.port1 as unknown as { onmessage: () => void }).onmessage = () => {
    for (const flush of due.splice(0)) flush();
  };
  return (flush) => {
    if (due.push(flush) === 1) channel.port2.postMessage(null);
  };
})();

/** WebSocket close codes: 4000 + reason byte, so the far side learns why (docs/TPDP.md §3.3). */
export const CLOSE_CODE_BASE = 4000;

/**
 * Keep-alive (docs/TPDP.md §3.6): a side that has sent nothing for this long sends a PADDING cell,
 * and a link on which nothing has arrived for three times as long is dead (a peer or a path that
 * vanished without FIN or RST): it is closed with TIMEOUT_ERROR, so its circuits fail in bounded
 * time instead of waiting minutes for TCP to give up.
 */
export const DEFAULT_KEEPALIVE_MS = 10_000;
const SILENCE_LIMIT = 3;

export class Link {
  /** True when this side opened the link: only the opener may create circuits on it. */
  readonly initiator: boolean;
  readonly label: string;
  /** Bytes of cells this link has received and sent (for metrics). */
  bytesReceived = 0;
  bytesSent = 0;
  handlers: LinkHandlers = { onCells: () => {}, onClose: () => {} };
  private readonly transport: LinkTransport;
  // The cells not yet written to a message, as parallel arrays: no object per cell.
  private outIds: number[] = [];
  private outCommands: CellCommand[] = [];
  private outBodies: Uint8Array[] = [];
  private outLayers: (Layers | undefined)[] = [];
  private readonly backlog = new LinkBacklog();
  private flushScheduled = false;
  private closed = false;
  private lastSent = Date.now();
  private lastReceived = Date.now();
  private readonly keepalive: ReturnType<typeof setInterval>;

  constructor(transport: LinkTransport, initiator: boolean, label: string, keepaliveMs = DEFAULT_KEEPALIVE_MS) {
    this.transport = transport;
    this.initiator = initiator;
    this.label = label;
    this.keepalive = setInterval(() => this.keepAlive(keepaliveMs), keepaliveMs / 2);
    // A link's own timer must not keep a Node process alive on its own.
    (this.keepalive as { unref?: () => void }).unref?.();
  }

  private keepAlive(keepaliveMs: number): void {
    const now = Date.now();
    if (now - this.lastReceived > SILENCE_LIMIT * keepaliveMs) {
      this.close('TIMEOUT_ERROR', `nothing received for ${now - this.lastReceived} ms`);
    } else if (now - this.lastSent >= keepaliveMs) {
      this.send(0, CELL_COMMANDS.PADDING, EMPTY);
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get bufferedAmount(): number {
    return this.transport.bufferedAmount + this.outIds.length * CELL_SIZE;
  }

  /** Bytes not sent yet (bufferedAmount), by circuit id: who holds this link's backlog. */
  queuedByCircuit(): Map<number, number> {
    this.backlog.trim(this.transport.bufferedAmount);
    return this.backlog.byCircuit(this.outIds);
  }

  /**
   * Queues a cell. The body (at most CELL_BODY_SIZE bytes; zeros follow a shorter one) belongs to
   * the link from now on: it is XORed with `layers` when its message is written, not before.
   */
  send(circuitId: number, command: CellCommand, body: Uint8Array, layers?: Layers): void {
    if (this.closed) return;
    if (body.length > CELL_BODY_SIZE) throw new RangeError(`cell body of ${body.length} bytes exceeds ${CELL_BODY_SIZE}`);
    this.outIds.push(circuitId);
    this.outCommands.push(command);
    this.outBodies.push(body);
    this.outLayers.push(layers);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      scheduleFlush(() => this.flush());
    }
  }

  /** Feeds one received WebSocket message. */
  receive(message: Uint8Array): void {
    if (this.closed) return;
    this.lastReceived = Date.now();
    this.bytesReceived += message.length;
    let cells: Cell[];
    try {
      cells = decodeCells(message);
    } catch (err) {
      this.close('PROTOCOL_ERROR', (err as Error).message);
      return;
    }
    this.handlers.onCells(cells);
  }

  /** Closes the link and tells the peer why. */
  close(reason: ReasonName, detail: string): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    clearInterval(this.keepalive);
    try {
      // A close reason is at most 123 UTF-8 bytes (RFC 6455 §5.5): keep it ASCII and short.
      this.transport.close(reason === 'DONE' ? 1000 : CLOSE_CODE_BASE + REASONS[reason], `${reason}: ${detail}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 123));
    } catch {
      // The transport may already be gone; the close is still reported below.
    }
    this.handlers.onClose(reason, detail);
  }

  /** The transport closed under us (peer close, network error). */
  transportClosed(reason: ReasonName, detail: string): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepalive);
    this.takeOutbox();
    this.handlers.onClose(reason, detail);
  }

  private takeOutbox() {
    const taken = { ids: this.outIds, commands: this.outCommands, bodies: this.outBodies, layers: this.outLayers };
    this.outIds = [];
    this.outCommands = [];
    this.outBodies = [];
    this.outLayers = [];
    return taken;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.outIds.length === 0) return;
    const { ids, commands, bodies, layers } = this.takeOutbox();
    this.lastSent = Date.now();
    this.backlog.trim(this.transport.bufferedAmount);
    for (const id of ids) this.backlog.add(id);
    this.bytesSent += ids.length * CELL_SIZE;
    for (let first = 0; first < ids.length; first += MAX_CELLS_PER_MESSAGE) {
      const count = Math.min(MAX_CELLS_PER_MESSAGE, ids.length - first);
      // A relay passing on every cell of a received message, in order, sends that message on.
      const reused = reusableMessage(bodies, first, count);
      const message = reused ?? new Uint8Array(count * CELL_SIZE);
      for (let j = 0; j < count; j++) {
        if (reused) writeHeader(message, j, ids[first + j], commands[first + j]);
        else writeCell(message, count, j, ids[first + j], commands[first + j], bodies[first + j]);
      }
      // Each run of cells with the same layers: one call per layer over its adjacent bodies.
      for (let start = 0; start < count; ) {
        const run = layers[first + start];
        let end = start + 1;
        while (end < count && layers[first + end] === run) end++;
        if (run) {
          const bodiesOfRun = message.subarray(bodyOffset(count, start), bodyOffset(count, end));
          for (const layer of run) layer.xorInPlace(bodiesOfRun);
        }
        start = end;
      }
      this.transport.send(message);
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Hands each run of consecutive cells of one circuit to that circuit, if `circuitOf` knows it. */
export function dispatchByCircuit(cells: Cell[], circuitOf: (circuitId: number) => { handleCells(cells: Cell[]): void } | undefined): void {
  for (let start = 0; start < cells.length; ) {
    let end = start + 1;
    while (end < cells.length && cells[end].circuitId === cells[start].circuitId) end++;
    circuitOf(cells[start].circuitId)?.handleCells(start === 0 && end === cells.length ? cells : cells.slice(start, end));
    start = end;
  }
}

export function linkCloseReason(code: number): ReasonName {
  if (code === 1000 || code === 1001) return 'LINK_CLOSED';
  if (code > CLOSE_CODE_BASE && code < CLOSE_CODE_BASE + 256) {
    const name = (Object.keys(REASONS) as ReasonName[]).find((n) => REASONS[n] === code - CLOSE_CODE_BASE);
    if (name) return name;
  }
  return code === 1002 || code === 1003 || code === 1009 ? 'PROTOCOL_ERROR' : 'LINK_CLOSED';
}

