// Relay-cell protection: onion layers open at the addressed hop and only there, the sequenced tag
// refuses tampering, replay, reordering and loss without touching the body, and a frozen
// known-answer vector (test/vectors/relay-cell.json) recomputed here with @noble directly.
import { readFileSync } from 'node:fs';
import { ctr } from '@noble/ciphers/aes.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../node/crypto.ts';
import { concatBytes, fromHex, toHex, writeU64 } from './bytes.ts';
import { CELL_BODY_SIZE } from './cell.ts';
import { nobleCrypto } from './crypto/noble.ts';
import type { CryptoProvider } from './crypto/provider.ts';
import { KEY_MATERIAL_SIZE, type HopKeyMaterial } from './handshake.ts';
import { HopCrypto } from './hop-crypto.ts';
import { decodeRelayBody, encodeRelayBody, RELAY_COMMANDS, RELAY_DATA_MAX, RELAY_OFFSET, RELAY_TAG_SIZE, type RelayCommand } from './relay-cell.ts';

interface RelayCellVector {
  bodySize: number;
  tagOffset: number;
  tagSize: number;
  forwardKey: string;
  backwardKey: string;
  forwardDigestKey: string;
  backwardDigestKey: string;
  cells: {
    direction: 'forward' | 'backward';
    sequence: number;
    command: keyof typeof RELAY_COMMANDS;
    commandByte: number;
    streamId: number;
    data: string;
    tag: string;
    plaintext: string;
    sealed: string;
    encrypted: string;
  }[];
}

const VECTOR = JSON.parse(readFileSync(new URL('../test/vectors/relay-cell.json', import.meta.url), 'utf8')) as RelayCellVector;

function randomKeys(crypto: CryptoProvider): HopKeyMaterial {
  return crypto.randomBytes(KEY_MATERIAL_SIZE);
}

function vectorKeys(): HopKeyMaterial {
  return fromHex(VECTOR.forwardKey + VECTOR.backwardKey + VECTOR.forwardDigestKey + VECTOR.backwardDigestKey);
}

/** The two ends of one hop: what the client holds and what the relay holds, from the same keys. */
function hopPair(client: CryptoProvider, relay: CryptoProvider) {
  const keys = randomKeys(client);
  return { client: new HopCrypto(client, keys, CELL_BODY_SIZE), relay: new HopCrypto(relay, keys, CELL_BODY_SIZE) };
}

function body(command: RelayCommand, streamId: number, text: string): Uint8Array {
  return encodeRelayBody(command, streamId, new TextEncoder().encode(text));
}

function flipBit(bytes: Uint8Array, bit: number): void {
  bytes[bit >> 3] ^= 1 << (bit & 7);
}

/** open() that also checks the body came back untouched whenever it was refused. */
function openChecked(tags: HopCrypto['forwardTags'], cell: Uint8Array): boolean {
  const before = toHex(cell);
  const opened = tags.open(cell);
  if (!opened) expect(toHex(cell)).toBe(before);
  return opened;
}

const PROVIDERS = [
  { name: 'noble', client: nobleCrypto, relay: nobleCrypto },
  { name: 'node', client: nodeCrypto, relay: nodeCrypto },
  { name: 'client noble, relays node', client: nobleCrypto, relay: nodeCrypto },
];

