// The ntor handshake: round trips on both providers (and mixed), every refusal the protocol relies
// on, and a frozen known-answer vector (test/vectors/ntor.json) recomputed here from first
// principles with @noble primitives, following Tor's ntor formulas with our PROTOID.
import { readFileSync } from 'node:fs';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { nodeCrypto } from '../node/crypto.ts';
import { concatBytes, fromHex, toHex, utf8 } from './bytes.ts';
import { nobleCrypto } from './crypto/noble.ts';
import type { CryptoProvider, KeyPair } from './crypto/provider.ts';
import { TpdpError } from './errors.ts';
import {
  CLIENT_HANDSHAKE_SIZE,
  clientHandshakeFinish,
  clientHandshakeStart,
  hopKey,
  KEY_MATERIAL_SIZE,
  PROTOID,
  SERVER_HANDSHAKE_SIZE,
  serverHandshake,
  type HopKeyMaterial,
  type RelayKeys,
} from './handshake.ts';
import { LOW_ORDER_POINTS_HEX } from '../test/vectors/x25519-low-order.ts';

interface NtorVector {
  identitySecret: string;
  onionSecret: string;
  clientEphemeralSecret: string;
  serverEphemeralSecret: string;
  clientMessage: string;
  serverReply: string;
  forwardKey: string;
  backwardKey: string;
  forwardDigestKey: string;
  backwardDigestKey: string;
}

const VECTOR = JSON.parse(readFileSync(new URL('../test/vectors/ntor.json', import.meta.url), 'utf8')) as NtorVector;
const X25519_BASE = fromHex('09' + '00'.repeat(31));
const KEY_NAMES = ['forwardKey', 'backwardKey', 'forwardDigestKey', 'backwardDigestKey'] as const;

const LOW_ORDER_POINTS = LOW_ORDER_POINTS_HEX;

function x25519Pair(crypto: CryptoProvider, secretKey: Uint8Array): KeyPair {
  return { secretKey, publicKey: crypto.x25519(secretKey, X25519_BASE) };
}

function relayKeys(crypto: CryptoProvider): RelayKeys {
  return { identity: crypto.ed25519Keygen(), onion: crypto.x25519Keygen() };
}

function hexKeys(keys: HopKeyMaterial): Record<string, string> {
  return Object.fromEntries(KEY_NAMES.map((name) => [name, toHex(hopKey(keys, name))]));
}

function expectProtocolError(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(TpdpError);
  expect((caught as TpdpError).code).toBe('PROTOCOL_ERROR');
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}

const PAIRS: { name: string; client: CryptoProvider; server: CryptoProvider }[] = [
  { name: 'noble ↔ noble', client: nobleCrypto, server: nobleCrypto },
  { name: 'node ↔ node', client: nodeCrypto, server: nodeCrypto },
  { name: 'client noble ↔ server node', client: nobleCrypto, server: nodeCrypto },
  { name: 'client node ↔ server noble', client: nodeCrypto, server: nobleCrypto },
];

describe.each(PAIRS)('ntor round trip, $name', ({ client, server }) => {
  it('gives both sides the same four distinct 32-byte keys', () => {
    const relay = relayKeys(server);
    const start = clientHandshakeStart(client, relay.identity.publicKey, relay.onion.publicKey);
    expect(start.message).toHaveLength(CLIENT_HANDSHAKE_SIZE);
    expect(toHex(start.message.subarray(0, 32))).toBe(toHex(relay.identity.publicKey));
    expect(toHex(start.message.subarray(32, 64))).toBe(toHex(relay.onion.publicKey));
    const answer = serverHandshake(server, relay, start.message);
    expect(answer.reply).toHaveLength(SERVER_HANDSHAKE_SIZE);
    const keys = clientHandshakeFinish(client, start.state, answer.reply);
    expect(hexKeys(keys)).toEqual(hexKeys(answer.keys));
    const distinct = new Set(Object.values(hexKeys(keys)));
    expect(distinct.size).toBe(4);
    expect(keys).toHaveLength(KEY_MATERIAL_SIZE);
  });

  it('gives fresh keys on every handshake with the same relay', () => {
    const relay = relayKeys(server);
    const run = () => {
      const start = clientHandshakeStart(client, relay.identity.publicKey, relay.onion.publicKey);
      return clientHandshakeFinish(client, start.state, serverHandshake(server, relay, start.message).reply);
    };
    expect(toHex(run())).not.toBe(toHex(run()));
  });
});

