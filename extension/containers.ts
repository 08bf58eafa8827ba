// Firefox: each anonymous tab lives in an Allium container (contextual identity) of its own, with
// the tabs it opens (Firefox opens them in the opener's container). A container is a cookie store
// and a storage partition, so an anonymous tab shares cookies and site data with neither normal
// browsing nor other anonymous tabs; and requests are routed by container (container-router.ts),
// which also catches those of no tab, such as the site's service worker. When its last tab is
// closed, the container is removed, and Firefox deletes everything stored in it.
//
// The list of containers is kept in local storage: containers outlive the background and even a
// browser restart, which may bring their tabs back; those tabs must still be routed.
import browser from 'webextension-polyfill';
import { setPredictionAllowed } from './network-prediction.ts';

const STORAGE_KEY = 'containers';
const IDENTITY = { name: 'Allium', color: 'purple', icon: 'fingerprint' };

export class AlliumContainers {
  private ids = new Set<string>();
  /** Creations and removals, one at a time: a new container is empty until its tab is opened. */
  private queue: Promise<unknown> = Promise.resolve();

  async restore(): Promise<void> {
    const stored = (await browser.storage.local.get(STORAGE_KEY))[STORAGE_KEY];
    this.ids = new Set(Array.isArray(stored) ? (stored as string[]) : []);
  }

  has(cookieStoreId: string | undefined): boolean {
    return cookieStoreId !== undefined && this.ids.has(cookieStoreId);
  }

  /** Makes a container and opens a tab in it, as one step. */
  withNew<T>(open: (cookieStoreId: string) => Promise<T>): Promise<T> {
    return this.serially(async () => {
      const { cookieStoreId } = await browser.contextualIdentities.create(IDENTITY);
      this.ids.add(cookieStoreId);
      await this.persist();
      try {
        return await open(cookieStoreId);
      } catch (err) {
        await this.remove(cookieStoreId);
        throw err;
      }
    });
  }

  /** Removes the containers that no tab uses any more; returns them. */
  sweep(): Promise<string[]> {
    return this.serially(async () => {
      const used = new Set((await browser.tabs.query({})).map((tab) => tab.cookieStoreId));
      const empty = [...this.ids].filter((id) => !used.has(id));
      for (const id of empty) await this.remove(id);
      return empty;
    });
  }

  private async remove(cookieStoreId: string): Promise<void> {
    // Already gone (the user removed it in Firefox's settings) is as good as removed.
    await browser.contextualIdentities.remove(cookieStoreId).catch(() => {});
    this.ids.delete(cookieStoreId);
    await this.persist();
  }

  private async persist(): Promise<void> {
    await browser.storage.local.set({ [STORAGE_KEY]: [...this.ids] });
    // Predictive connections and DNS prefetches are not requests that the container's routing is
    // sure to see: they are off while any anonymous tab exists, as in Chrome.
    await setPredictionAllowed(this.ids.size === 0);
  }

  private serially<T>(step: () => Promise<T>): Promise<T> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => {});
    return run;
  }
}
