// Firefox: the SOCKS5 username and password each anonymous tab's requests carry to the local
// `allium proxy`. The proxy gives every pair a circuit of its own (isolation keys, docs/PROXY.md),
// and Firefox keeps connections with different proxy credentials apart, so each tab gets its own
// circuit. Requests of no tab in a container (its service workers) use the container's pair.
//
// Passwords are random: tab ids start again at every browser start, and a reused pair would put a
// new tab on an old tab's circuit if the proxy kept running. A new pair is a new circuit, which is
// how "New circuit" works (connections Firefox keeps open stay on the old pair). Pairs live in
// session storage, so the background may be stopped and woken without changing them.
import browser from 'webextension-polyfill';
import { toBase64 } from './base64.ts';

export interface SocksCredentials {
  username: string;
  password: string;
}

const STORAGE_KEY = 'credentials';
const tabName = (tabId: number) => `tab-${tabId}`;
const containerName = (cookieStoreId: string) => `container-${cookieStoreId}`;

export class TabCredentials {
  /** Password by username. */
  private passwords = new Map<string, string>();

  async restore(): Promise<void> {
    const stored = (await browser.storage.session.get(STORAGE_KEY))[STORAGE_KEY] as Record<string, string> | undefined;
    this.passwords = new Map(Object.entries(stored ?? {}));
  }

  ofTab(tabId: number): SocksCredentials {
    return this.pair(tabName(tabId));
  }

  ofContainer(cookieStoreId: string): SocksCredentials {
    return this.pair(containerName(cookieStoreId));
  }

  /** New pairs for a tab and its container; returns the old ones. */
  renew(tabId: number, cookieStoreId: string): SocksCredentials[] {
    const old = [this.ofTab(tabId), this.ofContainer(cookieStoreId)];
    for (const { username } of old) this.passwords.delete(username);
    this.ofTab(tabId);
    this.ofContainer(cookieStoreId);
    return old;
  }

  /** Forgets the pairs of tabs and containers that are gone; returns them. */
  forget(tabIds: number[], cookieStoreIds: string[]): SocksCredentials[] {
    const names = [...tabIds.map(tabName), ...cookieStoreIds.map(containerName)];
    const gone = names.flatMap((username) => {
      const password = this.passwords.get(username);
      return password === undefined ? [] : [{ username, password }];
    });
    for (const { username } of gone) this.passwords.delete(username);
    if (gone.length > 0) this.persist();
    return gone;
  }

  private pair(username: string): SocksCredentials {
    let password = this.passwords.get(username);
    if (password === undefined) {
      password = toBase64(crypto.getRandomValues(new Uint8Array(18)));
      this.passwords.set(username, password);
      this.persist();
    }
    return { username, password };
  }

  private persist(): void {
    // Pairs are made while Firefox waits for a request's proxy: it is not kept waiting for storage.
    void browser.storage.session.set({ [STORAGE_KEY]: Object.fromEntries(this.passwords) }).catch((err: unknown) => console.warn('allium: credentials not saved', err));
  }
}
