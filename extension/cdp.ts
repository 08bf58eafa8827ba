// The few DevTools protocol commands and events the Chrome router uses, over chrome.debugger.
// A target is a tab, or a child session inside it (an out-of-process iframe, a worker).

export type Target = chrome.debugger.DebuggerSession & { tabId: number };

export const PROTOCOL_VERSION = '1.3';

export function send<T = unknown>(target: Target, method: string, params?: object): Promise<T> {
  return chrome.debugger.sendCommand(target, method, params) as Promise<T>;
}

/** Fetch.requestPaused at the request stage (nothing has left the browser yet). */
export interface RequestPaused {
  requestId: string;
  request: {
    url: string;
    urlFragment?: string;
    method: string;
    headers: Record<string, string>;
    hasPostData?: boolean;
    postDataEntries?: { bytes?: string }[];
  };
  resourceType: string;
  networkId?: string;
}

export interface AttachedToTarget {
  sessionId: string;
  targetInfo: { type: string; url: string; targetId: string };
  waitingForDebugger: boolean;
}

/** Fetch.failRequest's reasons (Network.ErrorReason) that the router uses. */
export type ErrorReason = 'Failed' | 'TimedOut' | 'AccessDenied' | 'ConnectionFailed' | 'NameNotResolved' | 'InternetDisconnected' | 'BlockedByClient';
