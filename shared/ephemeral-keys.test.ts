import { describe, expect, it } from 'vitest';
import { toHex } from './bytes.ts';
import { nobleCrypto } from './crypto/noble.ts';
import type { CryptoProvider } from './crypto/provider.ts';
import { RESERVE_SIZE, takeEphemeralKeyPair } from './ephemeral-keys.ts';
import { clientHandshakeFinish, clientHandshakeStart, serverHandshake } from './handshake.ts';

/** @noble with its key generations counted; with `async`, also an x25519KeygenAsync that may fail. */
function countingCrypto(async?: { fails: boolean }) {
  const counts = { total: 0, async: 0 };
  const crypto: CryptoProvider = {
    ...nobleCrypto,
    x25519Keygen: () => {
      counts.total++;
      return nobleCrypto.x25519Keygen();
    },
  };
  if (async) {
    crypto.x25519KeygenAsync = async () => {
      counts.async++;
      if (async.fails) throw new Error('no X25519 in this WebCrypto');
      return nobleCrypto.x25519Keygen();
    };
  }
  return { crypto, counts };
}

const nextTimerTask = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('ephemeral key reserve', () => {
  it('makes a pair now when none is ready, and fills the reserve after the caller is done', async () => {
    const { crypto, counts } = countingCrypto();
    takeEphemeralKeyPair(crypto);
    expect(counts.total).toBe(1);
    await Promise.resolve(); // not in a microtask: the caller's answer must leave first
    expect(counts.total).toBe(1);
    await nextTimerTask();
    expect(counts.total).toBe(1 + RESERVE_SIZE);
  });

  it('hands out ready pairs without making one, each pair once, and a valid X25519 pair', async () => {
    const { crypto, counts } = countingCrypto();
    const seen = new Set([toHex(takeEphemeralKeyPair(crypto).secretKey)]);
    await nextTimerTask();
    const before = counts.total;
    const pairs = Array.from({ length: RESERVE_SIZE }, () => takeEphemeralKeyPair(crypto));
    expect(counts.total).toBe(before);
    for (const pair of pairs) {
      expect(seen.has(toHex(pair.secretKey))).toBe(false);
      seen.add(toHex(pair.secretKey));
      expect(pair.publicKey).toEqual(nobleCrypto.x25519(pair.secretKey, Uint8Array.of(9, ...new Uint8Array(31))));
    }
    // Empty now: the next one is made on the spot, and the reserve refilled once more.
    expect(seen.has(toHex(takeEphemeralKeyPair(crypto).secretKey))).toBe(false);
    expect(counts.total).toBe(before + 1);
    await nextTimerTask();
    expect(counts.total).toBe(before + 1 + RESERVE_SIZE);
  });

  it('fills the reserve with the provider\'s asynchronous key generation when it has one', async () => {
    const { crypto, counts } = countingCrypto({ fails: false });
    takeEphemeralKeyPair(crypto);
    await nextTimerTask();
    expect(counts).toEqual({ total: 1, async: RESERVE_SIZE });
    for (let i = 0; i < RESERVE_SIZE; i++) takeEphemeralKeyPair(crypto);
    expect(counts.total).toBe(1);
  });

  it('falls back to timer tasks for good once the asynchronous generation fails', async () => {
    const { crypto, counts } = countingCrypto({ fails: true });
    takeEphemeralKeyPair(crypto);
    await nextTimerTask();
    expect(counts).toEqual({ total: 1 + RESERVE_SIZE, async: RESERVE_SIZE });
    takeEphemeralKeyPair(crypto);
    await nextTimerTask();
    expect(counts).toEqual({ total: 2 + RESERVE_SIZE, async: RESERVE_SIZE });
  });

  it('gives both sides of a handshake their ephemeral keys by default', async () => {
    const { crypto, counts } = countingCrypto();
    const relay = { identity: crypto.ed25519Keygen(), onion: nobleCrypto.x25519Keygen() };
    takeEphemeralKeyPair(crypto);
    await nextTimerTask();
    const before = counts.total;
    const { state, message } = clientHandshakeStart(crypto, relay.identity.publicKey, relay.onion.publicKey);
    const server = serverHandshake(crypto, relay, message);
    expect(clientHandshakeFinish(crypto, state, server.reply)).toEqual(server.keys);
    expect(counts.total).toBe(before);
  });
});
