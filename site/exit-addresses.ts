// Which addresses Allium exit traffic comes from, as check.torproject.org does it: the outbound
// addresses every relay advertises in its signed descriptor, read from the pools' relay lists.
import type { CryptoProvider } from '../shared/crypto/provider.ts';
import { fetchDirectory, type PoolRef } from '../shared/directory.ts';
import { normalizeAddress } from '../node/peer-address.ts';

/** Relays come and go at the pace of heartbeats; a minute-old list is fresh enough for a banner. */
export const EXIT_LIST_TTL_MS = 60_000;

/**
 * Returns the `exitAddresses` option of startSite for these pools: one directory fetch per
 * minute at most, shared by concurrent visits; a failed fetch is retried at the next visit.
 */
export function poolExitAddresses(
  pools: PoolRef[],
  options: { fetch: typeof fetch; crypto: CryptoProvider; ttlMs?: number },
): () => Promise<Set<string>> {
  const ttl = options.ttlMs ?? EXIT_LIST_TTL_MS;
  let cached: { at: number; addresses: Promise<Set<string>> } | undefined;
  return () => {
    const now = Date.now();
    if (cached === undefined || now - cached.at > ttl) {
      const addresses = fetchDirectory(pools, options).then(
        ({ relays }) => new Set(relays.flatMap((relay) => relay.outbound.map(normalizeAddress))),
      );
      const entry = { at: now, addresses };
      cached = entry;
      addresses.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.addresses;
  };
}
