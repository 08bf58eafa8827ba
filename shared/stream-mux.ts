// The streams of one circuit at one of its edges (client or exit): stream table, circuit-level
// windows and dispatch of relay messages. Violations throw a TpdpError; the owner then destroys
// the circuit, which is what Tor does for a misbehaving edge.
import { decodeBegin, type BeginRequest } from './begin.ts';
import { REASONS, TpdpError } from './errors.ts';
import { CIRCUIT_WINDOW_INCREMENT, CIRCUIT_WINDOW_START, DeliverWindow, PackageWindow } from './flow-control.ts';
import { MAX_STREAM_ID, RELAY_COMMANDS, type RelayCommand } from './relay-cell.ts';
import { CircuitStream, type StreamHost } from './stream.ts';

export interface StreamMuxOptions {
  /** Sends one relay message toward the other edge. */
  send(command: RelayCommand, streamId: number, data: Uint8Array): void;
  /** The last open stream closed. */
  onIdle?: () => void;
  /** Exit side only: a client asked for a stream. Unset on the client, where BEGIN is a violation. */
  onBegin?: (stream: CircuitStream, request: BeginRequest) => void;
  /** Exit side: a BEGIN was refused because the circuit carries maxStreams streams. */
  onStreamRefused?: () => void;
  maxStreams: number;
}

export class StreamMux implements StreamHost {
  private readonly streams = new Map<number, CircuitStream>();
  private readonly packageWindow = new PackageWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT);
  private readonly deliverWindow = new DeliverWindow(CIRCUIT_WINDOW_START, CIRCUIT_WINDOW_INCREMENT);
  private readonly options: StreamMuxOptions;
  private nextStreamId = 1;

  constructor(options: StreamMuxOptions) {
    this.options = options;
  }

  get size(): number {
    return this.streams.size;
  }

  send(command: RelayCommand, streamId: number, data: Uint8Array): void {
    this.options.send(command, streamId, data);
  }

  canPackage(): boolean {
    return this.packageWindow.open;
  }

  packaged(): void {
    this.packageWindow.sent();
  }

  removeStream(streamId: number): void {
    if (this.streams.delete(streamId) && this.streams.size === 0) this.options.onIdle?.();
  }

  /** Client side: opens a stream with the given BEGIN payload; `optimistic`: see CircuitStream. */
  open(beginData: Uint8Array, optimistic = false): CircuitStream {
    if (this.streams.size >= this.options.maxStreams) throw new TpdpError('RESOURCE_LIMIT', `circuit already carries ${this.streams.size} streams`);
    let id = this.nextStreamId;
    while (this.streams.has(id)) id = (id % MAX_STREAM_ID) + 1;
    this.nextStreamId = (id % MAX_STREAM_ID) + 1;
    const stream = new CircuitStream(this, id, optimistic);
    this.streams.set(id, stream);
    this.send(RELAY_COMMANDS.BEGIN, id, beginData);
    return stream;
  }

  /** Dispatches one relay message that reached this edge. */
  handle(command: RelayCommand, streamId: number, data: Uint8Array): void {
    if (streamId === 0) {
      if (command === RELAY_COMMANDS.SENDME) {
        this.packageWindow.acknowledge();
        for (const stream of this.streams.values()) stream.pump();
        return;
      }
      if (command === RELAY_COMMANDS.DROP) return;
      throw new TpdpError('PROTOCOL_ERROR', `relay command ${command} needs a stream id`);
    }
    if (command === RELAY_COMMANDS.BEGIN) return this.begin(streamId, data);
    if (command === RELAY_COMMANDS.DATA) {
      this.deliverWindow.received();
      if (this.deliverWindow.consumed()) this.send(RELAY_COMMANDS.SENDME, 0, new Uint8Array(0));
    }
    const stream = this.streams.get(streamId);
    // Cells for a stream we already closed may still be in flight: drop them, as Tor does.
    if (stream) stream.receive(command, data);
  }

  /** The circuit is gone: every stream fails with its reason. */
  failAll(error: TpdpError): void {
    for (const stream of [...this.streams.values()]) stream.fail(error);
  }

  private begin(streamId: number, data: Uint8Array): void {
    const onBegin = this.options.onBegin;
    if (!onBegin) throw new TpdpError('PROTOCOL_ERROR', 'BEGIN sent toward the client');
    if (this.streams.has(streamId)) throw new TpdpError('PROTOCOL_ERROR', `BEGIN reuses open stream id ${streamId}`);
    if (this.streams.size >= this.options.maxStreams) {
      this.options.onStreamRefused?.();
      this.send(RELAY_COMMANDS.END, streamId, Uint8Array.of(REASONS.RESOURCE_LIMIT));
      return;
    }
    let request: BeginRequest;
    try {
      request = decodeBegin(data);
    } catch {
      this.send(RELAY_COMMANDS.END, streamId, Uint8Array.of(REASONS.PROTOCOL_ERROR));
      return;
    }
    const stream = new CircuitStream(this, streamId);
    this.streams.set(streamId, stream);
    onBegin(stream, request);
  }
}
