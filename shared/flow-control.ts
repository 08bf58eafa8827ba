// SENDME windows, counted in DATA cells (docs/TPDP.md §5.4): a circuit may have 960 DATA cells
// unacknowledged toward its edge (+96 per circuit SENDME), a stream 480 (+48 per stream SENDME),
// i.e. about 1.94 MB and 970 KB of data. Sized by measurement (§9.10): once a run of cells costs
// one cipher call per hop (tpdp.3), half these windows left the path waiting for SENDMEs (each a
// cell and often a message of its own) and moved a third less data per second. Circuit SENDMEs
// are sent on receipt, stream SENDMEs only once the data has been consumed, so a slow reader
// stops its sender and no relay on the path buffers without bound.
import { TpdpError } from './errors.ts';

export const CIRCUIT_WINDOW_START = 960;
export const CIRCUIT_WINDOW_INCREMENT = 96;
export const STREAM_WINDOW_START = 480;
export const STREAM_WINDOW_INCREMENT = 48;

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
