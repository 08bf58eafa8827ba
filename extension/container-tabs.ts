// Firefox's anonymous tabs: a tab is anonymous when it lives in an Allium container
// (containers.ts), whose every request goes to the local `allium proxy` with the tab's own SOCKS5
// credentials (container-router.ts, tab-credentials.ts). The proxy builds the circuits; its
// control endpoint says which one a tab has (proxy-control.ts). A tab cannot change container,
// so turning anonymity on or off opens the page again in a new tab, in or out of a container,
// and closes the old one.
import browser from 'webextension-polyfill';
import { circuitView, troubleState } from './circuit-view.ts';
import { routeRequests, type ProxyInfo, type RequestDetails } from './container-router.ts';
import { AlliumContainers } from './containers.ts';
import type { ProxyCheck, ProxySetting, TabStatus } from './messages.ts';
import { checkProxy, circuitOf, prepareCircuit, retireCircuit, type CircuitInfo } from './proxy-control.ts';
import { loadProxySetting, saveProxySetting, socksAddress } from './proxy-settings.ts';
import type { TabRouting } from './tab-routing.ts';
import { TabCredentials, type SocksCredentials } from './tab-credentials.ts';

const ALL_SITES = { origins: ['<all_urls>'] };

export class ContainerTabs implements TabRouting {
  private readonly containers = new AlliumContainers();
  private readonly credentials = new TabCredentials();
  private setting!: ProxySetting;
  readonly ready: Promise<void>;

  /** Call at the background's top level, so that a request that wakes it finds the router. */
  constructor() {
    routeRequests((details) => this.route(details));
    this.ready = Promise.all([this.containers.restore(), this.credentials.restore(), loadProxySetting().then((setting) => (this.setting = setting))]).then(() => {});
  }

  async status(tabId: number): Promise<TabStatus> {
    await this.ready;
    const tab = await browser.tabs.get(tabId);
    if (!this.containers.has(tab.cookieStoreId)) return { tabId, anonymous: false, state: 'off', ...circuitView([], undefined) };
    let info: CircuitInfo;
    try {
      info = await circuitOf(this.setting, this.credentials.ofTab(tabId));
    } catch (err) {
      return { tabId, anonymous: true, state: 'no-proxy', ...circuitView([], undefined), detail: (err as Error).message };
    }
    if (info.state === 'open') return { tabId, anonymous: true, state: 'ready', ...circuitView(info.relays, info.circuitId) };
    if (info.state === 'failed') {
      const message = info.error?.message ?? 'the circuit failed';
      return { tabId, anonymous: true, state: troubleState(message), ...circuitView([], undefined), detail: message };
    }
    // No circuit yet: build it now. A tab opened from an anonymous tab may have made its first
    // requests before Firefox gave them its tab id (with the container's credentials), so its own
    // circuit may not exist until something asks for it.
    if (info.state === 'none') void this.prepare(tabId, tab.url);
    return { tabId, anonymous: true, state: 'connecting', ...circuitView([], undefined) };
  }

  async setAnonymous(tabId: number, anonymous: boolean): Promise<TabStatus> {
    await this.ready;
    const tab = await browser.tabs.get(tabId);
    if (this.containers.has(tab.cookieStoreId) === anonymous) return this.status(tabId);
    // Without access to every site, Firefox would not ask the router about the tab's requests.
    if (anonymous && !(await browser.permissions.contains(ALL_SITES))) {
      throw new Error('Allium needs access to all websites to route a tab: allow it in about:addons → Allium → Permissions');
    }
    const url = /^https?:/.test(tab.url ?? '') ? tab.url : undefined;
    const reopen = (cookieStoreId?: string) =>
      browser.tabs.create({ url, cookieStoreId, windowId: tab.windowId, index: tab.index + 1, active: tab.active, pinned: tab.pinned });
    const opened = anonymous ? await this.containers.withNew(reopen) : await reopen();
    await browser.tabs.remove(tabId);
    if (anonymous) void this.prepare(opened.id!, url);
    return this.status(opened.id!);
  }

  async newCircuit(tabId: number): Promise<TabStatus> {
    await this.ready;
    const tab = await browser.tabs.get(tabId);
    if (!this.containers.has(tab.cookieStoreId)) throw new Error(`tab ${tabId} is not anonymous`);
    // New credentials are a new circuit; the old one is retired at the proxy once unused.
    for (const old of this.credentials.renew(tabId, tab.cookieStoreId!)) void this.retire(old);
    void this.prepare(tabId, tab.url);
    return this.status(tabId);
  }

  poolsChanged(): void {}

  async removed(tabId: number): Promise<void> {
    await this.ready;
    const emptied = await this.containers.sweep();
    for (const old of this.credentials.forget([tabId], emptied)) void this.retire(old);
  }

  async setProxy(setting: ProxySetting): Promise<{ proxy: ProxySetting; check: ProxyCheck }> {
    await this.ready;
    this.setting = await saveProxySetting(setting);
    return { proxy: this.setting, check: await checkProxy(this.setting) };
  }

  async getProxy(): Promise<{ proxy: ProxySetting; check: ProxyCheck }> {
    await this.ready;
    return { proxy: this.setting, check: await checkProxy(this.setting) };
  }

  private async route(details: RequestDetails): Promise<ProxyInfo | undefined> {
    await this.ready;
    if (!this.containers.has(details.cookieStoreId)) return undefined;
    const { host, port } = socksAddress(this.setting.socks);
    const credentials = details.tabId >= 0 ? this.credentials.ofTab(details.tabId) : this.credentials.ofContainer(details.cookieStoreId!);
    return { type: 'socks', host, port, ...credentials, proxyDNS: true };
  }

  /** Builds the tab's circuit ahead of its requests, so the popup can show it. */
  private async prepare(tabId: number, url: string | undefined): Promise<void> {
    const host = url && /^https?:/.test(url) ? new URL(url).hostname : '';
    await prepareCircuit(this.setting, this.credentials.ofTab(tabId), host).catch(() => {});
  }

  private async retire(credentials: SocksCredentials): Promise<void> {
    await retireCircuit(this.setting, credentials).catch(() => {});
  }
}
