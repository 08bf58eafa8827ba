// The per-hop authenticated key exchange: Tor's ntor (tor-spec §5.1.4, "ntor-curve25519-sha256-1")
// with our own PROTOID and the relay's Ed25519 identity key as ID. The client knows the relay's
// identity and onion key from a signed pool list, so only the holder of the onion key can produce
// AUTH: an earlier hop that swaps keys is detected (no man in the middle).
import { concatBytes, constantTimeEqual, utf8 } from './bytes.ts';
import type { CryptoProvider, KeyPair } from './crypto/provider.ts';
import { takeEphemeralKeyPair } from './ephemeral-keys.ts';
import { TpdpError } from './errors.ts';

export const HANDSHAKE_TYPE_NTOR = 0x0001;
export const PROTOID = 'allium-tpdp-ntor-x25519-sha256-1';
const T_MAC = utf8(PROTOID + ':mac');
const T_KEY = utf8(PROTOID + ':key_extract');
const T_VERIFY = utf8(PROTOID + ':verify');
const M_EXPAND = utf8(PROTOID + ':key_expand');
const SERVER = utf8('Server');
const PROTOID_BYTES = utf8(PROTOID);

export const KEY_BYTES = 32;
/** ID (32) | B (32) | X (32). */
export const CLIENT_HANDSHAKE_SIZE = 96;
/** Y (32) | AUTH (32). */
export const SERVER_HANDSHAKE_SIZE = 64;
/** Kf | Kb | Df | Db, 32 bytes each (docs/TPDP.md §4.3). */
export const KEY_MATERIAL_SIZE = 128;

/**
 * Kf | Kb | Df | Db as derived, in one array: a relay holds one per circuit, and four small
 * arrays would cost about 250 bytes of heap each on top of their 32 bytes.
 */
export type HopKeyMaterial = Uint8Array;
const HOP_KEY_OFFSET = { forwardKey: 0, backwardKey: 32, forwardDigestKey: 64, backwardDigestKey: 96 } as const;
export type HopKeyName = keyof typeof HOP_KEY_OFFSET;

/** One of the four keys, as a view into the material (no copy). */
export function hopKey(material: HopKeyMaterial, name: HopKeyName): Uint8Array {
  return material.subarray(HOP_KEY_OFFSET[name], HOP_KEY_OFFSET[name] + KEY_BYTES);
}

/** What the client holds between sending CREATE/EXTEND and receiving CREATED/EXTENDED. */
export interface ClientHandshakeState {
  identityKey: Uint8Array;
  onionKey: Uint8Array;
  ephemeral: KeyPair;
}

/** H(x, t) = HMAC-SHA256 keyed by the tweak t. */
function h(crypto: CryptoProvider, message: Uint8Array, tweak: Uint8Array): Uint8Array {
  return crypto.hmacSha256(tweak, message);
}

function finish(crypto: CryptoProvider, secretInput: Uint8Array, id: Uint8Array, b: Uint8Array, x: Uint8Array, y: Uint8Array) {
  const verify = h(crypto, secretInput, T_VERIFY);
  const auth = h(crypto, concatBytes(verify, id, b, y, x, PROTOID_BYTES, SERVER), T_MAC);
  // HKDF-Extract(salt = t_key, IKM = secret_input) is KEY_SEED; Expand with m_expand (RFC 5869).
  const keys: HopKeyMaterial = crypto.hkdfSha256(secretInput, T_KEY, M_EXPAND, KEY_MATERIAL_SIZE);
  return { auth, keys };
}

export function clientHandshakeStart(
  crypto: CryptoProvider,
  identityKey: Uint8Array,
  onionKey: Uint8Array,
  ephemeral: KeyPair = takeEphemeralKeyPair(crypto),
): { state: ClientHandshakeState; message: Uint8Array } {
  return {
    state: { identityKey, onionKey, ephemeral },
    message: concatBytes(identityKey, onionKey, ephemeral.publicKey),
  };
}

export function clientHandshakeFinish(crypto: CryptoProvider, state: ClientHandshakeState, reply: Uint8Array): HopKeyMaterial {
  if (reply.length !== SERVER_HANDSHAKE_SIZE) throw new TpdpError('PROTOCOL_ERROR', 'handshake reply has the wrong size');
  const y = reply.subarray(0, 32);
  const auth = reply.subarray(32, 64);
  const { identityKey: id, onionKey: b, ephemeral } = state;
  let secretInput: Uint8Array;
  try {
    secretInput = concatBytes(crypto.x25519(ephemeral.secretKey, y), crypto.x25519(ephemeral.secretKey, b), id, b, ephemeral.publicKey, y, PROTOID_BYTES);
  } catch {
    throw new TpdpError('PROTOCOL_ERROR', 'handshake reply carries an invalid key');
  }
  const result = finish(crypto, secretInput, id, b, ephemeral.publicKey, y);
  if (!constantTimeEqual(result.auth, auth)) {
    throw new TpdpError('PROTOCOL_ERROR', 'relay failed to prove its onion key (handshake AUTH mismatch)');
  }
  return result.keys;
}

export interface RelayKeys {
  identity: KeyPair;
  /** The onion key the relay publishes now. */
  onion: KeyPair;
  /** Onion keys it replaced and still answers for, during their grace period (docs/TPDP.md §4.2). */
  previousOnion?: readonly KeyPair[];
}

/**
 * The relay's half: checks the request names this relay and one of its onion keys (the current
 * one, or one still in its grace period after a rotation), answers Y | AUTH with that key and
 * derives the hop's keys.
 */
export function serverHandshake(
  crypto: CryptoProvider,
  relay: RelayKeys,
  message: Uint8Array,
  ephemeral: KeyPair = takeEphemeralKeyPair(crypto),
): { reply: Uint8Array; keys: HopKeyMaterial } {
  if (message.length !== CLIENT_HANDSHAKE_SIZE) throw new TpdpError('PROTOCOL_ERROR', 'handshake request has the wrong size');
  const id = message.subarray(0, 32);
  const b = message.subarray(32, 64);
  const x = message.subarray(64, 96);
  if (!constantTimeEqual(id, relay.identity.publicKey)) throw new TpdpError('PROTOCOL_ERROR', 'handshake addressed to another relay identity');
  const onion = [relay.onion, ...(relay.previousOnion ?? [])].find((pair) => constantTimeEqual(b, pair.publicKey));
  if (!onion) {
    throw new TpdpError('PROTOCOL_ERROR', 'handshake names an onion key this relay does not hold (not its key, or one rotated out past its grace period: the client needs a fresh relay list)');
  }
  let secretInput: Uint8Array;
  try {
    secretInput = concatBytes(crypto.x25519(ephemeral.secretKey, x), crypto.x25519(onion.secretKey, x), id, b, x, ephemeral.publicKey, PROTOID_BYTES);
  } catch {
    throw new TpdpError('PROTOCOL_ERROR', 'handshake request carries an invalid key');
  }
  const { auth, keys } = finish(crypto, secretInput, id, b, x, ephemeral.publicKey);
  return { reply: concatBytes(ephemeral.publicKey, auth), keys };
}
