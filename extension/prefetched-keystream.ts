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
  /** WebCrypto's answers in keystream order, each for positions [start, start + bytes.length). */
  private readonly store: { start: number; bytes: Uint8Array }[] = [];
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
    while (done < data.length && this.store.length > 0) {
      const { start, bytes } = this.store[0];
      const at = this.offset + done - start;
      if (at >= bytes.length) {
        this.store.shift();
        continue;
      }
      if (at < 0) break;
      const end = done + Math.min(data.length - done, bytes.length - at);
      for (let i = done; i < end; i++) data[i] ^= bytes[at + i - done];
      done = end;
    }
    if (done < data.length) this.computeAt(this.key, this.iv, this.offset + done, data.subarray(done));
    this.offset += data.length;
    this.prefetch();
  }

  private get storeEnd(): number {
    const last = this.store.at(-1);
    return last ? last.start + last.bytes.length : 0;
  }

  /** Asks WebCrypto for the next `ahead` bytes once less than half of that is left in store. */
  private prefetch(): void {
    const storeEnd = this.storeEnd;
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
          // Kept unless already used up (the bytes were computed on the spot meanwhile).
          if (firstBlock * BLOCK + keystream.byteLength > this.offset) this.store.push({ start: firstBlock * BLOCK, bytes: new Uint8Array(keystream) });
          // The next request, made by the next use, asks for more: a keystream used once holds little.
          this.ahead = Math.min(MOST_AHEAD, this.ahead * 2);
        },
        // No WebCrypto AES here: @noble computes everything, as before.
        () => undefined,
      );
  }
}
