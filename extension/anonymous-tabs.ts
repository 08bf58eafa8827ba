// The anonymous tabs and everything that keeps them so: interception (ChromeRouter), fail-closed
// blocking while it is not in place (tab-block), a circuit and a cookie jar per tab, tabs opened
// from anonymous ones, and recovery when Chrome stops and wakes the service worker.
import browser from 'webextension-polyfill';
import type { CircuitEvent } from '../shared/index.ts';
import { isPrivateDestination } from '../shared/client/path.ts';
import { send, type RequestPaused, type Target } from './cdp.ts';
import type { ChromeRouter, RouterHandlers } from './chrome-router.ts';
import type { CookieJar } from './cookie-jar.ts';
import { errorReason, forward } from './forward.ts';
import type { TabState, TabStatus } from './messages.ts';
import type { Network } from './network.ts';
import { forgetJar, loadJar, loadTabs, saveJar, saveTabs, type TabRecord } from './session-store.ts';
import { blockTab, blockedTabs, unblockTab } from './tab-block.ts';
import { fromBase64 } from './base64.ts';
import { setPredictionAllowed } from './network-prediction.ts';

interface AnonymousTab {
  record: TabRecord;
  state: TabState;
  detail?: string;
  jar?: Promise<CookieJar>;
  retry?: ReturnType<typeof setTimeout>;
}

/** How long a tab whose circuit could not be built waits before the next attempt. */
const RETRY_MS = 3_000;
/** Schemes whose requests never reach the network; everything else must be http(s). */
const LOCAL_SCHEMES = new Set(['data:', 'blob:', 'chrome-extension:', 'about:']);

const LOST_REASONS: Record<string, string> = {
  canceled_by_user: 'the debugging bar was cancelled',
  target_closed: 'the tab crashed or was replaced',
};

export const isolationKeyOf = (tabId: number) => `tab:${tabId}`;

export class AnonymousTabs {
  private readonly tabs = new Map<number, AnonymousTab>();
  private readonly network: Network;
  private readonly router?: ChromeRouter;
  /** Settled once the state kept in session storage is back (after a worker restart). */
  readonly ready: Promise<void>;

  /**
   * Call at the worker's top level: listeners registered later would miss the events that
   * woke the worker. `makeRouter` is absent where the browser has no chrome.debugger.
   */
  constructor(network: Network, makeRouter?: (handlers: RouterHandlers) => ChromeRouter) {
    this.network = network;
    this.router = makeRouter?.({
      onRequest: (target, paused) => void this.request(target, paused),
      onLost: (tabId, reason) => void this.lose(tabId, LOST_REASONS[reason] ?? reason),
    });
    network.onCircuitEvent((event) => this.circuitEvent(event));
    this.ready = this.restore();
  }

  status(tabId: number): TabStatus {
    const tab = this.tabs.get(tabId);
    if (!tab) return { anonymous: false, state: this.router ? 'off' : 'unsupported', circuit: [], relays: [] };
    const managed = tab.state === 'ready' ? this.network.peek()?.circuitFor(isolationKeyOf(tabId)) : undefined;
    const live = managed && managed.circuit.state === 'open' && !managed.retired ? managed : undefined;
    const relays = live?.relays ?? [];
    return {
      anonymous: true,
      state: tab.state,
      circuit: relays.map((relay) => relay.id),
      ...(live ? { circuitId: `${relays[0].id.slice(0, 8)}/${live.circuit.circuitId}` } : {}),
      relays: relays.map(({ id, url, nickname, pools }) => ({ id, url, nickname, pools })),
      ...(tab.detail ? { detail: tab.detail } : {}),
    };
  }

  async setAnonymous(tabId: number, anonymous: boolean): Promise<TabStatus> {
    await this.ready;
    if (!anonymous) {
      await this.release(tabId, true);
      return this.status(tabId);
    }
    if (!this.router) throw new Error('per-tab routing is not available in this browser yet');
    const page = await browser.tabs.get(tabId);
    await this.adopt(tabId);
    // What the tab shows was loaded directly, and its scripts may hold direct connections:
    // load it again, through the circuit.
    if (this.tabs.get(tabId)?.state !== 'lost' && /^https?:/.test(page.url ?? '')) await browser.tabs.reload(tabId);
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

  /** A tab opened by an anonymous one (link, window.open) is anonymous before it loads anything. */
  async opened(tabId: number, openerTabId: number | undefined, url: string | undefined): Promise<void> {
    await this.ready;
    const opener = openerTabId === undefined ? undefined : this.tabs.get(openerTabId);
    if (!opener || this.tabs.has(tabId)) return;
    await this.adopt(tabId);
    if (this.tabs.get(tabId)?.state === 'lost') return;
    // Its first navigation may have started before the interception and been blocked: start it again.
    const tab = await browser.tabs.get(tabId);
    const target = url ?? (tab as { pendingUrl?: string }).pendingUrl ?? tab.url;
    if (target && /^https?:/.test(target)) await browser.tabs.update(tabId, { url: target });
  }

  async removed(tabId: number): Promise<void> {
    await this.ready;
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
      await this.router!.attach(tabId);
    } catch (err) {
      await this.lose(tabId, `the debugger could not attach: ${(err as Error).message}`);
      return false;
    }
    const tab = this.tabs.get(tabId);
    if (!tab || tab.record.lost) return false;
    await blockTab(tabId, 'websockets');
    return true;
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
    if (detach) await this.router?.detach(tabId);
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
    tab.state = /no pool/i.test(message) ? 'no-pool' : 'retrying';
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
    await setPredictionAllowed(this.tabs.size === 0);
  }

  /**
   * After a worker restart: take the anonymous tabs back from session storage and make sure each
   * is intercepted again. Their block rules outlived the worker; a tab that lost its
   * interception meanwhile was blocked by onDetach or is blocked here before it is re-attached.
   */
  private async restore(): Promise<void> {
    const records = await loadTabs();
    const blocked = await blockedTabs();
    const targets = this.router ? await chrome.debugger.getTargets() : [];
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
      const again = attached ? this.router!.attach(tabId).then(() => true, () => this.intercept(tabId)) : this.intercept(tabId);
      void again.then((ok) => {
        if (ok) void this.prepare(tabId);
      });
    }
  }
}
