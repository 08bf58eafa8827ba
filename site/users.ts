// Accounts in SQLite (Node's built-in node:sqlite: no native build). A row holds the SCRAM
// verifier only — salt, iteration count, StoredKey, ServerKey — never the password nor a plain
// hash of it: a stolen file lets nobody log in without first running PBKDF2 per guess.
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { MIN_ITERATIONS, deriveVerifier, webCryptoScram, type ScramVerifier } from '../shared/scram-crypto.ts';
import { saslPrep } from '../shared/scram-messages.ts';
import { DEFAULT_MAX_ITERATIONS } from '../shared/scram-client.ts';

/**
 * PBKDF2-HMAC-SHA256 rounds for new accounts: OWASP's Password Storage Cheat Sheet (2023)
 * recommends 600,000. With SCRAM the client runs PBKDF2 at each login and the server never does,
 * so the count costs the site nothing; it costs the client ~80 ms (WebCrypto on OpenSSL, one
 * core) and an attacker holding the database the same for every guess.
 */
export const DEFAULT_ITERATIONS = 600_000;

export const MAX_NAME_LENGTH = 64;
export const SALT_BYTES = 16;
const KEY_BYTES = 32;

export interface UserStore {
  find(name: string): ScramVerifier | undefined;
  put(name: string, verifier: ScramVerifier): 'added' | 'updated';
  /**
   * A random key made on first run and kept in the database, from which unknown names get their
   * fake salt: stable across restarts, or a restart would tell real names (same salt) from fake.
   */
  readonly fakeCredentialKey: Uint8Array;
  close(): void;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    salt BLOB NOT NULL,
    iterations INTEGER NOT NULL,
    stored_key BLOB NOT NULL,
    server_key BLOB NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS settings (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;
`;

/** Opens (creating on first run, mode 0600) the user database at `path`. */
export function openUserStore(path: string): UserStore {
  mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  chmodSync(path, 0o600);
  db.exec(SCHEMA);
  db.prepare("INSERT OR IGNORE INTO settings (name, value) VALUES ('fake-credential-key', ?)").run(
    globalThis.crypto.getRandomValues(new Uint8Array(KEY_BYTES)),
  );
  const key = db.prepare("SELECT value FROM settings WHERE name = 'fake-credential-key'").get() as { value: Uint8Array };
  const select = db.prepare('SELECT salt, iterations, stored_key, server_key FROM users WHERE name = ?');
  const exists = db.prepare('SELECT 1 FROM users WHERE name = ?');
  const upsert = db.prepare(`
    INSERT INTO users (name, salt, iterations, stored_key, server_key, updated_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (name) DO UPDATE SET salt = excluded.salt, iterations = excluded.iterations,
      stored_key = excluded.stored_key, server_key = excluded.server_key, updated_at = excluded.updated_at`);
  return {
    fakeCredentialKey: key.value,
    find(name) {
      const row = select.get(name) as { salt: Uint8Array; iterations: number; stored_key: Uint8Array; server_key: Uint8Array } | undefined;
      return row && { salt: row.salt, iterations: row.iterations, storedKey: row.stored_key, serverKey: row.server_key };
    },
    put(name, v) {
      const existed = exists.get(name) !== undefined;
      upsert.run(name, v.salt, v.iterations, v.storedKey, v.serverKey, Date.now());
      return existed ? 'updated' : 'added';
    },
    close: () => db.close(),
  };
}

/** Normalises a user name the way a SCRAM client sends it, refusing names no client could send. */
export function userName(name: string): string {
  const prepared = saslPrep(name);
  if (prepared.length > MAX_NAME_LENGTH) throw new Error(`a user name is at most ${MAX_NAME_LENGTH} characters`);
  return prepared;
}

/** Creates the account, or replaces its password: stores a fresh salt and the SCRAM verifier. */
export async function addUser(
  dbPath: string,
  name: string,
  password: string,
  options: { iterations?: number } = {},
): Promise<'added' | 'updated'> {
  const user = userName(name);
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  // Above the clients' cap the account could never log in.
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > DEFAULT_MAX_ITERATIONS) {
    throw new Error(`the iteration count must be an integer from ${MIN_ITERATIONS} to ${DEFAULT_MAX_ITERATIONS}`);
  }
  const crypto = webCryptoScram(globalThis.crypto);
  const verifier = await deriveVerifier(crypto, password, crypto.randomBytes(SALT_BYTES), iterations);
  const store = openUserStore(dbPath);
  try {
    return store.put(user, verifier);
  } finally {
    store.close();
  }
}
