// The signed relay list, built once and served to every client until it changes: signing and
// serialising thousands of descriptors per request would let clients exhaust the pool's CPU.
import type { CryptoProvider, KeyPair } from '../shared/crypto/provider.ts';
import { signRelayList } from '../shared/relay-list.ts';
import type { RelayRegistry } from './registry.ts';

export class SignedListCache {
  private body: Buffer | undefined;
  private revision = -1;
  private validUntil = 0;
  private readonly registry: RelayRegistry;
  private readonly poolKey: KeyPair;
  private readonly crypto: CryptoProvider;
  private readonly maxAgeMs: number;

  /** maxAgeMs: re-sign at least this often even if nothing changed, so clients see a fresh date. */
  constructor(opts: { registry: RelayRegistry; poolKey: KeyPair; crypto: CryptoProvider; maxAgeMs: number }) {
    this.registry = opts.registry;
    this.poolKey = opts.poolKey;
    this.crypto = opts.crypto;
    this.maxAgeMs = opts.maxAgeMs;
  }

  /** The JSON body of `GET /v1/relays` as of `now`. */
  get(now: number): Buffer {
    if (this.body === undefined || this.revision !== this.registry.revision || now >= this.validUntil) {
      const listed = this.registry.listed(now);
      const signed = signRelayList(
        listed.map((entry) => entry.envelope),
        this.poolKey,
        this.crypto,
        now,
      );
      this.body = Buffer.from(JSON.stringify(signed));
      this.revision = this.registry.revision;
      // A silent relay must leave the list as soon as it is deprecated, not at the next re-signing.
      this.validUntil = Math.min(now + this.maxAgeMs, this.registry.deprecationTime(listed) + 1);
    }
    return this.body;
  }
}