describe.each([nobleCrypto, nodeCrypto])('ntor refusals ($name)', (crypto) => {
  const relay = relayKeys(crypto);
  const fresh = () => {
    const start = clientHandshakeStart(crypto, relay.identity.publicKey, relay.onion.publicKey);
    return { start, answer: serverHandshake(crypto, relay, start.message) };
  };

  it('refuses a reply whose Y was modified (every byte position)', () => {
    const { start, answer } = fresh();
    for (let byte = 0; byte < 32; byte++) {
      const bit = byte * 8 + (byte % 8);
      expectProtocolError(() => clientHandshakeFinish(crypto, start.state, flipBit(answer.reply, bit)));
    }
    // The untouched reply still completes: the refusals above did not consume the state.
    expect(hexKeys(clientHandshakeFinish(crypto, start.state, answer.reply))).toEqual(hexKeys(answer.keys));
  });

  it('refuses a reply whose AUTH was modified (every byte position)', () => {
    const { start, answer } = fresh();
    for (let byte = 32; byte < 64; byte++) {
      const bit = byte * 8 + (byte % 8);
      expectProtocolError(() => clientHandshakeFinish(crypto, start.state, flipBit(answer.reply, bit)));
    }
  });

  it('refuses a reply with a low-order Y', () => {
    const { start, answer } = fresh();
    for (const point of LOW_ORDER_POINTS) {
      expectProtocolError(() => clientHandshakeFinish(crypto, start.state, concatBytes(fromHex(point), answer.reply.subarray(32))));
    }
  });

  it('refuses a reply of the wrong size', () => {
    const { start, answer } = fresh();
    expectProtocolError(() => clientHandshakeFinish(crypto, start.state, answer.reply.subarray(0, 63)));
    expectProtocolError(() => clientHandshakeFinish(crypto, start.state, concatBytes(answer.reply, Uint8Array.of(0))));
    expectProtocolError(() => clientHandshakeFinish(crypto, start.state, new Uint8Array(0)));
  });

  it('refuses a reply from a relay that does not hold the onion key (a man in the middle)', () => {
    const start = clientHandshakeStart(crypto, relay.identity.publicKey, relay.onion.publicKey);
    // The impostor knows the public identity but answers with its own onion key.
    const impostor: RelayKeys = { identity: { secretKey: new Uint8Array(32), publicKey: relay.identity.publicKey }, onion: crypto.x25519Keygen() };
    const rewritten = concatBytes(start.message.subarray(0, 32), impostor.onion.publicKey, start.message.subarray(64));
    const forged = serverHandshake(crypto, impostor, rewritten);
    expectProtocolError(() => clientHandshakeFinish(crypto, start.state, forged.reply));
  });

  it('refuses a reply produced for another client handshake', () => {
    const first = fresh();
    const second = fresh();
    expectProtocolError(() => clientHandshakeFinish(crypto, first.start.state, second.answer.reply));
  });

  it('refuses a request addressed to another identity key or onion key', () => {
    const other = relayKeys(crypto);
    const toOtherIdentity = clientHandshakeStart(crypto, other.identity.publicKey, relay.onion.publicKey);
    expectProtocolError(() => serverHandshake(crypto, relay, toOtherIdentity.message));
    const toOtherOnion = clientHandshakeStart(crypto, relay.identity.publicKey, other.onion.publicKey);
    expectProtocolError(() => serverHandshake(crypto, relay, toOtherOnion.message));
    const toOther = clientHandshakeStart(crypto, other.identity.publicKey, other.onion.publicKey);
    expectProtocolError(() => serverHandshake(crypto, relay, toOther.message));
  });

  it('answers with whichever of its onion keys the request names, and refuses one it dropped', () => {
    const previous = crypto.x25519Keygen();
    const rotated: RelayKeys = { identity: relay.identity, onion: crypto.x25519Keygen(), previousOnion: [previous] };
    for (const onion of [rotated.onion, previous]) {
      const start = clientHandshakeStart(crypto, rotated.identity.publicKey, onion.publicKey);
      const answer = serverHandshake(crypto, rotated, start.message);
      expect(clientHandshakeFinish(crypto, start.state, answer.reply)).toEqual(answer.keys);
    }
    const dropped: RelayKeys = { identity: relay.identity, onion: rotated.onion };
    const late = clientHandshakeStart(crypto, relay.identity.publicKey, previous.publicKey);
    expect(() => serverHandshake(crypto, dropped, late.message)).toThrow(/onion key this relay does not hold/);
  });

  it('refuses a request with a low-order X', () => {
    for (const point of LOW_ORDER_POINTS) {
      const message = concatBytes(relay.identity.publicKey, relay.onion.publicKey, fromHex(point));
      expectProtocolError(() => serverHandshake(crypto, relay, message));
    }
  });

  it('refuses a request of the wrong size', () => {
    const { start } = fresh();
    expectProtocolError(() => serverHandshake(crypto, relay, start.message.subarray(0, 95)));
    expectProtocolError(() => serverHandshake(crypto, relay, concatBytes(start.message, Uint8Array.of(0))));
  });
});

