// The list of live relays a pool serves, signed by the pool's Ed25519 key. Clients pin that key,
// so a pool reached through a circuit (or an attacker on the path) cannot substitute relays, and
// the publication time bounds how long an old list can be replayed to them.
import { decodeKey, toBase64Url } from './bytes.ts';
import { ED25519_KEY_BYTES, type CryptoProvider, type KeyPair } from './crypto/provider.ts';
import {
  checkSignature,
  openEnvelope,
  signText,
  verifyDescriptor,
  type RelayDescriptor,
  type SignedDescriptor,
} from './descriptor.ts';

export const RELAY_LIST_DOMAIN = 'allium-relay-list-v1\n';
/** A list older than this is refused: the pool re-signs every few seconds, so only a replay is this old. */
const LIST_MAX_AGE_MS = 10 * 60_000;
/** Tolerated clock skew between pool and client. */
const LIST_MAX_FUTURE_MS = 60_000;
/** Room for the pool's default cap of 10 000 relays: about 0.65 KiB each on the wire, 1.6 KiB at most. */
export const MAX_LIST_CHARS = 16 * 1024 * 1024;

export type RelayList = { version: 1; poolKey: string; published: number; relays: SignedDescriptor[] };
export type SignedRelayList = { list: string; signature: string };

export function signRelayList(relays: SignedDescriptor[], poolKey: KeyPair, crypto: CryptoProvider, now = Date.now()): SignedRelayList {
  const list: RelayList = { version: 1, poolKey: toBase64Url(poolKey.publicKey), published: now, relays };
  const text = JSON.stringify(list);
  return { list: text, signature: signText(RELAY_LIST_DOMAIN, text, poolKey.secretKey, crypto) };
}

/**
 * Verifies a list against the pool key the client pinned (base64url), its freshness, and every
 * descriptor in it; throws Error naming the first problem. One bad entry refuses the whole list,
 * since a pool that signs it is misbehaving.
 */
export function verifyRelayList(
  envelope: unknown,
  pinnedKey: string,
  crypto: CryptoProvider,
  now = Date.now(),
): { published: number; relays: RelayDescriptor[] } {
  const poolKey = decodeKey(pinnedKey, ED25519_KEY_BYTES, 'pinned pool key');
  const { text, signature } = openEnvelope(envelope, 'list', MAX_LIST_CHARS, 'relay list');
  checkSignature(RELAY_LIST_DOMAIN, text, signature, poolKey, crypto, 'relay list (not signed by the pinned pool key)');
  let list: Partial<RelayList>;
  try {
    list = JSON.parse(text) as Partial<RelayList>;
  } catch {
    throw new Error('relay list: not valid JSON');
  }
  if (typeof list !== 'object' || list === null) throw new Error('relay list: expected a JSON object');
  if (list.version !== 1) throw new Error(`relay list: unsupported version ${JSON.stringify(list.version)}`);
  if (list.poolKey !== pinnedKey) throw new Error('relay list: poolKey differs from the pinned pool key');
  const published = list.published;
  if (typeof published !== 'number' || !Number.isSafeInteger(published)) throw new Error('relay list: published must be an integer');
  if (published < now - LIST_MAX_AGE_MS) {
    throw new Error(`relay list: published ${Math.round((now - published) / 1000)} s ago, older than ${LIST_MAX_AGE_MS / 60_000} minutes`);
  }
  if (published > now + LIST_MAX_FUTURE_MS) {
    throw new Error(`relay list: published ${Math.round((published - now) / 1000)} s in the future (clock skew?)`);
  }
  if (!Array.isArray(list.relays)) throw new Error('relay list: relays must be an array');
  const seen = new Set<string>();
  const relays = list.relays.map((entry, index) => {
    let descriptor: RelayDescriptor;
    try {
      descriptor = verifyDescriptor(entry, crypto);
    } catch (err) {
      throw new Error(`relay list: entry ${index}: ${(err as Error).message}`);
    }
    if (seen.has(descriptor.id)) throw new Error(`relay list: relay ${descriptor.id} listed twice`);
    seen.add(descriptor.id);
    return descriptor;
  });
  return { published, relays };
}