describe.each(PROVIDERS)('onion layers over three hops ($name)', ({ client, relay }) => {
  const HOPS = 3;

  it('a forward body opens at the addressed hop and only there, cell after cell', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ target: fc.nat(HOPS - 1), streamId: fc.nat(0xffff), data: fc.uint8Array({ maxLength: RELAY_DATA_MAX, size: 'max' }) }), { minLength: 1, maxLength: 12, size: 'max' }),
        (messages) => {
          const hops = Array.from({ length: HOPS }, () => hopPair(client, relay));
          for (const { target, streamId, data } of messages) {
            const cell = encodeRelayBody(RELAY_COMMANDS.DATA, streamId, data);
            hops[target].client.forwardTags.seal(cell);
            for (let i = target; i >= 0; i--) hops[i].client.forward.xorInPlace(cell);
            for (let i = 0; i <= target; i++) {
              hops[i].relay.forward.xorInPlace(cell);
              const opened = openChecked(hops[i].relay.forwardTags, cell);
              expect(opened).toBe(i === target);
            }
            const message = decodeRelayBody(cell);
            expect(message.command).toBe(RELAY_COMMANDS.DATA);
            expect(message.streamId).toBe(streamId);
            expect(toHex(message.data)).toBe(toHex(data));
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('a backward body is recognised by the client at the hop that sent it and only there', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ origin: fc.nat(HOPS - 1), data: fc.uint8Array({ maxLength: RELAY_DATA_MAX, size: 'max' }) }), { minLength: 1, maxLength: 12, size: 'max' }), (messages) => {
        const hops = Array.from({ length: HOPS }, () => hopPair(client, relay));
        for (const { origin, data } of messages) {
          const cell = encodeRelayBody(RELAY_COMMANDS.DATA, 7, data);
          hops[origin].relay.backwardTags.seal(cell);
          for (let i = origin; i >= 0; i--) hops[i].relay.backward.xorInPlace(cell);
          let openedAt = -1;
          for (let i = 0; i < HOPS && openedAt < 0; i++) {
            hops[i].client.backward.xorInPlace(cell);
            if (openChecked(hops[i].client.backwardTags, cell)) openedAt = i;
          }
          expect(openedAt).toBe(origin);
          expect(toHex(decodeRelayBody(cell).data)).toBe(toHex(data));
        }
      }),
      { numRuns: 25 },
    );
  });

  it('a cell missing one onion layer is recognised by no hop', () => {
    const hops = Array.from({ length: HOPS }, () => hopPair(client, relay));
    const cell = body(RELAY_COMMANDS.DATA, 1, 'for the last hop');
    hops[2].client.forwardTags.seal(cell);
    hops[2].client.forward.xorInPlace(cell);
    hops[1].client.forward.xorInPlace(cell); // the layer of hop 0 is missing
    for (let i = 0; i < HOPS; i++) {
      hops[i].relay.forward.xorInPlace(cell);
      expect(openChecked(hops[i].relay.forwardTags, cell)).toBe(false);
    }
  });

  it('a replayed ciphertext fails at the hop (its keystream has moved on)', () => {
    const { client: c, relay: r } = hopPair(client, relay);
    const cell = body(RELAY_COMMANDS.DATA, 1, 'once');
    c.forwardTags.seal(cell);
    c.forward.xorInPlace(cell);
    const replay = cell.slice();
    r.forward.xorInPlace(cell);
    expect(openChecked(r.forwardTags, cell)).toBe(true);
    r.forward.xorInPlace(replay);
    expect(openChecked(r.forwardTags, replay)).toBe(false);
  });
});