/** Tor's ntor (tor-spec §5.1.4) written out directly on @noble primitives, independent of handshake.ts. */
function ntorFromFirstPrinciples(v: NtorVector) {
  const protoid = utf8('allium-tpdp-ntor-x25519-sha256-1');
  const tag = (suffix: string) => utf8('allium-tpdp-ntor-x25519-sha256-1' + suffix);
  const H = (message: Uint8Array, t: Uint8Array) => hmac(sha256, t, message);
  const x = fromHex(v.clientEphemeralSecret);
  const y = fromHex(v.serverEphemeralSecret);
  const b = fromHex(v.onionSecret);
  const ID = ed25519.getPublicKey(fromHex(v.identitySecret));
  const B = x25519.getPublicKey(b);
  const X = x25519.getPublicKey(x);
  const Y = x25519.getPublicKey(y);
  // Client side: EXP(Y,x) | EXP(B,x); server side: EXP(X,y) | EXP(X,b). Both must agree.
  const clientSecretInput = concatBytes(x25519.getSharedSecret(x, Y), x25519.getSharedSecret(x, B), ID, B, X, Y, protoid);
  const serverSecretInput = concatBytes(x25519.getSharedSecret(y, X), x25519.getSharedSecret(b, X), ID, B, X, Y, protoid);
  expect(toHex(serverSecretInput)).toBe(toHex(clientSecretInput));
  const verify = H(clientSecretInput, tag(':verify'));
  const authInput = concatBytes(verify, ID, B, Y, X, protoid, utf8('Server'));
  const auth = H(authInput, tag(':mac'));
  const keys = hkdf(sha256, clientSecretInput, tag(':key_extract'), tag(':key_expand'), 128);
  return {
    clientMessage: toHex(concatBytes(ID, B, X)),
    serverReply: toHex(concatBytes(Y, auth)),
    forwardKey: toHex(keys.subarray(0, 32)),
    backwardKey: toHex(keys.subarray(32, 64)),
    forwardDigestKey: toHex(keys.subarray(64, 96)),
    backwardDigestKey: toHex(keys.subarray(96, 128)),
  };
}

describe('ntor known-answer vector (test/vectors/ntor.json)', () => {
  const expected = {
    clientMessage: VECTOR.clientMessage,
    serverReply: VECTOR.serverReply,
    forwardKey: VECTOR.forwardKey,
    backwardKey: VECTOR.backwardKey,
    forwardDigestKey: VECTOR.forwardDigestKey,
    backwardDigestKey: VECTOR.backwardDigestKey,
  };

  it('uses the PROTOID the vector was made with', () => {
    expect(PROTOID).toBe('allium-tpdp-ntor-x25519-sha256-1');
  });

  it('matches an independent computation from first principles (@noble x25519, HMAC, HKDF)', () => {
    expect(ntorFromFirstPrinciples(VECTOR)).toEqual(expected);
  });

  it.each(PAIRS)('is reproduced by handshake.ts, $name', ({ client, server }) => {
    const identitySecret = fromHex(VECTOR.identitySecret);
    const relay: RelayKeys = {
      identity: { secretKey: identitySecret, publicKey: server.ed25519PublicKey(identitySecret) },
      onion: x25519Pair(server, fromHex(VECTOR.onionSecret)),
    };
    const start = clientHandshakeStart(client, relay.identity.publicKey, relay.onion.publicKey, x25519Pair(client, fromHex(VECTOR.clientEphemeralSecret)));
    const answer = serverHandshake(server, relay, start.message, x25519Pair(server, fromHex(VECTOR.serverEphemeralSecret)));
    const keys = clientHandshakeFinish(client, start.state, answer.reply);
    expect({ clientMessage: toHex(start.message), serverReply: toHex(answer.reply), ...hexKeys(keys) }).toEqual(expected);
    expect(hexKeys(answer.keys)).toEqual(hexKeys(keys));
  });
});
