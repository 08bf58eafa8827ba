// Chrome's anonymous tabs and everything that keeps them so: interception (ChromeRouter), fail-closed
// blocking while it is not in place (tab-block), a circuit and a cookie jar per tab, tabs opened
// from anonymous ones, and recovery when Chrome stops and wakes the service worker.
import browser from 'webextension-polyfill';
import type { CircuitEvent } from '../shared/index.ts';
import { isPrivateDestination } from '../shared/address-ranges.ts';
import { send, type RequestPaused, type Target } from './cdp.ts';
import type { ChromeRouter, RouterHandlers } from './chrome-router.ts';
import type { CookieJar } from './cookie-jar.ts';
import { errorReason, forward } from './forward.ts';
import { circuitView, troubleState } from './circuit-view.ts';
import type { TabState, TabStatus } from './messages.ts';
import type { Network } from './network.ts';
import { forgetJar, loadJar, loadTabs, saveJar, saveTabs, type TabRecord } from './session-store.ts';
import { blockTab, blockedTabs, unblockTab } from './tab-block.ts';
import { fromBase64 } from './base64.ts';
import { setPredictionAllowed } from './network-prediction.ts';
import { OpenerGuard } from './opener-guard.ts';
import type { TabRouting } from './tab-routing.ts';

interface AnonymousTab {
  record: TabRecord;
  state: TabState;
  detail?: string;
  jar?: Promise<CookieJar>;
  retry?: ReturnType<typeof setTimeout>;
}

/** How long a tab whose circuit could not be built waits before the next attempt. */
const RETRY_MS = 3_000;
/** How long an empty page may take to replace a browser page before attaching. */
const BLANK_TIMEOUT_MS = 3_000;
/** How long events about a new tab may lag behind its creation. */
const OPENED_GRACE_MS = 2_000;
/** Schemes whose requests never reach the network; everything else must be http(s). */
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'chrome-extension:', 'about:']);

const LOST_REASONS: Record<string, string> = {
  canceled_by_user: 'the debugging bar was cancelled',
  target_closed: 'the tab crashed or was replaced',
};

export const isolationKeyOf = (tabId: number) => `tab:${tabId}`;

export class AnonymousTabs implements TabRouting {
  private readonly tabs = new Map<number, AnonymousTab>();
  private readonly network: Network;
  private readonly router: ChromeRouter;
  private readonly guard = new OpenerGuard();
  /** Navigations the guard stopped in tabs not decided about yet, by tab. */
  private readonly heldByGuard = new Map<number, string>();
  /** Tabs just released from the guard, whose stopped navigation may still be reported. */
  private readonly released = new Set<number>();
  /** Settled once the state kept in session storage is back (after a worker restart). */
  readonly ready: Promise<void>;

  /** Call at the worker's top level: listeners registered later would miss the events that woke the worker. */
  constructor(network: Network, makeRouter: (handlers: RouterHandlers) => ChromeRouter) {
    this.network = network;
    this.router = makeRouter({
      onRequest: (target, paused) => void this.request(target, paused),
      onLost: (tabId, reason) => void this.lose(tabId, LOST_REASONS[reason] ?? reason),
    });
    network.onCircuitEvent((event) => this.circuitEvent(event));
    this.ready = this.restore();
  }

  status(tabId: number): TabStatus {
    const tab = this.tabs.get(tabId);
    if (!tab) return { tabId, anonymous: false, state: 'off', ...circuitView([], undefined) };
    const managed = tab.state === 'ready' ? this.network.peek()?.circuitFor(isolationKeyOf(tabId)) : undefined;
    const live = managed && managed.circuit.state === 'open' && !managed.retired ? managed : undefined;
    return {
      tabId,
      anonymous: true,
      state: tab.state,
      ...circuitView(live?.relays ?? [], live?.circuit.circuitId),
      ...(tab.detail ? { detail: tab.detail } : {}),
    };
  }

