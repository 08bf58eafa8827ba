// The extension's background: Chrome's service worker, Firefox's event page. Everything that
// listens for browser events is registered here, synchronously, so that an event which wakes a
// stopped worker finds its listener.
import browser from 'webextension-polyfill';
import { AnonymousTabs } from './anonymous-tabs.ts';
import { ChromeRouter } from './chrome-router.ts';
import { isRequest, type Replies, type Request } from './messages.ts';
import { Network } from './network.ts';
import { loadPools } from './pools.ts';

const network = new Network();
// Chrome routes a tab through chrome.debugger; Firefox has no such API (its routing comes later).
const tabs = new AnonymousTabs(network, globalThis.chrome?.debugger ? (handlers) => new ChromeRouter(handlers) : undefined);

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender) => {
  // Only the extension's own pages may steer it; content scripts and web pages may not.
  if (!isRequest(message) || sender.id !== browser.runtime.id || !sender.url?.startsWith(browser.runtime.getURL(''))) return undefined;
  return answer(message).catch((err: unknown) => ({ error: (err as Error)?.message ?? String(err) }));
});

// A tab opened from another to show a link (target=_blank, window.open, "open in new tab")…
browser.webNavigation.onCreatedNavigationTarget.addListener((details) => void tabs.opened(details.tabId, details.sourceTabId, details.url));
// …and, in case that comes late, any tab created with an opener and a web page to load. Tabs
// opened blank (a new tab page, tools creating tabs) keep their own setting.
browser.tabs.onCreated.addListener((tab) => {
  const url = (tab as { pendingUrl?: string }).pendingUrl ?? tab.url;
  if (tab.id !== undefined && url && /^https?:/.test(url)) void tabs.opened(tab.id, tab.openerTabId, url);
});
browser.tabs.onRemoved.addListener((tabId) => void tabs.removed(tabId));

async function answer(request: Request): Promise<Replies[Request['type']]> {
  switch (request.type) {
    case 'allium:set-pools': {
      const pools = await network.setPools(request.pools);
      tabs.poolsChanged();
      return { pools };
    }
    case 'allium:get-pools':
      return { pools: await loadPools() };
    case 'allium:set-tab':
      return tabs.setAnonymous(tabId(request.tabId), request.anonymous === true);
    case 'allium:tab-status':
      await tabs.ready;
      return tabs.status(tabId(request.tabId));
    case 'allium:new-circuit':
      return tabs.newCircuit(tabId(request.tabId));
  }
}

function tabId(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new Error(`not a tab id: ${String(value)}`);
  return value as number;
}
