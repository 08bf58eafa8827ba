// AES-256-CTR keystreams for the extension. The protocol core XORs cells synchronously, and
// WebCrypto, which computes AES natively, only answers asynchronously; pure-JavaScript AES
// (@noble) was the largest part of the worker's time during page loads (docs/PERFORMANCE.md).
// So each keystream asks WebCrypto for its next bytes ahead of use (AES-CTR over zeros is the
// keystream), XORs cells with them as they come, and computes with @noble, at the same position,
// only what has not arrived yet. The bytes are the same either way (tested against @noble).
import { aesCtrXorAt, counterAt } from '../shared/crypto/noble.ts';
import type { KeyStream } from '../shared/crypto/provider.ts';

const BLOCK = 16;
/** The first request asks for a little; each one after it for twice as much, up to the most. */
const FIRST_AHEAD = 8 * 1024;
const MOST_AHEAD = 128 * 1024;

export class PrefetchedKeyStream implements KeyStream {
  private readonly key: Uint8Array;
  private readonly iv: Uint8Array;
  private webKey?: Promise<CryptoKey>;
  /** Keystream position of the next byte to use. */
  private offset = 0;
  /** Keystream bytes for positions [storeStart, storeStart + store.length). */
  private store = new Uint8Array(0);
  private storeStart = 0;
  private ahead = FIRST_AHEAD;
  private filling = false;
  private readonly computeAt: typeof aesCtrXorAt;

  /** `computeAt` computes what is not in store (tests replace it to see that the store is used). */
  constructor(key: Uint8Array, iv: Uint8Array, computeAt = aesCtrXorAt) {
    this.key = key;
    this.iv = iv;
    this.computeAt = computeAt;
    this.prefetch();
  }

  xorInPlace(data: Uint8Array): void {
    let done = 0;
    const from = this.offset - this.storeStart;
    if (from >= 0 && from < this.store.length) {
      done = Math.min(data.length, this.store.length - from);
      const store = this.store;
      for (let i = 0; i < done; i++) data[i] ^= store[from + i];
    }
    if (done < data.length) this.computeAt(this.key, this.iv, this.offset + done, data.subarray(done));
    this.offset += data.length;
    this.prefetch();
  }

  /** Asks WebCrypto for the next `ahead` bytes once less than half of that is left in store. */
  private prefetch(): void {
    const storeEnd = this.storeStart + this.store.length;
    if (this.filling || storeEnd - this.offset > this.ahead / 2) return;
    const subtle = globalThis.crypto?.subtle;
    if (!subtle) return;
    this.filling = true;
    const firstBlock = Math.floor(Math.max(this.offset, storeEnd) / BLOCK);
    const length = this.ahead;
    this.webKey ??= subtle.importKey('raw', this.key as Uint8Array<ArrayBuffer>, 'AES-CTR', false, ['encrypt']);
    this.webKey
      .then((key) => subtle.encrypt({ name: 'AES-CTR', counter: counterAt(this.iv, firstBlock) as Uint8Array<ArrayBuffer>, length: 128 }, key, new Uint8Array(length)))
      .then(
        (keystream) => {
          this.filling = false;
          this.keep(firstBlock * BLOCK, new Uint8Array(keystream));
          // The next request, made by the next use, asks for more: a keystream used once holds little.
          this.ahead = Math.min(MOST_AHEAD, this.ahead * 2);
        },
        // No WebCrypto AES here: @noble computes everything, as before.
        () => undefined,
      );
  }

  /** Stores keystream bytes from position `start`, with what is still ahead of the stored ones. */
  private keep(start: number, bytes: Uint8Array): void {
    const useful = Math.max(this.offset, this.storeStart);
    const storeEnd = this.storeStart + this.store.length;
    const end = start + bytes.length;
    if (end <= this.offset) return;
    // The stored bytes still ahead, then the new ones past them (start <= storeEnd: see prefetch()).
    const kept = useful < storeEnd && start <= storeEnd ? this.store.subarray(useful - this.storeStart) : new Uint8Array(0);
    const first = kept.length > 0 ? useful : Math.max(this.offset, start);
    const merged = new Uint8Array(end - first);
    merged.set(kept);
    merged.set(bytes.subarray(first + kept.length - start), kept.length);
    this.store = merged;
    this.storeStart = first;
  }
}
