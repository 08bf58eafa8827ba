// Firefox: every request made in an Allium container goes to the local `allium proxy` over SOCKS5,
// with the credentials of its tab (or of its container when it belongs to no tab: a page's
// service worker has tab id -1, which is why routing goes by container, not by tab). Names are
// resolved by the exit (proxyDNS). Requests outside the containers are left to Firefox's settings.
//
// Failing closed: a SOCKS5 proxy that is not running makes Firefox fail the request (it never
// falls back to a direct connection for page requests). Anything that goes wrong here instead
// (settings unreadable, an exception) sends the request to a proxy on a dead port, so it fails
// too: a listener that throws would let Firefox connect directly.
import browser from 'webextension-polyfill';

export interface ProxyInfo {
  type: 'socks' | 'http';
  host: string;
  port: number;
  username?: string;
  password?: string;
  proxyDNS?: boolean;
}

export interface RequestDetails {
  tabId: number;
  cookieStoreId?: string;
  url: string;
}

/** Nothing listens on port 1: a request sent there fails at once. */
export const DEAD_END: ProxyInfo = { type: 'http', host: '127.0.0.1', port: 1 };

/** `route` answers the proxy of a request, or undefined to leave it alone. Call at the background's top level. */
export function routeRequests(route: (details: RequestDetails) => Promise<ProxyInfo | undefined>): void {
  const listener = async (details: RequestDetails): Promise<ProxyInfo | undefined> => {
    try {
      return await route(details);
    } catch (err) {
      // Without the URL: the console is no place for an anonymous tab's history.
      console.error('allium: a request could not be routed; it is sent to a dead end', err);
      return DEAD_END;
    }
  };
  // The polyfill's types say the listener returns nothing; Firefox takes a proxy, or a promise of one.
  browser.proxy.onRequest.addListener(listener as unknown as (details: unknown) => void, { urls: ['<all_urls>'] });
}