describe.each([nobleCrypto, nodeCrypto])('sequenced tags ($name)', (crypto) => {
  const pair = () => {
    const keys = randomKeys(crypto);
    return { sender: new HopCrypto(crypto, keys, CELL_BODY_SIZE).forwardTags, receiver: new HopCrypto(crypto, keys, CELL_BODY_SIZE).forwardTags };
  };
  const sealed = (sender: HopCrypto['forwardTags'], text: string) => {
    const cell = body(RELAY_COMMANDS.DATA, 3, text);
    sender.seal(cell);
    return cell;
  };

  it('seal writes a tag that is not all zero and leaves the rest of the body alone', () => {
    const { sender } = pair();
    const cell = body(RELAY_COMMANDS.DATA, 3, 'hello');
    const before = cell.slice();
    sender.seal(cell);
    const tag = cell.subarray(RELAY_OFFSET.tag, RELAY_OFFSET.tag + RELAY_TAG_SIZE);
    expect(tag.some((b) => b !== 0)).toBe(true);
    cell.fill(0, RELAY_OFFSET.tag, RELAY_OFFSET.tag + RELAY_TAG_SIZE);
    expect(toHex(cell)).toBe(toHex(before));
  });

  it('refuses a flipped bit anywhere in the body, without modifying it', () => {
    const { sender, receiver } = pair();
    const cell = sealed(sender, 'integrity');
    const original = toHex(cell);
    for (let bit = 0; bit < CELL_BODY_SIZE * 8; bit++) {
      flipBit(cell, bit);
      expect(openChecked(receiver, cell)).toBe(false);
      flipBit(cell, bit);
    }
    expect(toHex(cell)).toBe(original);
    expect(openChecked(receiver, cell)).toBe(true);
  });

  it('refuses the same body twice (replay)', () => {
    const { sender, receiver } = pair();
    const first = sealed(sender, 'first');
    expect(openChecked(receiver, first)).toBe(true);
    expect(openChecked(receiver, first)).toBe(false);
    expect(openChecked(receiver, sealed(sender, 'second'))).toBe(true);
  });

  it('refuses a reordered pair', () => {
    const { sender, receiver } = pair();
    const first = sealed(sender, 'same text');
    const second = sealed(sender, 'same text');
    expect(toHex(first)).not.toBe(toHex(second)); // only the sequence number differs
    expect(openChecked(receiver, second)).toBe(false);
    expect(openChecked(receiver, first)).toBe(true);
    expect(openChecked(receiver, second)).toBe(true);
  });

  it('refuses the next body once one was skipped (lost)', () => {
    const { sender, receiver } = pair();
    expect(openChecked(receiver, sealed(sender, 'one'))).toBe(true);
    sealed(sender, 'two (dropped)');
    const three = sealed(sender, 'three');
    const four = sealed(sender, 'four');
    expect(openChecked(receiver, three)).toBe(false);
    expect(openChecked(receiver, four)).toBe(false);
  });

  it('refuses a body sealed with another key or for the other direction', () => {
    const keys = randomKeys(crypto);
    const hop = new HopCrypto(crypto, keys, CELL_BODY_SIZE);
    const peer = new HopCrypto(crypto, keys, CELL_BODY_SIZE);
    const stranger = new HopCrypto(crypto, randomKeys(crypto), CELL_BODY_SIZE);
    const foreign = body(RELAY_COMMANDS.DATA, 1, 'x');
    stranger.forwardTags.seal(foreign);
    expect(openChecked(peer.forwardTags, foreign)).toBe(false);
    const backward = body(RELAY_COMMANDS.DATA, 1, 'x');
    hop.backwardTags.seal(backward);
    expect(openChecked(peer.forwardTags, backward)).toBe(false);
    expect(openChecked(peer.backwardTags, backward)).toBe(true);
  });

  it('refuses a body whose recognized field is not zero even with an otherwise valid tag', () => {
    const { sender, receiver } = pair();
    const cell = sealed(sender, 'r');
    cell[RELAY_OFFSET.recognized + 1] = 1;
    expect(openChecked(receiver, cell)).toBe(false);
    cell[RELAY_OFFSET.recognized + 1] = 0;
    expect(openChecked(receiver, cell)).toBe(true);
  });

  it('never accepts an arbitrary body, and never modifies what it refuses', () => {
    const { receiver } = pair();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: CELL_BODY_SIZE, maxLength: CELL_BODY_SIZE }), fc.boolean(), (cell, zeroRecognized) => {
        if (zeroRecognized) cell.fill(0, RELAY_OFFSET.recognized, RELAY_OFFSET.recognized + 2);
        expect(openChecked(receiver, cell)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('relay-cell known-answer vector (test/vectors/relay-cell.json)', () => {
  it('describes the layout in use', () => {
    expect(VECTOR.bodySize).toBe(CELL_BODY_SIZE);
    expect(VECTOR.tagOffset).toBe(RELAY_OFFSET.tag);
    expect(VECTOR.tagSize).toBe(RELAY_TAG_SIZE);
  });

  it('is reproduced from first principles with @noble (HMAC-SHA256 tag over u64 sequence, AES-256-CTR zero IV)', () => {
    const streams = { forward: [] as Uint8Array[], backward: [] as Uint8Array[] };
    for (const cell of VECTOR.cells) {
      const plaintext = encodeRelayBody(RELAY_COMMANDS[cell.command], cell.streamId, fromHex(cell.data));
      expect(plaintext[0]).toBe(cell.commandByte);
      expect(toHex(plaintext)).toBe(cell.plaintext);
      const digestKey = fromHex(cell.direction === 'forward' ? VECTOR.forwardDigestKey : VECTOR.backwardDigestKey);
      const sequence = new Uint8Array(8);
      writeU64(sequence, 0, cell.sequence);
      const tag = hmac(sha256, digestKey, concatBytes(sequence, plaintext)).subarray(0, 16);
      expect(toHex(tag)).toBe(cell.tag);
      const sealedBody = plaintext.slice();
      sealedBody.set(tag, 5);
      expect(toHex(sealedBody)).toBe(cell.sealed);
      streams[cell.direction].push(sealedBody);
    }
    // One keystream per direction, running across cells.
    for (const direction of ['forward', 'backward'] as const) {
      const key = fromHex(direction === 'forward' ? VECTOR.forwardKey : VECTOR.backwardKey);
      const encrypted = ctr(key, new Uint8Array(16)).encrypt(concatBytes(...streams[direction]));
      const expected = VECTOR.cells.filter((c) => c.direction === direction).map((c) => c.encrypted);
      expect(expected.length).toBeGreaterThan(0);
      expected.forEach((hex, i) => expect(toHex(encrypted.subarray(i * CELL_BODY_SIZE, (i + 1) * CELL_BODY_SIZE))).toBe(hex));
    }
  });

  it.each([nobleCrypto, nodeCrypto])('is reproduced by HopCrypto on $name, and opens at the other end', (crypto) => {
    const sender = new HopCrypto(crypto, vectorKeys(), CELL_BODY_SIZE);
    const receiver = new HopCrypto(crypto, vectorKeys(), CELL_BODY_SIZE);
    for (const cell of VECTOR.cells) {
      const forward = cell.direction === 'forward';
      const out = encodeRelayBody(RELAY_COMMANDS[cell.command], cell.streamId, fromHex(cell.data));
      (forward ? sender.forwardTags : sender.backwardTags).seal(out);
      expect(toHex(out)).toBe(cell.sealed);
      (forward ? sender.forward : sender.backward).xorInPlace(out);
      expect(toHex(out)).toBe(cell.encrypted);

      const received = fromHex(cell.encrypted);
      (forward ? receiver.forward : receiver.backward).xorInPlace(received);
      expect(toHex(received)).toBe(cell.sealed);
      expect((forward ? receiver.forwardTags : receiver.backwardTags).open(received)).toBe(true);
      expect(toHex(decodeRelayBody(received).data)).toBe(cell.data);
    }
  });
});

describe('HopCrypto resources', () => {
  /** nobleCrypto, counting the keystreams and HMACs asked of it. */
  function countingProvider() {
    const counts = { keystreams: 0, hmacs: 0 };
    const provider: CryptoProvider = {
      ...nobleCrypto,
      aes256Ctr: (key, iv) => (counts.keystreams++, nobleCrypto.aes256Ctr(key, iv)),
      hmacSha256: (key, data) => (counts.hmacs++, nobleCrypto.hmacSha256(key, data)),
    };
    return { provider, counts };
  }

  it('makes no cipher context for a hop that never carries a cell, and one per direction once used', () => {
    const { provider, counts } = countingProvider();
    const keys = randomKeys(provider);
    const idle = new HopCrypto(provider, keys, CELL_BODY_SIZE);
    expect(idle).toBeInstanceOf(HopCrypto);
    expect(counts).toEqual({ keystreams: 0, hmacs: 0 });

    const sender = new HopCrypto(provider, keys, CELL_BODY_SIZE);
    const receiver = new HopCrypto(provider, keys, CELL_BODY_SIZE);
    for (let i = 0; i < 3; i++) {
      const cell = body(RELAY_COMMANDS.DATA, 1, `cell ${i}`);
      sender.forwardTags.seal(cell);
      sender.forward.xorInPlace(cell);
      receiver.forward.xorInPlace(cell);
      expect(receiver.forwardTags.open(cell)).toBe(true);
    }
    expect(counts).toEqual({ keystreams: 2, hmacs: 6 });
    const back = body(RELAY_COMMANDS.DATA, 1, 'back');
    receiver.backwardTags.seal(back);
    receiver.backward.xorInPlace(back);
    sender.backward.xorInPlace(back);
    expect(sender.backwardTags.open(back)).toBe(true);
    expect(counts.keystreams).toBe(4);
  });

  it.each([nobleCrypto, nodeCrypto])('keeps tags right when hops with different body sizes interleave ($name)', (crypto) => {
    // The tag input buffer is shared by every hop of the process; each size must get its own.
    const sizes = [CELL_BODY_SIZE, 4 * CELL_BODY_SIZE + 3];
    const pairs = sizes.map((size) => {
      const keys = randomKeys(crypto);
      return { size, sender: new HopCrypto(crypto, keys, size), receiver: new HopCrypto(crypto, keys, size) };
    });
    for (let i = 0; i < 4; i++) {
      for (const { size, sender, receiver } of pairs) {
        const cell = new Uint8Array(size);
        cell.set(body(RELAY_COMMANDS.DATA, i, `interleaved ${i}`));
        cell.fill(i + 1, CELL_BODY_SIZE);
        sender.forwardTags.seal(cell);
        expect(receiver.forwardTags.open(cell)).toBe(true);
        cell[size - 1] ^= 1;
        expect(receiver.forwardTags.open(cell)).toBe(false);
      }
    }
  });
});
