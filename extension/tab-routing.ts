// What the background asks of a browser's way of keeping tabs anonymous: Chrome's debugger
// interception with circuits built in the extension (anonymous-tabs.ts), or Firefox's containers
// routed to the local `allium proxy` (container-tabs.ts). Everything else is shared.
import type { TabStatus } from './messages.ts';

export interface TabRouting {
  /** Settled once state kept in extension storage is back (after the background was stopped). */
  readonly ready: Promise<void>;
  status(tabId: number): TabStatus | Promise<TabStatus>;
  /** Firefox answers with the tab that now shows the page (TabStatus.tabId). */
  setAnonymous(tabId: number, anonymous: boolean): Promise<TabStatus>;
  newCircuit(tabId: number): Promise<TabStatus>;
  /** The pools changed (Firefox: unused, its proxy has its own). */
  poolsChanged(): void;
  removed(tabId: number): Promise<void>;
}

/** Chrome gives extensions its debugger; Firefox does not, and routes through a local proxy instead. */
export const routesWithDebugger = (): boolean => globalThis.chrome?.debugger !== undefined;
