// One hop's relay-cell protection (docs/TPDP.md §5.2): AES-256-CTR layers, one keystream per
// direction, so every relay does the same work whatever its position; and, at the two ends of a
// hop, a tag = HMAC-SHA256(D, seq ‖ body with zero tag)[0..16] over an implicit per-direction
// sequence number. A flipped bit, a dropped, replayed or reordered cell therefore fails the tag
// (and desynchronises every later keystream), and the circuit is destroyed.
import { constantTimeEqual, writeU64 } from './bytes.ts';
import { AES_IV_BYTES, type CryptoProvider, type KeyStream } from './crypto/provider.ts';
import type { HopKeyMaterial } from './handshake.ts';
import { isRecognizedField, RELAY_OFFSET, RELAY_TAG_SIZE } from './relay-cell.ts';

const ZERO_IV = new Uint8Array(AES_IV_BYTES);
const SEQ_BYTES = 8;

class TagSequence {
  private seq = 0;
  private readonly key: Uint8Array;
  private readonly crypto: CryptoProvider;
  private readonly scratch: Uint8Array;
  constructor(crypto: CryptoProvider, key: Uint8Array, bodySize: number) {
    this.crypto = crypto;
    this.key = key;
    this.scratch = new Uint8Array(SEQ_BYTES + bodySize);
  }

  private compute(body: Uint8Array): Uint8Array {
    writeU64(this.scratch, 0, this.seq);
    this.scratch.set(body, SEQ_BYTES);
    this.scratch.fill(0, SEQ_BYTES + RELAY_OFFSET.tag, SEQ_BYTES + RELAY_OFFSET.tag + RELAY_TAG_SIZE);
    return this.crypto.hmacSha256(this.key, this.scratch).subarray(0, RELAY_TAG_SIZE);
  }

  /** Fills the tag of an outgoing plaintext body and advances the sequence. */
  seal(body: Uint8Array): void {
    body.set(this.compute(body), RELAY_OFFSET.tag);
    this.seq++;
  }

  /** True (and advances) if the body carries the tag expected next; never modifies the body. */
  open(body: Uint8Array): boolean {
    if (!isRecognizedField(body)) return false;
    const expected = this.compute(body);
    if (!constantTimeEqual(expected, body.subarray(RELAY_OFFSET.tag, RELAY_OFFSET.tag + RELAY_TAG_SIZE))) return false;
    this.seq++;
    return true;
  }
}

export class HopCrypto {
  readonly forward: KeyStream;
  readonly backward: KeyStream;
  /** Seals at the client, opens at the hop. */
  readonly forwardTags: TagSequence;
  /** Seals at the hop, opens at the client. */
  readonly backwardTags: TagSequence;

  constructor(crypto: CryptoProvider, keys: HopKeyMaterial, bodySize: number) {
    // A zero IV is safe: every key is fresh per circuit and per direction (as in Tor).
    this.forward = crypto.aes256Ctr(keys.forwardKey, ZERO_IV);
    this.backward = crypto.aes256Ctr(keys.backwardKey, ZERO_IV);
    this.forwardTags = new TagSequence(crypto, keys.forwardDigestKey, bodySize);
    this.backwardTags = new TagSequence(crypto, keys.backwardDigestKey, bodySize);
  }
}
