// The background's Allium client: one AlliumClient for the configured pools, over the browser's
// own WebSocket, with the pure-JS crypto (the protocol core is synchronous, WebCrypto is not) except
// where WebCrypto can work ahead: AES-CTR keystreams (prefetched-keystream.ts) and ephemeral X25519
// key pairs (webcrypto-x25519.ts).
// It is made on first use, so a service worker woken by a request builds it then.
import { AlliumClient, nobleCrypto, type CircuitEvent, type CryptoProvider } from '../shared/index.ts';
import type { PoolSetting } from './messages.ts';
import { loadPools, savePools, usablePools } from './pools.ts';
import { PrefetchedKeyStream } from './prefetched-keystream.ts';
import { webCryptoX25519Keygen } from './webcrypto-x25519.ts';

const browserCrypto: CryptoProvider = {
  ...nobleCrypto,
  name: 'browser',
  aes256Ctr: (key, iv) => new PrefetchedKeyStream(key, iv),
  x25519KeygenAsync: webCryptoX25519Keygen,
};

export class NoPoolError extends Error {}

export class Network {
  private current?: Promise<AlliumClient>;
  private made?: AlliumClient;
  private readonly listeners = new Set<(event: CircuitEvent) => void>();

  client(): Promise<AlliumClient> {
    if (this.current) return this.current;
    const pending = loadPools().then((pools) => {
      const usable = usablePools(pools);
      if (usable.length === 0) throw new NoPoolError('no pool configured: paste the pool key in the options page');
      const client = new AlliumClient({ pools: usable, webSocket: (url, protocols) => new WebSocket(url, protocols), crypto: browserCrypto });
      client.onCircuitEvent((event) => {
        for (const listener of this.listeners) listener(event);
      });
      this.made = client;
      return client;
    });
    // A failure (no pool yet) is not kept: the next request reads the settings again.
    pending.catch(() => {
      if (this.current === pending) this.current = undefined;
    });
    this.current = pending;
    return pending;
  }

  /** Saves new pools; circuits of the old ones close, new ones are built on demand. */
  async setPools(pools: PoolSetting[]): Promise<PoolSetting[]> {
    const saved = await savePools(pools);
    const old = this.current;
    this.current = undefined;
    this.made = undefined;
    old?.then((client) => client.close(), () => {});
    return saved;
  }

  /** The client if it has been made, for status displays that must not build one. */
  peek(): AlliumClient | undefined {
    return this.made;
  }

  onCircuitEvent(listener: (event: CircuitEvent) => void): void {
    this.listeners.add(listener);
  }
}
