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

// New tabs: those opened from anonymous tabs become anonymous before they load (see created()).
browser.tabs.onCreated.addListener((tab) => {
  if (tab.id !== undefined) void tabs.created(tab.id, tab.openerTabId, (tab as { pendingUrl?: string }).pendingUrl ?? tab.url);
});
browser.webNavigation.onCreatedNavigationTarget.addListener((details) => void tabs.navigationTarget(details.tabId, details.sourceTabId, details.url));
// Chrome's details name the network error (the polyfill's types, after Firefox, do not).
chrome.webNavigation.onErrorOccurred.addListener((details) => void tabs.navigationFailed(details.tabId, details.frameId, details.url, details.error));
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
