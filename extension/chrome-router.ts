// Per-tab routing in Chrome (BROWSER.md): the extension attaches chrome.debugger to the tab and
// pauses every request at the request stage (Fetch domain), in the tab and, through flattened
// auto-attach, in its out-of-process iframes, workers and service workers. Paused requests are
// handed to `onRequest`, which fulfils or fails them: nothing the tab asks for leaves the browser
// by itself. Page WebSockets never reach the Fetch domain, so they are blocked outright.
import { PROTOCOL_VERSION, send, type AttachedToTarget, type RequestPaused, type Target } from './cdp.ts';

export interface RouterHandlers {
  onRequest(target: Target, paused: RequestPaused): void;
  /** The debugger left the tab for a reason of the browser's or the user's. */
  onLost(tabId: number, reason: string): void;
}

const BLOCKED_URLS = ['ws://*', 'wss://*'];
const FETCH_PATTERNS = { patterns: [{ urlPattern: '*', requestStage: 'Request' }] };
/** Children start paused until they are set up too, so their first request is intercepted. */
const AUTO_ATTACH = { autoAttach: true, waitForDebuggerOnStart: true, flatten: true };

export class ChromeRouter {
  private readonly handlers: RouterHandlers;

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
    await this.intercept(target);
  }

  async detach(tabId: number): Promise<void> {
    await chrome.debugger.detach({ tabId }).catch(() => {});
  }

  private async intercept(target: Target): Promise<void> {
    await send(target, 'Network.enable');
    await send(target, 'Network.setBlockedURLs', { urls: BLOCKED_URLS });
    await send(target, 'Target.setAutoAttach', AUTO_ATTACH);
    await send(target, 'Fetch.enable', FETCH_PATTERNS);
  }

  private event(source: Target, method: string, params: object | undefined): void {
    if (method === 'Fetch.requestPaused') this.handlers.onRequest(source, params as RequestPaused);
    else if (method === 'Target.attachedToTarget') void this.child(source.tabId, params as AttachedToTarget);
  }

  /** A new iframe or worker of the tab: intercept it, then let it run. */
  private async child(tabId: number, attached: AttachedToTarget): Promise<void> {
    const target = { tabId, sessionId: attached.sessionId };
    const { type, url } = attached.targetInfo;
    const fetch = send(target, 'Fetch.enable', FETCH_PATTERNS);
    const nested = send(target, 'Target.setAutoAttach', AUTO_ATTACH);
    // A paused worker answers these only once it runs (its own thread handles them); sent now,
    // they are queued ahead of the run command, so they apply before its first line runs.
    const network = send(target, 'Network.enable').then(() => send(target, 'Network.setBlockedURLs', { urls: BLOCKED_URLS }));
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
    if (attached.waitingForDebugger) await send(target, 'Runtime.runIfWaitingForDebugger').catch(() => {});
    network.catch((err) => console.warn(`allium: WebSocket blocking not set in ${type} ${url}`, err));
  }
}
