// Onion-key rotation (docs/TPDP.md §4.2.1), as Tor: a new onion key every rotation period, the
// previous one still answered for during a grace period, so a client whose relay list predates
// the rotation still builds circuits, and circuits in flight are untouched (their keys came from
// the handshake, not from the onion key). The keys live in the relay's key file, so a restart
// neither rotates early nor forgets the previous key.
import type { CryptoProvider, KeyPair } from '../shared/crypto/provider.ts';
import type { RelayKeys } from '../shared/handshake.ts';
import { loadOnionKeys, saveOnionKeys, type OnionKeySet } from '../node/key-file.ts';
import type { Logger } from '../node/log.ts';

export const DEFAULT_ONION_KEY_ROTATION_MS = 28 * 24 * 3600_000;
export const DEFAULT_ONION_KEY_GRACE_MS = 7 * 24 * 3600_000;
/** Timers wake at least this often, so a long period neither overflows setTimeout nor misses a clock jump. */
const MAX_TIMER_MS = 3600_000;
/** After a failed save (a full disk), the next attempt. */
const RETRY_MS = 60_000;

export interface OnionKeyRingOptions {
  keyFile: string;
  identity: KeyPair;
  crypto: CryptoProvider;
  rotationMs: number;
  /** At most rotationMs: the relay holds one previous key, never two. */
  graceMs: number;
  log: Logger;
  now?: () => number;
}

/** The relay's keys for the handshake: its identity, the current onion key and, in its grace period, the previous one. */
export class OnionKeyRing implements RelayKeys {
  readonly identity: KeyPair;
  private readonly options: OnionKeyRingOptions;
  private keys: OnionKeySet;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private onRotate: ((onion: KeyPair) => void) | undefined;

  /** Loads the keys, and rotates or drops at once what is already due (a relay that was down). */
  constructor(options: OnionKeyRingOptions) {
    if (!(options.graceMs <= options.rotationMs)) throw new Error('the onion-key grace period must not exceed the rotation period');
    this.options = options;
    this.identity = options.identity;
    this.keys = loadOnionKeys(options.keyFile, options.crypto, this.now());
    this.update();
  }

  get onion(): KeyPair {
    return this.keys.current.pair;
  }

  get previousOnion(): KeyPair[] {
    return this.keys.previous ? [this.keys.previous.pair] : [];
  }

  /** Rotates on schedule from now on, calling `onRotate` with each new key (to publish it). */
  start(onRotate: (onion: KeyPair) => void): void {
    this.onRotate = onRotate;
    this.schedule();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.onRotate = undefined;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Applies whatever is due, on disk first (a key only ever used once it is saved); returns
   * whether the current key changed.
   */
  private update(): boolean {
    const now = this.now();
    let next = this.keys;
    const expired = next.previous !== undefined && now >= next.previous.replaced + this.options.graceMs;
    if (expired) next = { current: next.current };
    const rotate = now >= next.current.created + this.options.rotationMs;
    if (rotate) next = { current: { pair: this.options.crypto.x25519Keygen(), created: now }, previous: { ...next.current, replaced: now } };
    if (next === this.keys) return false;
    saveOnionKeys(this.options.keyFile, next);
    this.keys = next;
    if (expired) this.options.log.info('previous onion key dropped: its grace period is over');
    if (rotate) this.options.log.info('onion key rotated; the previous one is honoured during the grace period', { graceMs: this.options.graceMs });
    return rotate;
  }

  private schedule(delayMs?: number): void {
    const { current, previous } = this.keys;
    const due = Math.min(current.created + this.options.rotationMs, previous ? previous.replaced + this.options.graceMs : Infinity);
    this.timer = setTimeout(() => this.tick(), delayMs ?? Math.min(Math.max(due - this.now(), 0), MAX_TIMER_MS));
    this.timer.unref();
  }

  private tick(): void {
    let retryMs: number | undefined;
    try {
      if (this.update()) this.onRotate?.(this.onion);
    } catch (err) {
      // A full disk must not stop the relay: the key in use still works, and rotation is retried.
      this.options.log.error('onion key rotation failed; retrying', { error: (err as Error).message, retryInMs: RETRY_MS });
      retryMs = RETRY_MS;
    }
    if (this.onRotate) this.schedule(retryMs);
  }
}
