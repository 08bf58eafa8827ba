// The background's message API (DESIGN.md, "Fixed interfaces"), for the extension's own pages and
// for tests: `runtime.sendMessage(request)` resolves with the reply named beside each request.
import browser from 'webextension-polyfill';

export interface PoolSetting {
  url: string;
  /** The pool's pinned Ed25519 key, base64url. */
  key: string;
}

/** Firefox: where the local `allium proxy` listens (docs/FIREFOX.md). */
export interface ProxySetting {
  /** Its SOCKS5 front end, host:port. */
  socks: string;
  /** Its control endpoint (`--control`), http://127.0.0.1:P. */
  control: string;
  /** The control endpoint's bearer token (the content of its token file). */
  token: string;
}

/** What the local proxy's control endpoint says about itself, or why it cannot be asked. */
export type ProxyCheck = { ok: true; socks: string | null; pools: string[]; relays: number | null } | { ok: false; error: string };

/**
 * What the popup shows for a tab. `connecting`: building its first circuit; `ready`: every
 * request goes through the circuit; `retrying`: the circuit failed and another is being built;
 * `no-pool`: no pool answered; `lost` (Chrome): interception was lost and the tab is blocked;
 * `no-proxy` (Firefox): the local `allium proxy` does not answer, so the tab's requests fail.
 */
export type TabState = 'off' | 'connecting' | 'ready' | 'retrying' | 'no-pool' | 'lost' | 'no-proxy';

export interface RelayView {
  id: string;
  url: string;
  nickname?: string;
  pools: string[];
}

export interface TabStatus {
  /**
   * The tab now showing the page. Firefox cannot move a tab into or out of a container, so
   * turning anonymity on or off there reopens the page in a new tab and closes the old one.
   */
  tabId: number;
  anonymous: boolean;
  state: TabState;
  /** Relay ids, guard first. */
  circuit: string[];
  /** Tells circuits apart even over the same relays: the guard's id and the circuit's id on that link. */
  circuitId?: string;
  relays: RelayView[];
  /** The last error, in words, when there is one. */
  detail?: string;
}

export type Request =
  | { type: 'allium:set-pools'; pools: PoolSetting[] }
  | { type: 'allium:get-pools' }
  | { type: 'allium:set-proxy'; proxy: ProxySetting }
  | { type: 'allium:get-proxy' }
  | { type: 'allium:set-tab'; tabId: number; anonymous: boolean }
  | { type: 'allium:tab-status'; tabId: number }
  | { type: 'allium:new-circuit'; tabId: number };

export interface Replies {
  'allium:set-pools': { pools: PoolSetting[] };
  'allium:get-pools': { pools: PoolSetting[] };
  'allium:set-proxy': { proxy: ProxySetting; check: ProxyCheck };
  'allium:get-proxy': { proxy: ProxySetting; check: ProxyCheck };
  'allium:set-tab': TabStatus;
  'allium:tab-status': TabStatus;
  'allium:new-circuit': TabStatus;
}

/** A refused request answers `{ error }` instead. */
export type Reply<R extends Request> = Replies[R['type']] | { error: string };

export function isRequest(message: unknown): message is Request {
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === 'string' && type.startsWith('allium:');
}

/** Sends a request to the background; a refusal becomes an Error. */
export async function ask<R extends Request>(request: R): Promise<Replies[R['type']]> {
  const reply = (await browser.runtime.sendMessage(request)) as Reply<R> | undefined;
  if (reply === undefined) throw new Error('the background did not answer');
  if ('error' in reply) throw new Error(reply.error);
  return reply;
}
