// Circuit ids are chosen by the link's opener: random (from the CSPRNG, so they say nothing about
// how many circuits the link carries), nonzero, and unused on that link (docs/TPDP.md §3.2).
import { readU32 } from './bytes.ts';
import type { CryptoProvider } from './crypto/provider.ts';

export function unusedCircuitId(crypto: CryptoProvider, inUse: { has(id: number): boolean }): number {
  for (;;) {
    const id = readU32(crypto.randomBytes(4), 0);
    if (id !== 0 && !inUse.has(id)) return id;
  }
}
