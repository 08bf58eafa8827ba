// Long-term keys on disk: a small JSON file, created with mode 0600 on first run and reused after,
// so a relay keeps its identity (and its place in pools) across restarts. Keys are never logged.
// A relay's onion keys carry their creation time, and the key it replaced at its last rotation
// is kept beside the current one for the grace period (docs/TPDP.md §4.2.1).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeKey, toBase64Url } from '../shared/bytes.ts';
import type { CryptoProvider, KeyPair } from '../shared/crypto/provider.ts';

export type KeyKind = 'ed25519' | 'x25519';

/** An onion key and when it was made (ms since the epoch). */
export type DatedKey = { pair: KeyPair; created: number };
/** The onion key in use, and the one it replaced with the time of that rotation. */
export type OnionKeySet = { current: DatedKey; previous?: DatedKey & { replaced: number } };

const FILE_VERSION = 2;

/** Loads the named key pairs from `path`, generating (and saving) any that are missing. */
export function loadOrCreateKeys<Name extends string>(
  path: string,
  wanted: Record<Name, KeyKind>,
  crypto: CryptoProvider,
): Record<Name, KeyPair> {
  const stored = readKeyFile(path);
  const result = {} as Record<Name, KeyPair>;
  let changed = !existsSync(path);
  for (const name of Object.keys(wanted) as Name[]) {
    const kind = wanted[name];
    if (stored[name] === undefined) {
      const pair = kind === 'ed25519' ? crypto.ed25519Keygen() : crypto.x25519Keygen();
      stored[name] = { type: kind, secretKey: toBase64Url(pair.secretKey) };
      result[name] = pair;
      changed = true;
      continue;
    }
    result[name] = readPair(path, name, stored[name], kind, crypto);
  }
  if (changed) writeKeyFile(path, stored);
  return result;
}

/**
 * Loads the relay's onion keys from its key file, making the first one if there is none. A file
 * from before rotation (an onion key without a creation time) is migrated: its key counts as
 * created now, so the first rotation comes one full period after the upgrade.
 */
export function loadOnionKeys(path: string, crypto: CryptoProvider, now = Date.now()): OnionKeySet {
  const stored = readKeyFile(path);
  if (stored.onion === undefined) {
    const keys: OnionKeySet = { current: { pair: crypto.x25519Keygen(), created: now } };
    saveOnionKeys(path, keys);
    return keys;
  }
  const current = { pair: readPair(path, 'onion', stored.onion, 'x25519', crypto), created: readTime(path, 'onion', stored.onion, 'created') ?? now };
  const keys: OnionKeySet = { current };
  if (stored.previousOnion !== undefined) {
    const entry = stored.previousOnion;
    const created = readTime(path, 'previousOnion', entry, 'created');
    const replaced = readTime(path, 'previousOnion', entry, 'replaced');
    if (created === undefined || replaced === undefined) throw new Error(`key file ${path}: key "previousOnion" needs "created" and "replaced" times`);
    keys.previous = { pair: readPair(path, 'previousOnion', entry, 'x25519', crypto), created, replaced };
  }
  if (readTime(path, 'onion', stored.onion, 'created') === undefined) saveOnionKeys(path, keys);
  return keys;
}

/** Writes the onion keys into the key file, keeping its other keys; atomically, so a crash leaves the old file or the new one. */
export function saveOnionKeys(path: string, keys: OnionKeySet): void {
  const stored = readKeyFile(path);
  stored.onion = { type: 'x25519', secretKey: toBase64Url(keys.current.pair.secretKey), created: keys.current.created };
  if (keys.previous) {
    const { pair, created, replaced } = keys.previous;
    stored.previousOnion = { type: 'x25519', secretKey: toBase64Url(pair.secretKey), created, replaced };
  } else delete stored.previousOnion;
  writeKeyFile(path, stored);
}

function readKeyFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`key file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) throw new Error(`key file ${path}: expected a JSON object`);
  return stored as Record<string, unknown>;
}

function writeKeyFile(path: string, stored: Record<string, unknown>): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, JSON.stringify({ ...stored, version: FILE_VERSION }, null, 2) + '\n', { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

function readPair(path: string, name: string, value: unknown, kind: KeyKind, crypto: CryptoProvider): KeyPair {
  const entry = value as { type?: string; secretKey?: string };
  if (entry?.type !== kind) throw new Error(`key file ${path}: key "${name}" should be ${kind}, found ${entry?.type}`);
  const secretKey = decodeKey(entry.secretKey, 32, `key file ${path}: key "${name}"`);
  const publicKey = kind === 'ed25519' ? crypto.ed25519PublicKey(secretKey) : x25519PublicKey(crypto, secretKey);
  return { secretKey, publicKey };
}

function readTime(path: string, name: string, value: unknown, field: string): number | undefined {
  const time = (value as Record<string, unknown>)[field];
  if (time === undefined) return undefined;
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) throw new Error(`key file ${path}: key "${name}": "${field}" must be a time in ms since the epoch`);
  return time;
}

/** X25519 public key of a secret: the scalar times the base point u = 9 (RFC 7748 §6.1). */
function x25519PublicKey(crypto: CryptoProvider, secretKey: Uint8Array): Uint8Array {
  const basePoint = new Uint8Array(32);
  basePoint[0] = 9;
  return crypto.x25519(secretKey, basePoint);
}
