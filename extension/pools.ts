// The pools the extension takes relays from, kept in extension storage. The default is the local
// demo pool (`npm start`); its key is printed by the demo and must be pasted in the options page,
// since a build cannot know it.
import browser from 'webextension-polyfill';
import { decodeKey } from '../shared/bytes.ts';
import type { PoolSetting } from './messages.ts';

export const DEMO_POOL_URL = 'http://127.0.0.1:7070';
const STORAGE_KEY = 'pools';

export async function loadPools(): Promise<PoolSetting[]> {
  const stored = (await browser.storage.local.get(STORAGE_KEY))[STORAGE_KEY];
  return Array.isArray(stored) ? (stored as PoolSetting[]) : [{ url: DEMO_POOL_URL, key: '' }];
}

export async function savePools(pools: PoolSetting[]): Promise<PoolSetting[]> {
  const checked = pools.map(checkPool);
  await browser.storage.local.set({ [STORAGE_KEY]: checked });
  return checked;
}

/** Normalises one entry, or throws an Error that says what is wrong with it. */
export function checkPool(pool: PoolSetting): PoolSetting {
  let url: URL;
  try {
    url = new URL(String(pool?.url ?? '').trim());
  } catch {
    throw new Error(`"${pool?.url}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`a pool URL starts with http:// or https://, not ${url.protocol}`);
  const key = String(pool?.key ?? '').trim();
  try {
    decodeKey(key, 32, 'pool key');
  } catch {
    throw new Error(`the key of ${url.origin} must be the pool's Ed25519 key as the pool prints it (43 characters)`);
  }
  return { url: url.href.replace(/\/+$/, ''), key };
}

/** Pools that can be used: a missing key (the unconfigured default) leaves a pool out. */
export function usablePools(pools: PoolSetting[]): PoolSetting[] {
  return pools.filter((pool) => {
    try {
      checkPool(pool);
      return true;
    } catch {
      return false;
    }
  });
}
