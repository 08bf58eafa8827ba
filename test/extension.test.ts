// The Chrome extension end to end: Debian's Chromium with the built extension, the demo network
// as a process, and test servers that record who connects to them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { bodyData, launchWithExtension, waitFor, type ExtensionBrowser } from './support/browser.ts';
import { startTestSite, type TestSite } from './support/browser-site.ts';
import { startService, tempDir, type Service } from './support/processes.ts';

interface DemoReady {
  pool: string;
  poolKey: string;
  relays: { id: string; url: string; outbound: string }[];
  site: string;
  user: { name: string; password: string };
}

interface TabStatus {
  anonymous: boolean;
  state: string;
  circuit: string[];
  detail?: string;
}

describe('the Chrome extension', () => {
  let demo: Service<DemoReady>;
  let site: TestSite;
  let chrome: ExtensionBrowser;
  let outbound: Set<string>;

  beforeAll(async () => {
    [demo, site, chrome] = await Promise.all([
      startService<DemoReady>(['demo', '--json', '--base-port', '0'], 20_000, { XDG_DATA_HOME: tempDir('allium-demo-') }),
      startTestSite(),
      launchWithExtension(),
    ]);
    outbound = new Set(demo.ready.relays.map((r) => r.outbound));
    await chrome.ask({ type: 'allium:set-pools', pools: [{ url: demo.ready.pool, key: demo.ready.poolKey }] });
  }, 60_000);

  afterAll(async () => {
    await chrome?.close();
    await site?.close();
    await demo?.stop();
  });

  async function anonymousTab(): Promise<{ page: Page; tabId: number }> {
    const page = await chrome.browser.newPage();
    const tabId = await chrome.tabIdOf(page);
    await chrome.ask({ type: 'allium:set-tab', tabId, anonymous: true });
    await waitFor('a circuit for the tab', async () => (await status(tabId)).state === 'ready');
    return { page, tabId };
  }

  const status = (tabId: number) => chrome.ask<TabStatus>({ type: 'allium:tab-status', tabId });

  /** Loads the test page of a run and waits until every part of it has been requested. */
  async function loadEverything(page: Page, run: string): Promise<Record<string, string | undefined>> {
    await page.goto(site.pageUrl(run));
    const missing = () => {
      const seen = new Set(site.hits.map((h) => h.path));
      return site.expectedPaths(run).filter((p) => !seen.has(p));
    };
    await waitFor(`every request of run ${run}`, () => missing().length === 0).catch((err: Error) => {
      throw new Error(`${err.message}; missing ${missing().join(' ')}; seen ${JSON.stringify(site.hits)}`);
    });
    const reports: Record<string, string | undefined> = {};
    for (const key of ['sw', 'api', 'worker', 'socket', 'beacon']) reports[key] = await waitFor(`the page's ${key} report`, () => bodyData(page, key));
    await page.click('#next');
    await waitFor('the link target', () => site.hits.some((h) => h.path === `/${run}/next.png`));
    return reports;
  }

  it('routes every request of an anonymous tab through relays, while a normal tab goes direct', async () => {
    // The normal tab first: a site's service workers are shared by all its tabs, and one that
    // runs while an anonymous tab of the site is open is intercepted for that tab (docs/EXTENSION.md).
    const normal = await chrome.browser.newPage();
    expect((await status(await chrome.tabIdOf(normal))).anonymous).toBe(false);
    expect(await loadEverything(normal, 'plain')).toEqual({ sw: 'ready', api: 'true', worker: 'main worker-fetch', socket: 'open', beacon: 'true' });
    const plainHits = site.hits.filter((h) => h.path.startsWith('/plain/'));
    expect(plainHits.length).toBeGreaterThan(site.expectedPaths('plain').length);
    expect(plainHits.filter((h) => h.peer !== '127.0.0.1')).toEqual([]);
    expect(plainHits.some((h) => h.path === '/plain/socket')).toBe(true);
    await normal.close();

    const { page } = await anonymousTab();
    site.connections.length = 0;
    const reports = await loadEverything(page, 'anon');
    // The page's WebSocket failed; everything else worked.
    expect(reports).toEqual({ sw: 'ready', api: 'true', worker: 'main worker-fetch', socket: 'error', beacon: 'true' });
    const anonHits = site.hits.filter((h) => h.path.startsWith('/anon/'));
    expect(anonHits.filter((h) => !outbound.has(h.peer))).toEqual([]);
    // Not one TCP connection from the browser itself (preconnects and WebSockets included).
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    expect(anonHits.some((h) => h.path === '/anon/socket')).toBe(false);
    await page.close();
  });
});
