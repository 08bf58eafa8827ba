// SENDME windows, counted in DATA cells (docs/TPDP.md §5.4): a circuit may have 480 DATA cells
// unacknowledged toward its edge (+48 per circuit SENDME), a stream 240 (+24 per stream SENDME),
// i.e. about 970 KB and 485 KB of data. Sized by measurement (§9.10): half of it, the bytes
// tpdp.1 kept in flight, costs about 20 % more CPU per MB (a SENDME every 12 cells, each a cell of
// its own); Tor's cell counts (1000/500) measured no better. Circuit SENDMEs are sent on receipt,
// stream SENDMEs only once the data has been consumed, so a slow reader stops its sender and no
// relay on the path buffers without bound.
import { TpdpError } from './errors.ts';

export const CIRCUIT_WINDOW_START = 480;
export const CIRCUIT_WINDOW_INCREMENT = 48;
export const STREAM_WINDOW_START = 240;
export const STREAM_WINDOW_INCREMENT = 24;

/** The sender's side: how many more DATA cells it may send. */
export class PackageWindow {
  private window: number;
  private readonly start: number;
  private readonly increment: number;
  constructor(start: number, increment: number) {
    this.start = start;
    this.increment = increment;
    this.window = start;
  }
  get open(): boolean {
    return this.window > 0;
  }
  sent(): void {
    this.window--;
  }
  /** A SENDME arrived; one that would raise the window past its start is a protocol violation. */
  acknowledge(): void {
    if (this.window + this.increment > this.start) throw new TpdpError('PROTOCOL_ERROR', 'unexpected SENDME (window would overflow)');
    this.window += this.increment;
  }
}

/** The receiver's side: counts what arrived and tells when to acknowledge. */
export class DeliverWindow {
  private window: number;
  private pendingAck = 0;
  private readonly increment: number;
  constructor(start: number, increment: number) {
    this.increment = increment;
    this.window = start;
  }
  /** A DATA cell arrived; one past the window means the peer ignores flow control. */
  received(): void {
    if (this.window <= 0) throw new TpdpError('PROTOCOL_ERROR', 'peer sent DATA beyond its flow-control window');
    this.window--;
  }
  /** One cell was consumed; true when a SENDME is due. */
  consumed(): boolean {
    this.pendingAck++;
    if (this.pendingAck < this.increment) return false;
    this.pendingAck -= this.increment;
    this.window += this.increment;
    return true;
  }
}
