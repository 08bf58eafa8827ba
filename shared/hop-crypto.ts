// One hop's relay-cell protection (docs/TPDP.md §5.2): AES-256-CTR layers, one keystream per
// direction, so every relay does the same work whatever its position; and, at the two ends of a
// hop, a tag = HMAC-SHA256(D, seq ‖ body with zero tag)[0..16] over an implicit per-direction
// sequence number. A flipped bit, a dropped, replayed or reordered cell therefore fails the tag
// (and desynchronises every later keystream), and the circuit is destroyed.
import { constantTimeEqual, writeU64 } from './bytes.ts';
import { AES_IV_BYTES, type CryptoProvider, type KeyStream } from './crypto/provider.ts';
import { hopKey, type HopKeyMaterial } from './handshake.ts';
import { isRecognizedField, RELAY_OFFSET, RELAY_TAG_SIZE } from './relay-cell.ts';

const ZERO_IV = new Uint8Array(AES_IV_BYTES);
const SEQ_BYTES = 8;

// seq ‖ body is assembled in a buffer shared by every circuit of the process: compute() is
// synchronous, so no two tags are ever computed at once, and a relay with thousands of circuits
// holds one buffer instead of two per circuit. One per body size, as HMAC reads the whole buffer.
const tagInputs = new Map<number, Uint8Array>();
function tagInput(bodySize: number): Uint8Array {
  let input = tagInputs.get(bodySize);
  if (!input) tagInputs.set(bodySize, (input = new Uint8Array(SEQ_BYTES + bodySize)));
  return input;
}

class TagSequence {
  private seq = 0;
  private readonly key: Uint8Array;
  private readonly crypto: CryptoProvider;
  private readonly input: Uint8Array;
  constructor(crypto: CryptoProvider, key: Uint8Array, bodySize: number) {
    this.crypto = crypto;
    this.key = key;
    this.input = tagInput(bodySize);
  }

  private compute(body: Uint8Array): Uint8Array {
    writeU64(this.input, 0, this.seq);
    this.input.set(body, SEQ_BYTES);
    this.input.fill(0, SEQ_BYTES + RELAY_OFFSET.tag, SEQ_BYTES + RELAY_OFFSET.tag + RELAY_TAG_SIZE);
    return this.crypto.hmacSha256(this.key, this.input).subarray(0, RELAY_TAG_SIZE);
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

/**
 * Each direction's keystream and tag sequence is made on first use: a circuit that is built but
 * never carries a cell (a client's spare circuit, a failed build, a CREATE flood) costs its key
 * material and this object, not two cipher contexts.
 */
export class HopCrypto {
  private readonly crypto: CryptoProvider;
  private readonly keys: HopKeyMaterial;
  private readonly bodySize: number;
  private forwardStream?: KeyStream;
  private backwardStream?: KeyStream;
  private forwardSequence?: TagSequence;
  private backwardSequence?: TagSequence;

  constructor(crypto: CryptoProvider, keys: HopKeyMaterial, bodySize: number) {
    this.crypto = crypto;
    this.keys = keys;
    this.bodySize = bodySize;
  }

  // A zero IV is safe: every key is fresh per circuit and per direction (as in Tor).
  get forward(): KeyStream {
    return (this.forwardStream ??= this.crypto.aes256Ctr(hopKey(this.keys, 'forwardKey'), ZERO_IV));
  }

  get backward(): KeyStream {
    return (this.backwardStream ??= this.crypto.aes256Ctr(hopKey(this.keys, 'backwardKey'), ZERO_IV));
  }

  /** Seals at the client, opens at the hop. */
  get forwardTags(): TagSequence {
    return (this.forwardSequence ??= new TagSequence(this.crypto, hopKey(this.keys, 'forwardDigestKey'), this.bodySize));
  }

  /** Seals at the hop, opens at the client. */
  get backwardTags(): TagSequence {
    return (this.backwardSequence ??= new TagSequence(this.crypto, hopKey(this.keys, 'backwardDigestKey'), this.bodySize));
  }
}
