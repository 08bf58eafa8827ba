// One stream on a circuit, the same object at the client and at the exit (docs/TPDP.md §6):
// DATA split into cells within both windows, half-close with FIN, abort with END + reason.
import { describeReason, REASONS, reasonName, TpdpError, type ReasonName } from './errors.ts';
import { PackageWindow, DeliverWindow, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START } from './flow-control.ts';
import { RELAY_COMMANDS, RELAY_DATA_MAX, type RelayCommand } from './relay-cell.ts';

/** What a stream needs from its circuit. */
export interface StreamHost {
  send(command: RelayCommand, streamId: number, data: Uint8Array): void;
  /** True while the circuit-level package window is open. */
  canPackage(): boolean;
  /** Counts one DATA cell against the circuit-level window. */
  packaged(): void;
  removeStream(streamId: number): void;
}

/** Bytes a writer may queue before write() asks it to wait for onWritable. */
const WRITE_HIGH_WATER = 64 * 1024;

export type StreamState = 'opening' | 'open' | 'closed';

export class CircuitStream {
  readonly id: number;
  state: StreamState = 'opening';
  /** Called with each received chunk; the consumer calls consumed() once it has processed it. */
  onData: (chunk: Uint8Array) => void = () => {};
  /** The peer will send no more data. */
  onFinish: () => void = () => {};
  /** The stream is over: no error for a clean close, a TpdpError otherwise. */
  onClose: (error?: TpdpError) => void = () => {};
  /** Client side: the exit accepted the stream. */
  onOpen: () => void = () => {};
  /** The write queue drained below its high-water mark. */
  onWritable: () => void = () => {};

  private readonly host: StreamHost;
  private readonly packageWindow = new PackageWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
  private readonly deliverWindow = new DeliverWindow(STREAM_WINDOW_START, STREAM_WINDOW_INCREMENT);
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private finishRequested = false;
  private localFinished = false;
  private remoteFinished = false;

  /**
   * Client side: data may leave before CONNECTED (optimistic data, docs/TPDP.md §6.1). Only for
   * fetch streams, which the exit accepts as it reads their BEGIN.
   */
  private readonly optimistic: boolean;

  constructor(host: StreamHost, id: number, optimistic = false) {
    this.host = host;
    this.id = id;
    this.optimistic = optimistic;
  }

  get writableNeedsDrain(): boolean {
    return this.queuedBytes >= WRITE_HIGH_WATER;
  }

  /** Queues data; false means "wait for onWritable before writing more". */
  write(data: Uint8Array): boolean {
    if (this.state === 'closed' || this.finishRequested) return false;
    if (data.length > 0) {
      this.queue.push(data);
      this.queuedBytes += data.length;
    }
    this.pump();
    return !this.writableNeedsDrain;
  }

  /** Half-closes: FIN goes out once everything queued has been sent. */
  finish(): void {
    if (this.state === 'closed' || this.finishRequested) return;
    this.finishRequested = true;
    this.pump();
  }

  /** Acknowledges one delivered chunk; sends a stream SENDME every STREAM_WINDOW_INCREMENT. */
  consumed(): void {
    if (this.state === 'closed') return;
    if (this.deliverWindow.consumed()) this.host.send(RELAY_COMMANDS.SENDME, this.id, new Uint8Array(0));
  }

  /** Exit side: the destination is connected; the client may now send. */
  accept(): void {
    if (this.state !== 'opening') return;
    this.state = 'open';
    this.host.send(RELAY_COMMANDS.CONNECTED, this.id, new Uint8Array(0));
    this.pump();
  }

  /** Aborts (or, with DONE, closes) the stream and tells the peer why. */
  close(reason: ReasonName = 'DONE', detail?: string): void {
    if (this.state === 'closed') return;
    this.host.send(RELAY_COMMANDS.END, this.id, Uint8Array.of(REASONS[reason]));
    this.terminate(reason === 'DONE' ? undefined : new TpdpError(reason, detail));
  }

  /** The circuit died under the stream: no END can be sent. */
  fail(error: TpdpError): void {
    this.terminate(error);
  }

  /** Handles a relay message for this stream; throws TpdpError on a protocol violation. */
  receive(command: RelayCommand, data: Uint8Array): void {
    switch (command) {
      case RELAY_COMMANDS.DATA:
        if (this.state !== 'open' || this.remoteFinished) throw new TpdpError('PROTOCOL_ERROR', `DATA on stream ${this.id} that is not open`);
        this.deliverWindow.received();
        if (data.length > 0) this.onData(data);
        else this.consumed();
        return;
      case RELAY_COMMANDS.SENDME:
        this.packageWindow.acknowledge();
        this.pump();
        return;
      case RELAY_COMMANDS.CONNECTED:
        if (this.state !== 'opening') throw new TpdpError('PROTOCOL_ERROR', `unexpected CONNECTED on stream ${this.id}`);
        this.state = 'open';
        this.onOpen();
        this.pump();
        return;
      case RELAY_COMMANDS.FIN:
        if (this.remoteFinished) throw new TpdpError('PROTOCOL_ERROR', `second FIN on stream ${this.id}`);
        this.remoteFinished = true;
        this.onFinish();
        this.closeIfDone();
        return;
      case RELAY_COMMANDS.END: {
        const reason = data.length === 1 ? reasonName(data[0]) : 'PROTOCOL_ERROR';
        this.terminate(reason === 'DONE' ? undefined : new TpdpError(reason, `stream ended by peer: ${describeReason(reason)}`));
        return;
      }
      default:
        throw new TpdpError('PROTOCOL_ERROR', `relay command ${command} is not valid on a stream`);
    }
  }

  /** Sends queued data while both windows allow; called again when either opens. */
  pump(): void {
    if (this.state === 'closed' || (this.state === 'opening' && !this.optimistic)) return;
    const wasBlocked = this.writableNeedsDrain;
    while (this.queue.length > 0 && this.packageWindow.open && this.host.canPackage()) {
      const head = this.queue[0];
      const chunk = head.length <= RELAY_DATA_MAX ? head : head.subarray(0, RELAY_DATA_MAX);
      if (chunk === head) this.queue.shift();
      else this.queue[0] = head.subarray(RELAY_DATA_MAX);
      this.queuedBytes -= chunk.length;
      this.packageWindow.sent();
      this.host.packaged();
      this.host.send(RELAY_COMMANDS.DATA, this.id, chunk);
    }
    if (this.queue.length === 0 && this.finishRequested && !this.localFinished) {
      this.localFinished = true;
      this.host.send(RELAY_COMMANDS.FIN, this.id, new Uint8Array(0));
      this.closeIfDone();
    }
    if (wasBlocked && !this.writableNeedsDrain && (this.state as StreamState) !== 'closed') this.onWritable();
  }

  private closeIfDone(): void {
    if (this.localFinished && this.remoteFinished) this.terminate(undefined);
  }

  private terminate(error: TpdpError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.host.removeStream(this.id);
    this.onClose(error);
  }
}
