// Long-term keys on disk: a small JSON file, created with mode 0600 on first run and reused after,
// so a relay keeps its identity (and its place in pools) across restarts. Keys are never logged.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeKey, toBase64Url } from '../shared/bytes.ts';
import type { CryptoProvider, KeyPair } from '../shared/crypto/provider.ts';

export type KeyKind = 'ed25519' | 'x25519';

/** Loads the named key pairs from `path`, generating (and saving) any that are missing. */
export function loadOrCreateKeys<Name extends string>(
  path: string,
  wanted: Record<Name, KeyKind>,
  crypto: CryptoProvider,
): Record<Name, KeyPair> {
  let stored: Record<string, unknown> = {};
  if (existsSync(path)) {
    try {
      stored = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`key file ${path} is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof stored !== 'object' || stored === null) throw new Error(`key file ${path}: expected a JSON object`);
  }
  const result = {} as Record<Name, KeyPair>;
  let changed = !existsSync(path);
  for (const name of Object.keys(wanted) as Name[]) {
    const kind = wanted[name];
    const entry = stored[name] as { type?: string; secretKey?: string } | undefined;
    if (entry === undefined) {
      const pair = kind === 'ed25519' ? crypto.ed25519Keygen() : crypto.x25519Keygen();
      stored[name] = { type: kind, secretKey: toBase64Url(pair.secretKey) };
      result[name] = pair;
      changed = true;
      continue;
    }
    if (entry.type !== kind) throw new Error(`key file ${path}: key "${name}" should be ${kind}, found ${entry.type}`);
    const secretKey = decodeKey(entry.secretKey, 32, `key file ${path}: key "${name}"`);
    const publicKey = kind === 'ed25519' ? crypto.ed25519PublicKey(secretKey) : x25519PublicKey(crypto, secretKey);
    result[name] = { secretKey, publicKey };
  }
  if (changed) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify({ version: 1, ...stored }, null, 2) + '\n', { mode: 0o600 });
    chmodSync(path, 0o600);
  }
  return result;
}

/** X25519 public key of a secret: the scalar times the base point u = 9 (RFC 7748 §6.1). */
function x25519PublicKey(crypto: CryptoProvider, secretKey: Uint8Array): Uint8Array {
  const basePoint = new Uint8Array(32);
  basePoint[0] = 9;
  return crypto.x25519(secretKey, basePoint);
}
