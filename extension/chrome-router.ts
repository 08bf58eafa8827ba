// Per-tab routing in Chrome (BROWSER.md): the extension attaches chrome.debugger to the tab and
// pauses every request at the request stage (Fetch domain), in the tab and, through flattened
// auto-attach, in its out-of-process iframes and workers. Paused requests are handed to
// `onRequest`, which fulfils or fails them: nothing the tab asks for leaves the browser by itself.
//
// Pages of an anonymous tab get their cookies from the tab's jar, in HTTP headers only:
// `document.cookie` would read and write the browser's shared store, normal browsing's cookies
// included, so it is turned off (it reads empty and ignores writes).
//
// Service workers are refused, as Tor Browser does. Chrome checks a registered service worker
// for updates by fetching its script from the browser process, before any debugger target
// exists for the new version: measured, such a check went out from the browser's own address
// seconds after an anonymous tab had registered a worker. So an anonymous tab registers none (its
// worker's script request fails), and bypasses the workers normal browsing registered, so that
// none handles, or is asked to update by, its requests.
import { PROTOCOL_VERSION, send, type AttachedToTarget, type RequestPaused, type Target } from './cdp.ts';

export interface RouterHandlers {
  onRequest(target: Target, paused: RequestPaused): void;
  /** The debugger left the tab for a reason of the browser's or the user's. */
  onLost(tabId: number, reason: string): void;
}

/** Page WebSockets never reach the Fetch domain; the tab's DNR rule stops them before they connect, this refuses them again. */
const BLOCKED_URLS = { urls: ['ws://*', 'wss://*'] };
const FETCH_PATTERNS = { patterns: [{ urlPattern: '*', requestStage: 'Request' }] };
/** Children start paused until they are set up too, so their first request is intercepted. */
const AUTO_ATTACH = { autoAttach: true, waitForDebuggerOnStart: true, flatten: true };

export class ChromeRouter {
  private readonly handlers: RouterHandlers;
  /** Script URLs of service workers being registered from anonymous tabs, by session. */
  private readonly serviceWorkers = new Map<string, string>();

  /** Registers the debugger listeners; call at the worker's top level so events wake it. */
  constructor(handlers: RouterHandlers) {
    this.handlers = handlers;
    chrome.debugger.onEvent.addListener((source, method, params) => this.event(source as Target, method, params));
    chrome.debugger.onDetach.addListener((source, reason) => {
      if (source.tabId !== undefined) handlers.onLost(source.tabId, reason);
    });
  }

  /**
   * Attaches to a tab and starts intercepting. A worker that was stopped and woken again finds
   * its earlier attachment still in place and only sets it up again.
   */
  async attach(tabId: number): Promise<void> {
    const target = { tabId };
    try {
      await chrome.debugger.attach(target, PROTOCOL_VERSION);
    } catch (err) {
      if (!/already attached/i.test((err as Error).message)) throw err;
    }
    await this.network(target);
    await send(target, 'Emulation.setDocumentCookieDisabled', { disabled: true });
    await send(target, 'Target.setAutoAttach', AUTO_ATTACH);
    await send(target, 'Fetch.enable', FETCH_PATTERNS);
  }

  async detach(tabId: number): Promise<void> {
    await chrome.debugger.detach({ tabId }).catch(() => {});
  }

  private async network(target: Target): Promise<void> {
    await send(target, 'Network.enable');
    await send(target, 'Network.setBlockedURLs', BLOCKED_URLS);
    await send(target, 'Network.setBypassServiceWorker', { bypass: true });
  }

  private event(source: Target, method: string, params: object | undefined): void {
    if (method === 'Fetch.requestPaused') this.paused(source, params as RequestPaused);
    else if (method === 'Target.attachedToTarget') void this.child(source.tabId, params as AttachedToTarget);
    else if (method === 'Target.detachedFromTarget') this.serviceWorkers.delete((params as { sessionId: string }).sessionId);
  }

  private paused(source: Target, paused: RequestPaused): void {
    const script = source.sessionId === undefined ? undefined : this.serviceWorkers.get(source.sessionId);
    if (script !== undefined && paused.request.url === script) {
      void send(source, 'Fetch.failRequest', { requestId: paused.requestId, errorReason: 'BlockedByClient' }).catch(() => {});
      return;
    }
    this.handlers.onRequest(source, paused);
  }

  /** A new iframe or worker of the tab: intercept it, then let it run. */
  private async child(tabId: number, attached: AttachedToTarget): Promise<void> {
    const target = { tabId, sessionId: attached.sessionId };
    const { type, url } = attached.targetInfo;
    if (type === 'service_worker') this.serviceWorkers.set(attached.sessionId, url);
    const fetch = send(target, 'Fetch.enable', FETCH_PATTERNS);
    const nested = send(target, 'Target.setAutoAttach', AUTO_ATTACH);
    // A paused worker answers these only once it runs (its own thread handles them); sent now,
    // they are queued ahead of the run command, so they apply before its first line runs.
    const network = this.network(target);
    const cookies = type === 'iframe' ? send(target, 'Emulation.setDocumentCookieDisabled', { disabled: true }) : Promise.resolve();
    try {
      await fetch;
    } catch (err) {
      // A dedicated worker has no Fetch domain: its requests go through its page's loader and
      // are paused in the page's session (measured). Any other child that cannot be
      // intercepted is left paused, so it never runs.
      if (type !== 'worker') {
        console.warn(`allium: cannot intercept ${type} ${url}; it stays paused`, err);
        return;
      }
    }
    await nested.catch(() => {});
    try {
      await cookies;
    } catch (err) {
      console.warn(`allium: cannot keep the browser's cookies from ${url}; it stays paused`, err);
      return;
    }
    if (attached.waitingForDebugger) await send(target, 'Runtime.runIfWaitingForDebugger').catch(() => {});
    network.catch((err) => console.warn(`allium: network settings not applied in ${type} ${url}`, err));
  }
}
