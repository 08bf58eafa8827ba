// The relay's bandwidth limit (Tor's RelayBandwidthRate/RelayBandwidthBurst): one token bucket of
// bytes shared by everything the relay reads — its links, both directions, and the destinations
// its exit streams read from. Reads are what is limited: a relay writes only what it has read
// (plus a constant per-cell overhead), so bounding reads bounds writes without a second bucket,
// and nothing ever waits in a write queue because of the limit. When the bucket is empty every
// reader is paused: the kernel's buffers fill, TCP's window closes and TPDP's windows stop the
// senders, so nothing is dropped and nothing piles up here. Readers resume once a tenth of a
// second's worth of bytes is back (Tor refills every 100 ms too), so a saturated relay pauses
// and resumes about ten times a second, not once per message.
//
// A read is counted after it happened, so the bucket may go below zero by the last chunk read;
// that debt is repaid before reading resumes, and the long-run rate stays exact.
import type { WebSocketFactory } from '../shared/websocket-link.ts';
import { refilled, type BucketPolicy } from './token-buckets.ts';

export interface BandwidthSettings {
  /** Bytes per second, on average. */
  rate: number;
  /** Bytes that may be read at once after a quiet period (the bucket's size); at least `rate`. */
  burst: number;
}

/** Something that reads and can be told to stop and go on: a socket, a WebSocket, a response. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** One registered reader: counts what it read, and says whether the limit holds it. */
export interface ReaderHandle {
  read(bytes: number): void;
  /** True while the bucket is empty: a reader must not resume on its own then. */
  readonly throttled: boolean;
  detach(): void;
}

export interface BandwidthClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
}

const systemClock: BandwidthClock = { now: () => performance.now(), setTimeout: (callback, ms) => setTimeout(callback, ms) };

/** The part of a second's rate refilled before paused readers resume. */
const RESUME_FRACTION = 0.1;

export interface BandwidthLimiter {
  register(reader: Pausable): ReaderHandle;
}

const UNLIMITED_HANDLE: ReaderHandle = { read() {}, throttled: false, detach() {} };

/** No limit: no bucket, no timers, nothing done per read. */
export const UNLIMITED: BandwidthLimiter = { register: () => UNLIMITED_HANDLE };

export class TokenBucketLimiter implements BandwidthLimiter {
  readonly settings: BandwidthSettings;
  /** The settings as a token bucket: `burst` tokens at most, `rate` more each second. */
  private readonly bucket: BucketPolicy;
  private readonly clock: BandwidthClock;
  private readonly readers = new Set<Pausable>();
  private tokens: number;
  private updated: number;
  private paused = false;

  constructor(settings: BandwidthSettings, clock: BandwidthClock = systemClock) {
    if (!(settings.rate > 0) || !(settings.burst >= settings.rate)) throw new Error(`bandwidth: need rate > 0 and burst >= rate, got ${settings.rate} and ${settings.burst}`);
    this.settings = settings;
    this.bucket = { capacity: settings.burst, refillPerSecond: settings.rate };
    this.clock = clock;
    this.tokens = settings.burst;
    this.updated = clock.now();
  }

  register(reader: Pausable): ReaderHandle {
    this.readers.add(reader);
    if (this.paused) reader.pause();
    const limiter = this;
    return {
      read: (bytes) => this.spend(bytes),
      get throttled() {
        return limiter.paused;
      },
      detach: () => this.readers.delete(reader),
    };
  }

  /** Bytes that may be read now (negative while a debt is being repaid). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = refilled(this.tokens, now - this.updated, this.bucket);
    this.updated = now;
  }

  private spend(bytes: number): void {
    this.refill();
    this.tokens -= bytes;
    if (this.tokens > 0 || this.paused) return;
    this.paused = true;
    for (const reader of this.readers) reader.pause();
    this.scheduleResume();
  }

  private scheduleResume(): void {
    const target = Math.min(this.settings.burst, this.settings.rate * RESUME_FRACTION);
    const waitMs = ((target - this.tokens) / this.settings.rate) * 1000;
    this.clock.setTimeout(() => {
      this.refill();
      if (this.tokens < target) return this.scheduleResume();
      this.paused = false;
      for (const reader of this.readers) {
        // A reader the last one's resume led to pause again stays paused with the rest.
        if (this.paused) return;
        reader.resume();
      }
    }, Math.max(1, Math.ceil(waitMs)));
  }
}

/** The part of a `ws` WebSocket the limiter needs. */
interface NodeWebSocket extends Pausable {
  on(event: 'message', listener: (data: { byteLength: number }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
}

/** Counts every message a link's WebSocket receives against `limiter`, pausing the socket with the others. */
export function limitWebSocketReads(socket: NodeWebSocket, limiter: BandwidthLimiter): void {
  if (limiter === UNLIMITED) return;
  const reading = limiter.register(socket);
  socket.on('message', (data) => reading.read(data.byteLength));
  socket.on('close', () => reading.detach());
}

/** `factory`'s WebSockets, each counted against `limiter` from the moment it opens. */
export function limitFactoryReads(factory: WebSocketFactory, limiter: BandwidthLimiter): WebSocketFactory {
  if (limiter === UNLIMITED) return factory;
  return (url, protocols) => {
    const socket = factory(url, protocols);
    socket.addEventListener('open', () => limitWebSocketReads(socket as unknown as NodeWebSocket, limiter));
    return socket;
  };
}