  async setAnonymous(tabId: number, anonymous: boolean): Promise<TabStatus> {
    await this.ready;
    if (!anonymous) {
      await this.release(tabId, true);
      return this.status(tabId);
    }
    const page = await browser.tabs.get(tabId);
    await this.adopt(tabId);
    // What the tab shows was loaded directly, and its scripts may hold direct connections:
    // load it again, through the circuit.
    if (this.tabs.get(tabId)?.state !== 'lost' && /^https?:/.test(page.url ?? '')) await browser.tabs.update(tabId, { url: page.url });
    return this.status(tabId);
  }

  async newCircuit(tabId: number): Promise<TabStatus> {
    await this.ready;
    if (!this.tabs.has(tabId)) throw new Error(`tab ${tabId} is not anonymous`);
    (await this.network.client()).newCircuit(isolationKeyOf(tabId));
    await this.prepare(tabId);
    return this.status(tabId);
  }

  /** New pools: every anonymous tab builds its circuit anew from them. */
  poolsChanged(): void {
    for (const tabId of this.tabs.keys()) void this.prepare(tabId);
  }

  /**
   * A new tab. One opened by an anonymous tab to show a page (link, window.open) becomes anonymous
   * before it loads anything; the opener guard holds its first requests until then. Others are
   * released from the guard, and loaded again if the guard stopped their first navigation.
   */
  async created(tabId: number, openerTabId: number | undefined, url: string | undefined): Promise<void> {
    await this.ready;
    if (this.tabs.has(tabId)) return;
    const fromAnonymous = openerTabId !== undefined && this.tabs.has(openerTabId);
    if (fromAnonymous && url && /^https?:/.test(url)) return this.adoptOpened(tabId, url);
    if (!fromAnonymous) return this.leaveAlone(tabId);
    // Opened blank by an anonymous tab: a navigation target is announced within moments
    // (onCreatedNavigationTarget); a tab that is none (a new tab page) stays normal.
    setTimeout(() => {
      if (!this.tabs.has(tabId)) void this.leaveAlone(tabId);
    }, OPENED_GRACE_MS);
  }

  /** A tab created to show a navigation of another tab (link target, window.open). */
  async navigationTarget(tabId: number, sourceTabId: number, url: string): Promise<void> {
    await this.ready;
    if (this.tabs.has(tabId)) return;
    if (this.tabs.has(sourceTabId)) await this.adoptOpened(tabId, url);
    else await this.leaveAlone(tabId);
  }

  /** The guard may have stopped a navigation of a tab it did not know yet: start it again once known. */
  async navigationFailed(tabId: number, frameId: number, url: string, error: string): Promise<void> {
    await this.ready;
    if (frameId !== 0 || !/ERR_BLOCKED_BY_CLIENT/.test(error) || this.tabs.has(tabId) || !/^https?:/.test(url)) return;
    if (!this.guard.isKnown(tabId)) this.heldByGuard.set(tabId, url);
    else if (this.released.delete(tabId)) await browser.tabs.update(tabId, { url });
  }

  private async adoptOpened(tabId: number, url: string): Promise<void> {
    if (this.tabs.has(tabId)) return;
    await this.adopt(tabId);
    if (this.tabs.get(tabId)?.state === 'lost') return;
    // Its first navigation was held by the guard or the tab's rule: start it again, intercepted.
    if (/^https?:/.test(url)) await browser.tabs.update(tabId, { url });
  }

  private async leaveAlone(tabId: number): Promise<void> {
    if (this.guard.isKnown(tabId)) return;
    await this.guard.decided(tabId);
    const held = this.heldByGuard.get(tabId);
    this.heldByGuard.delete(tabId);
    if (held) await browser.tabs.update(tabId, { url: held });
    else {
      // Its navigation may still fail with the guard's error: then it is retried once.
      this.released.add(tabId);
      setTimeout(() => this.released.delete(tabId), OPENED_GRACE_MS);
    }
  }

  async removed(tabId: number): Promise<void> {
    await this.ready;
    this.guard.forget(tabId);
    await this.release(tabId, false);
  }

