// The extension's background: Chrome's service worker, Firefox's event page. Everything that
// listens for browser events is registered here, synchronously, so that an event which wakes a
// stopped background finds its listener. Only the way tabs are routed differs between browsers
// (tab-routing.ts); the message API, the pages and the settings are the same.
import browser from 'webextension-polyfill';
import { AnonymousTabs } from './anonymous-tabs.ts';
import { ChromeRouter } from './chrome-router.ts';
import { ContainerTabs } from './container-tabs.ts';
import { isRequest, type Replies, type Request } from './messages.ts';
import { Network } from './network.ts';
import { loadPools } from './pools.ts';
import { routesWithDebugger, type TabRouting } from './tab-routing.ts';

const network = new Network();
const tabs: TabRouting = routesWithDebugger() ? chromeTabs() : new ContainerTabs();

/** Chrome: tabs opened from anonymous tabs must be made anonymous before they load (see created()). */
function chromeTabs(): AnonymousTabs {
  const anonymous = new AnonymousTabs(network, (handlers) => new ChromeRouter(handlers));
  browser.tabs.onCreated.addListener((tab) => {
    if (tab.id !== undefined) void anonymous.created(tab.id, tab.openerTabId, (tab as { pendingUrl?: string }).pendingUrl ?? tab.url);
  });
  browser.webNavigation.onCreatedNavigationTarget.addListener((details) => void anonymous.navigationTarget(details.tabId, details.sourceTabId, details.url));
  // Chrome's details name the network error (the polyfill's types, after Firefox, do not).
  chrome.webNavigation.onErrorOccurred.addListener((details) => void anonymous.navigationFailed(details.tabId, details.frameId, details.url, details.error));
  return anonymous;
}

browser.runtime.onMessage.addListener((message: unknown, sender: browser.Runtime.MessageSender) => {
  // Only the extension's own pages may steer it; content scripts and web pages may not.
  if (!isRequest(message) || sender.id !== browser.runtime.id || !sender.url?.startsWith(browser.runtime.getURL(''))) return undefined;
  return answer(message).catch((err: unknown) => ({ error: (err as Error)?.message ?? String(err) }));
});
browser.tabs.onRemoved.addListener((tabId) => void tabs.removed(tabId));
// A temporary install is someone loading the build by hand (about:debugging, tests): show the
// options, where the extension is set up. (Only Firefox has temporary installs.)
browser.runtime.onInstalled.addListener((details) => {
  if (details.temporary) void browser.runtime.openOptionsPage();
});

async function answer(request: Request): Promise<Replies[Request['type']]> {
  switch (request.type) {
    case 'allium:set-pools': {
      const pools = await network.setPools(request.pools);
      tabs.poolsChanged();
      return { pools };
    }
    case 'allium:get-pools':
      return { pools: await loadPools() };
    case 'allium:set-proxy':
      return localProxy().setProxy(request.proxy);
    case 'allium:get-proxy':
      return localProxy().getProxy();
    case 'allium:set-tab':
      return tabs.setAnonymous(tabId(request.tabId), request.anonymous === true);
    case 'allium:tab-status':
      await tabs.ready;
      return tabs.status(tabId(request.tabId));
    case 'allium:new-circuit':
      return tabs.newCircuit(tabId(request.tabId));
  }
}

function localProxy(): ContainerTabs {
  if (!(tabs instanceof ContainerTabs)) throw new Error('this browser routes tabs without a local proxy');
  return tabs;
}

function tabId(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0) throw new Error(`not a tab id: ${String(value)}`);
  return value as number;
}
