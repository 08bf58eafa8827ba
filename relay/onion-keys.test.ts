import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../shared/bytes.ts';
import { silentLog } from '../shared/log-sink.ts';
import { nodeCrypto as crypto } from '../node/crypto.ts';
import { loadOnionKeys, loadOrCreateKeys } from '../node/key-file.ts';
import type { Logger } from '../node/log.ts';
import { tempDir } from '../test/support/processes.ts';
import { OnionKeyRing } from './onion-keys.ts';

const log = { ...silentLog, child: () => log } as unknown as Logger;
const DAY = 86_400_000;

function ring(keyFile: string, clock: { now: number }) {
  const { identity } = loadOrCreateKeys(keyFile, { identity: 'ed25519' }, crypto);
  return new OnionKeyRing({ keyFile, identity, crypto, rotationMs: 28 * DAY, graceMs: 7 * DAY, log, now: () => clock.now });
}

const publicOf = (r: OnionKeyRing) => ({ current: toBase64Url(r.onion.publicKey), previous: r.previousOnion.map((k) => toBase64Url(k.publicKey)) });

describe('onion keys on disk and their rotation', () => {
  it('keeps the key across restarts, rotates when due, honours the previous key for the grace period, then drops it', () => {
    const file = join(tempDir(), 'relay.json');
    const clock = { now: 1_000 * DAY };
    const first = publicOf(ring(file, clock));
    expect(first.previous).toEqual([]);
    clock.now += 27 * DAY;
    expect(publicOf(ring(file, clock))).toEqual(first);
    // A relay that was down at the due time rotates as it starts.
    clock.now += 2 * DAY;
    const rotated = publicOf(ring(file, clock));
    expect(rotated.current).not.toBe(first.current);
    expect(rotated.previous).toEqual([first.current]);
    // The previous key survives a restart within its grace…
    clock.now += 6 * DAY;
    expect(publicOf(ring(file, clock))).toEqual(rotated);
    // …and is gone after it, from memory and from the file.
    clock.now += 2 * DAY;
    expect(publicOf(ring(file, clock))).toEqual({ current: rotated.current, previous: [] });
    expect(JSON.parse(readFileSync(file, 'utf8')).previousOnion).toBeUndefined();
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('migrates a key file from before rotation without changing the keys', () => {
    const file = join(tempDir(), 'relay.json');
    const old = loadOrCreateKeys(file, { identity: 'ed25519', onion: 'x25519' }, crypto);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...stored, version: 1 }));
    const keys = loadOnionKeys(file, crypto, 5_000);
    expect(keys.current.pair.publicKey).toEqual(old.onion.publicKey);
    // The rotation clock starts at the upgrade, and the file records it.
    expect(keys.current.created).toBe(5_000);
    const migrated = JSON.parse(readFileSync(file, 'utf8'));
    expect(migrated).toMatchObject({ version: 2, identity: stored.identity, onion: { type: 'x25519', secretKey: stored.onion.secretKey, created: 5_000 } });
    expect(loadOrCreateKeys(file, { identity: 'ed25519' }, crypto).identity.publicKey).toEqual(old.identity.publicKey);
  });

  it('refuses a grace period longer than the rotation period, and bad times in the file', () => {
    const file = join(tempDir(), 'relay.json');
    const { identity } = loadOrCreateKeys(file, { identity: 'ed25519' }, crypto);
    expect(() => new OnionKeyRing({ keyFile: file, identity, crypto, rotationMs: DAY, graceMs: 2 * DAY, log })).toThrow(/grace period must not exceed/);
    loadOnionKeys(file, crypto);
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify({ ...stored, onion: { ...stored.onion, created: 'yesterday' } }));
    expect(() => loadOnionKeys(file, crypto)).toThrow(/"created" must be a time/);
  });
});