  /** Makes a tab anonymous: blocked, intercepted, then unblocked, and its circuit prepared. */
  private async adopt(tabId: number): Promise<void> {
    const tab: AnonymousTab = { record: { lost: false }, state: 'connecting' };
    this.tabs.set(tabId, tab);
    await this.persist();
    if (await this.intercept(tabId)) void this.prepare(tabId);
  }

  /** Attaches with the tab blocked, so nothing leaves it between now and the interception. */
  private async intercept(tabId: number): Promise<boolean> {
    await blockTab(tabId);
    try {
      await this.attachLeavingBrowserPages(tabId);
    } catch (err) {
      await this.lose(tabId, `the debugger could not attach: ${(err as Error).message}`);
      return false;
    }
    const tab = this.tabs.get(tabId);
    if (!tab || tab.record.lost) return false;
    await this.guard.decided(tabId);
    await blockTab(tabId, 'websockets');
    return true;
  }

  /**
   * Browser pages (chrome://, the error page of a blocked load) cannot be debugged. The tab is
   * blocked meanwhile, so it may as well show an empty page, which can.
   */
  private async attachLeavingBrowserPages(tabId: number): Promise<void> {
    try {
      await this.router.attach(tabId);
    } catch (err) {
      if (!/Cannot access/i.test((err as Error).message)) throw err;
      await browser.tabs.update(tabId, { url: 'about:blank' });
      const deadline = Date.now() + BLANK_TIMEOUT_MS;
      for (;;) {
        const tab = await browser.tabs.get(tabId);
        if (tab.url === 'about:blank' && tab.status === 'complete') break;
        if (Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await this.router.attach(tabId);
    }
  }

  /** Interception is gone: block the tab at once, and say so until the user acts. */
  private async lose(tabId: number, why: string): Promise<void> {
    const tab = this.tabs.get(tabId);
    if (!tab) return;
    await blockTab(tabId);
    clearTimeout(tab.retry);
    tab.record.lost = true;
    tab.state = 'lost';
    tab.detail = `Protection lost: ${why}. Requests of this tab are blocked.`;
    await this.persist();
  }

  private async release(tabId: number, detach: boolean): Promise<void> {
    const tab = this.tabs.get(tabId);
    if (!tab) return;
    this.tabs.delete(tabId);
    clearTimeout(tab.retry);
    await this.persist();
    if (detach) await this.router.detach(tabId);
    await unblockTab(tabId);
    await forgetJar(tabId);
    this.network.peek()?.newCircuit(isolationKeyOf(tabId));
  }

  /** Builds the tab's circuit ahead of its requests (and so the popup can show it). */
  private async prepare(tabId: number): Promise<void> {
    const tab = this.tabs.get(tabId);
    if (!tab || tab.record.lost) return;
    clearTimeout(tab.retry);
    try {
      const client = await this.network.client();
      const url = (await browser.tabs.get(tabId)).url ?? '';
      const host = /^https?:/.test(url) ? new URL(url).hostname : '';
      await client.prepareCircuit(isolationKeyOf(tabId), host !== '' && isPrivateDestination(host));
      if (this.tabs.get(tabId) === tab && !tab.record.lost) {
        tab.state = 'ready';
        tab.detail = undefined;
      }
    } catch (err) {
      if (this.tabs.get(tabId) !== tab || tab.record.lost) return;
      this.problem(tab, err);
      tab.retry = setTimeout(() => void this.prepare(tabId), RETRY_MS);
    }
  }

  private problem(tab: AnonymousTab, err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    tab.state = troubleState(message);
    tab.detail = message;
  }

  private circuitEvent(event: CircuitEvent): void {
    const match = /^tab:(\d+)$/.exec(event.isolationKey);
    const tabId = Number(match?.[1]);
    const tab = this.tabs.get(tabId);
    if (!tab || tab.record.lost) return;
    if (event.phase === 'building') {
      if (tab.state === 'ready') tab.state = 'connecting';
    } else if (event.phase === 'open') {
      tab.state = 'ready';
      tab.detail = undefined;
    } else if (event.phase === 'failed') {
      this.problem(tab, event.error);
    } else if (event.error && event.error.code !== 'DONE') {
      // The circuit broke (a relay went away): build the next one now, not on the next request.
      this.problem(tab, event.error);
      void this.prepare(tabId);
    }
  }

  private async request(target: Target, paused: RequestPaused): Promise<void> {
    await this.ready;
    const { requestId, request } = paused;
    const scheme = new URL(request.url).protocol;
    if (LOCAL_SCHEMES.has(scheme)) {
      await send(target, 'Fetch.continueRequest', { requestId }).catch(() => {});
      return;
    }
    const tab = this.tabs.get(target.tabId);
    if (!tab || tab.record.lost || (scheme !== 'http:' && scheme !== 'https:')) {
      await send(target, 'Fetch.failRequest', { requestId, errorReason: 'BlockedByClient' }).catch(() => {});
      return;
    }
    // Pages of this site may open tabs: the guard holds those until they are intercepted.
    if (paused.resourceType === 'Document') await this.guard.shown(new URL(request.url).hostname);
    let fulfilment;
    try {
      const client = await this.network.client();
      tab.jar ??= loadJar(target.tabId);
      const jar = await tab.jar;
      const result = await forward(paused, {
        client,
        isolationKey: isolationKeyOf(target.tabId),
        jar,
        postData: async () => {
          const { postData, base64Encoded } = await send<{ postData: string; base64Encoded?: boolean }>(target, 'Network.getRequestPostData', { requestId: paused.networkId });
          return base64Encoded ? fromBase64(postData) : new TextEncoder().encode(postData);
        },
      });
      if (result.cookiesChanged) await saveJar(target.tabId, jar);
      fulfilment = result.fulfilment;
    } catch (err) {
      // Circuit trouble shows through circuit events; a missing pool only shows here.
      if (this.tabs.get(target.tabId) === tab && !tab.record.lost && /no pool/i.test((err as Error)?.message)) this.problem(tab, err);
      await send(target, 'Fetch.failRequest', { requestId, errorReason: errorReason(err) }).catch(() => {});
      return;
    }
    // The page may have gone meanwhile (navigation, closed tab): then there is nothing to answer.
    await send(target, 'Fetch.fulfillRequest', { requestId, ...fulfilment }).catch(() => {});
  }

  private async persist(): Promise<void> {
    await saveTabs(new Map([...this.tabs].map(([tabId, tab]) => [tabId, tab.record])));
    const any = this.tabs.size > 0;
    await setPredictionAllowed(!any);
    await (any ? this.guard.activate() : this.guard.deactivate());
  }

  /**
   * After a worker restart: take the anonymous tabs back from session storage and make sure each
   * is intercepted again. Their block rules outlived the worker; a tab that lost its
   * interception meanwhile was blocked by onDetach or is blocked here before it is re-attached.
   */
  private async restore(): Promise<void> {
    await this.guard.restore();
    const records = await loadTabs();
    const blocked = await blockedTabs();
    const targets = await chrome.debugger.getTargets();
    const open = new Set((await browser.tabs.query({})).map((tab) => tab.id));
    for (const [tabId, record] of records) {
      if (!open.has(tabId)) {
        await unblockTab(tabId);
        await forgetJar(tabId);
        continue;
      }
      this.tabs.set(tabId, { record, state: record.lost ? 'lost' : 'connecting', ...(record.lost ? { detail: 'Protection lost. Requests of this tab are blocked.' } : {}) });
    }
    // Block rules of tabs that are no longer anonymous are leftovers.
    for (const tabId of blocked) if (!this.tabs.has(tabId)) await unblockTab(tabId);
    await this.persist();
    for (const [tabId, tab] of this.tabs) {
      if (tab.record.lost) continue;
      const attached = targets.some((t) => t.tabId === tabId && t.attached);
      // Still attached (the attachment outlives the worker): only set interception up again.
      const again = attached ? this.router.attach(tabId).then(() => true, () => this.intercept(tabId)) : this.intercept(tabId);
      void again.then((ok) => {
        if (ok) void this.prepare(tabId);
      });
    }
  }
}
