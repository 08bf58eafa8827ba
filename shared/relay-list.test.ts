import { describe, expect, it } from 'vitest';
import { toBase64Url } from './bytes.ts';
import { nobleCrypto as crypto } from './crypto/noble.ts';
import { signDescriptor, signText, type SignedDescriptor } from './descriptor.ts';
import { RELAY_LIST_DOMAIN, signRelayList, verifyRelayList } from './relay-list.ts';

const poolKey = crypto.ed25519Keygen();
const pinned = toBase64Url(poolKey.publicKey);
const now = 1_700_000_000_000;

function signedRelay(url = 'ws://127.0.0.1:9001'): SignedDescriptor {
  const fields = { onionKey: toBase64Url(crypto.x25519Keygen().publicKey), url, outbound: [], exit: { allowPrivate: true } };
  return signDescriptor(fields, crypto.ed25519Keygen(), crypto, now - 60_000);
}

/** A list signed by the pinned key whose content was edited: only the check under test can refuse it. */
function resigned(edit: (list: Record<string, unknown>) => void) {
  const list = JSON.parse(signRelayList([signedRelay()], poolKey, crypto, now).list) as Record<string, unknown>;
  edit(list);
  const text = JSON.stringify(list);
  return { list: text, signature: signText(RELAY_LIST_DOMAIN, text, poolKey.secretKey, crypto) };
}

describe('signed relay lists', () => {
  it('verify against the pinned key and carry every descriptor', () => {
    const relays = [signedRelay('ws://127.0.0.1:9001'), signedRelay('wss://relay.example.org')];
    const verified = verifyRelayList(signRelayList(relays, poolKey, crypto, now), pinned, crypto, now + 1000);
    expect(verified.published).toBe(now);
    expect(verified.relays.map((r) => r.url)).toEqual(['ws://127.0.0.1:9001', 'wss://relay.example.org']);
  });

  it('refuses a list signed by another key', () => {
    const other = crypto.ed25519Keygen();
    const envelope = signRelayList([signedRelay()], other, crypto, now);
    expect(() => verifyRelayList(envelope, pinned, crypto, now)).toThrow(/not signed by the pinned pool key/);
  });

  it('refuses a tampered list', () => {
    const envelope = signRelayList([signedRelay()], poolKey, crypto, now);
    const tampered = { ...envelope, list: envelope.list.replace('"relays":[', `"relays":[${JSON.stringify(signedRelay())},`) };
    expect(() => verifyRelayList(tampered, pinned, crypto, now)).toThrow(/bad signature/);
  });

  it('refuses a list whose poolKey is not the pinned key', () => {
    const envelope = resigned((list) => (list.poolKey = toBase64Url(crypto.ed25519Keygen().publicKey)));
    expect(() => verifyRelayList(envelope, pinned, crypto, now)).toThrow(/poolKey differs/);
  });

  it('refuses a list older than 10 minutes or from more than 60 s in the future', () => {
    const envelope = signRelayList([], poolKey, crypto, now);
    expect(() => verifyRelayList(envelope, pinned, crypto, now + 10 * 60_000)).not.toThrow();
    expect(() => verifyRelayList(envelope, pinned, crypto, now + 10 * 60_000 + 1)).toThrow(/older than 10 minutes/);
    expect(() => verifyRelayList(envelope, pinned, crypto, now - 60_001)).toThrow(/in the future/);
  });

  it('refuses a list holding a forged descriptor or the same relay twice', () => {
    const forged = resigned((list) => {
      const [entry] = list.relays as SignedDescriptor[];
      entry.signature = signedRelay().signature;
    });
    expect(() => verifyRelayList(forged, pinned, crypto, now)).toThrow(/entry 0: descriptor: bad signature/);
    const twice = resigned((list) => {
      const [entry] = list.relays as SignedDescriptor[];
      list.relays = [entry, entry];
    });
    expect(() => verifyRelayList(twice, pinned, crypto, now)).toThrow(/listed twice/);
  });

  it('refuses unknown versions, malformed envelopes and malformed pinned keys', () => {
    expect(() => verifyRelayList(resigned((list) => (list.version = 2)), pinned, crypto, now)).toThrow(/unsupported version/);
    expect(() => verifyRelayList(resigned((list) => (list.relays = {})), pinned, crypto, now)).toThrow(/relays must be an array/);
    expect(() => verifyRelayList({ list: 1 }, pinned, crypto, now)).toThrow(/"list" must be a string/);
    expect(() => verifyRelayList(signRelayList([], poolKey, crypto, now), 'not-a-key', crypto, now)).toThrow(/pinned pool key/);
  });
});
