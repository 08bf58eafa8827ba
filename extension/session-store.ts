// What must survive the service worker being stopped (Chrome stops idle workers): which tabs are
// anonymous, which lost their protection, and each tab's cookies. Session storage lives as long
// as the browser and is never written to disk.
import browser from 'webextension-polyfill';
import { CookieJar, type StoredCookie } from './cookie-jar.ts';

export interface TabRecord {
  /** Interception was lost: the tab stays blocked until the user turns anonymity off or on. */
  lost: boolean;
}

const TABS = 'tabs';
const jarKey = (tabId: number) => `jar:${tabId}`;

export async function loadTabs(): Promise<Map<number, TabRecord>> {
  const stored = ((await browser.storage.session.get(TABS))[TABS] ?? {}) as Record<string, TabRecord>;
  return new Map(Object.entries(stored).map(([id, record]) => [Number(id), record]));
}

export async function saveTabs(tabs: Map<number, TabRecord>): Promise<void> {
  await browser.storage.session.set({ [TABS]: Object.fromEntries(tabs) });
}

export async function loadJar(tabId: number): Promise<CookieJar> {
  const key = jarKey(tabId);
  return new CookieJar(((await browser.storage.session.get(key))[key] ?? []) as StoredCookie[]);
}

export async function saveJar(tabId: number, jar: CookieJar): Promise<void> {
  await browser.storage.session.set({ [jarKey(tabId)]: jar.toJSON() });
}

export async function forgetJar(tabId: number): Promise<void> {
  await browser.storage.session.remove(jarKey(tabId));
}
