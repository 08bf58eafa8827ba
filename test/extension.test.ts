// The extension end to end: Debian's Chromium with the built extension, the demo network as a
// process, and test servers that record who connects to them. (One file, so that the extension
// is built once, by one process.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'puppeteer-core';
import { bodyData, launchWithExtension, waitFor, type ExtensionBrowser } from './support/browser.ts';
import type { TabStatus } from '../extension/messages.ts';
import { startTestSite, type TestSite } from './support/browser-site.ts';
import { startService, startTestNetwork, tempDir, type DemoReady, type Service } from './support/processes.ts';

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
  async function loadEverything(page: Page, run: string, serviceWorker: boolean): Promise<Record<string, string | undefined>> {
    await page.goto(site.pageUrl(run));
    const missing = () => {
      const seen = new Set(site.hits.map((h) => h.path));
      return site.expectedPaths(run, serviceWorker).filter((p) => !seen.has(p));
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
    // runs while an anonymous tab of the site is open is intercepted in that tab's sessions too
    // (docs/EXTENSION.md).
    const normal = await chrome.browser.newPage();
    expect((await status(await chrome.tabIdOf(normal))).anonymous).toBe(false);
    expect(await loadEverything(normal, 'plain', true)).toEqual({ sw: 'ready', api: 'true', worker: 'main worker-fetch', socket: 'open', beacon: 'true' });
    const plainHits = site.hits.filter((h) => h.path.startsWith('/plain/'));
    expect(plainHits.length).toBeGreaterThan(site.expectedPaths('plain', true).length);
    expect(plainHits.filter((h) => h.peer !== '127.0.0.1')).toEqual([]);
    expect(plainHits.some((h) => h.path === '/plain/socket')).toBe(true);
    await normal.close();

    const { page } = await anonymousTab();
    site.connections.length = 0;
    const reports = await loadEverything(page, 'anon', false);
    // The page's WebSocket and its service worker were refused; everything else worked.
    expect(reports).toMatchObject({ api: 'true', worker: 'main worker-fetch', socket: 'error', beacon: 'true' });
    expect(reports.sw).toMatch(/^error/);
    const anonHits = site.hits.filter((h) => h.path.startsWith('/anon/'));
    expect(anonHits.filter((h) => !outbound.has(h.peer))).toEqual([]);
    // Not one TCP connection from the browser itself (preconnects and WebSockets included).
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    expect(anonHits.some((h) => h.path === '/anon/socket' || h.path === '/anon/sw.js')).toBe(false);
    await page.close();
  });

  it('the popup shows the tab\'s three relays, and "New circuit" replaces them', async () => {
    const { page, tabId } = await anonymousTab();
    const popup = await chrome.browser.newPage();
    await popup.goto(`chrome-extension://${chrome.extensionId}/popup.html?tab=${tabId}`);
    const shownRelays = () => popup.$$eval('#circuit .relay-id', (items) => items.map((item) => (item as unknown as { title: string }).title));
    const before = await waitFor('three relays in the popup', async () => ((await shownRelays()).length === 3 ? shownRelays() : undefined));
    const known = new Set(demo.ready.relays.map((r) => r.id));
    expect(before.every((id) => known.has(id))).toBe(true);
    expect(new Set(before).size).toBe(3);
    expect(before).toEqual((await status(tabId)).circuit);
    expect(await popup.$eval('#status', (el) => (el as unknown as { dataset: { state: string } }).dataset.state)).toBe('ready');

    const firstCircuit = (await status(tabId)).circuitId;
    await popup.waitForSelector('#new-circuit:not([disabled])');
    await popup.click('#new-circuit');
    // The popup polls the tab's status: it must come to show the circuit the tab has now, a new
    // one. (Compared with the status of the same moment, as the tab may replace that circuit too.)
    let now: TabStatus | undefined;
    let shown: string[] = [];
    const after = await waitFor('another circuit in the popup', async () => {
      now = await status(tabId);
      shown = await shownRelays();
      return now.circuitId !== firstCircuit && now.state === 'ready' && shown.join() === now.circuit.join() ? now : undefined;
    }).catch(async (err: Error) => {
      const popupSays = await popup.$eval('#status', (el) => (el as unknown as { textContent: string }).textContent).catch(String);
      throw new Error(`${err.message}; status ${JSON.stringify(now)}; popup shows ${JSON.stringify(shown)}, says ${JSON.stringify(popupSays)}`);
    });
    expect(after.circuit).toHaveLength(3);
    await popup.close();
    await page.close();
  });

  it('two anonymous tabs have their own circuits and their own cookies, kept out of the browser', async () => {
    const one = await anonymousTab();
    const two = await anonymousTab();
    await one.page.goto(`${site.main}/cookies/set-cookie?name=tab&value=one`);
    const cookieOf = async (page: Page) => {
      await page.goto(`${site.main}/cookies/check`);
      return page.evaluate(() => (globalThis as unknown as { document: { body: { textContent: string } } }).document.body.textContent);
    };
    expect(await cookieOf(one.page)).toBe('tab=one');
    expect(await cookieOf(two.page)).toBe('no cookie');
    // The browser's own cookie store never saw it: a normal tab sends nothing.
    const normal = await chrome.browser.newPage();
    expect(await cookieOf(normal)).toBe('no cookie');
    // Nor can an anonymous page read or write that store from script.
    type CookieDocument = { document: { cookie: string } };
    await normal.evaluate(() => void ((globalThis as unknown as CookieDocument).document.cookie = 'normal=1; path=/'));
    expect(await one.page.evaluate(() => (globalThis as unknown as CookieDocument).document.cookie)).toBe('');
    await one.page.evaluate(() => void ((globalThis as unknown as CookieDocument).document.cookie = 'script=1; path=/'));
    expect(await normal.evaluate(() => (globalThis as unknown as CookieDocument).document.cookie)).toBe('normal=1');
    // Each tab's requests left from the exit of its own circuit.
    const [statusOne, statusTwo] = [await status(one.tabId), await status(two.tabId)];
    expect(statusOne.circuitId).toBeDefined();
    expect(statusOne.circuitId).not.toBe(statusTwo.circuitId);
    const exitOf = (s: TabStatus) => demo.ready.relays.find((r) => r.id === s.circuit[2])!.outbound;
    const checks = site.hits.filter((h) => h.path === '/cookies/check');
    expect(checks.map((h) => h.peer)).toEqual([exitOf(statusOne), exitOf(statusTwo), '127.0.0.1']);
    await Promise.all([one.page.close(), two.page.close(), normal.close()]);
  });

  it('tabs opened from an anonymous tab are anonymous before their first request; normal tabs still open normally', async () => {
    const { page } = await anonymousTab();
    await page.goto(site.pageUrl('opener'));
    site.connections.length = 0;
    await page.click('#new-tab');
    await page.evaluate((url) => (globalThis as unknown as { open(url: string): unknown }).open(url), `${site.main}/opener/window-open`);
    await waitFor('the opened pages', () => site.hits.some((h) => h.path === '/opener/next.png') && site.hits.some((h) => h.path === '/opener/window-open'));
    for (const suffix of ['/opener/opened.html', '/opener/window-open']) {
      const target = await chrome.browser.waitForTarget((t) => t.type() === 'page' && t.url().endsWith(suffix));
      const tab = (await target.page())!;
      expect((await status(await chrome.tabIdOf(tab))).anonymous).toBe(true);
      await tab.close();
    }
    expect(site.hits.filter((h) => h.path.startsWith('/opener/') && !outbound.has(h.peer))).toEqual([]);
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);

    // A normal tab of the same site opens its links in normal tabs, directly.
    const normal = await chrome.browser.newPage();
    await normal.goto(site.pageUrl('normal-opener'));
    await normal.click('#new-tab');
    await waitFor('the page opened from the normal tab', () => site.hits.some((h) => h.path === '/normal-opener/next.png'));
    expect(site.hits.filter((h) => h.path === '/normal-opener/opened.html').map((h) => h.peer)).toContain('127.0.0.1');
    const target = await chrome.browser.waitForTarget((t) => t.type() === 'page' && t.url().endsWith('/normal-opener/opened.html'));
    const opened = (await target.page())!;
    expect((await status(await chrome.tabIdOf(opened))).anonymous).toBe(false);
    await Promise.all([opened.close(), normal.close(), page.close()]);
  });

  it('asks exits for compressed responses and hands pages the decoded body', async () => {
    const { page } = await anonymousTab();
    await page.goto(`${site.main}/encoding/compressed`);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { body: { textContent: string } } }).document.body.textContent)).toBe('compressed and decoded');
    await page.close();
  });

  it('logs in to the demo site through the circuit; the site sees an exit address', async () => {
    const { page } = await anonymousTab();
    await page.goto(`${demo.ready.site}/`);
    expect(await page.$eval('.banner', (el) => (el as unknown as { className: string }).className)).toContain('allium');
    await page.goto(`${demo.ready.site}/login`);
    await page.type('input[name=user]', demo.ready.user.name);
    await page.type('input[name=password]', demo.ready.user.password);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect(new URL(page.url()).pathname).toBe('/secret');
    expect(await page.$eval('.secret', (el) => (el as unknown as { textContent: string }).textContent)).not.toBe('');
    const login = demo.stderr().split('\n').find((line) => line.includes('login succeeded'));
    expect(login).toBeDefined();
    // "allium": the site saw a relay's outbound address (itself logged only with --log-sensitive).
    const logged = JSON.parse(login!) as { arrival: string };
    expect(logged.arrival).toBe('allium');
    await page.close();
  });

  it('a relay of the tab\'s circuit stops: nothing goes direct, and the next load succeeds on a new circuit', async () => {
    // Relays as separate processes, so that one of them can be killed.
    const network = await startTestNetwork({ relays: 4 });
    try {
      await chrome.ask({ type: 'allium:set-pools', pools: [network.poolRef] });
      const { page, tabId } = await anonymousTab();
      await page.goto(`${site.main}/failover/check`);
      const before = await status(tabId);
      const middle = network.relays.find((r) => r.ready.id === before.circuit[1])!;
      await middle.stop('SIGKILL');
      site.connections.length = 0;
      const response = await page.goto(`${site.main}/failover/check`);
      expect(response?.status()).toBe(200);
      const after = await waitFor('a new circuit', async () => {
        const now = await status(tabId);
        return now.state === 'ready' && now.circuit.length === 3 ? now : undefined;
      });
      expect(after.circuit).not.toContain(middle.ready.id);
      const exits = new Set(network.relays.map((r) => r.outbound));
      expect(site.hits.filter((h) => h.path === '/failover/check').every((h) => exits.has(h.peer))).toBe(true);
      expect(site.connections.filter((c) => !exits.has(c.peer))).toEqual([]);
      await page.close();
    } finally {
      await chrome.ask({ type: 'allium:set-pools', pools: [{ url: demo.ready.pool, key: demo.ready.poolKey }] });
      await network.stop();
    }
  });

  it('fails closed when interception is lost, and says so', async () => {
    const { page, tabId } = await anonymousTab();
    // The debugger may not stay on browser pages: Chrome detaches it, as when the user cancels
    // the "started debugging this browser" bar.
    await page.goto('chrome://version').catch(() => {});
    const lost = await waitFor('the tab to be marked lost', async () => {
      const now = await status(tabId);
      return now.state === 'lost' ? now : undefined;
    });
    expect(lost.detail).toMatch(/Protection lost/);
    const hitsBefore = site.hits.length;
    site.connections.length = 0;
    await expect(page.goto(`${site.main}/lost/check`)).rejects.toThrow(/ERR_BLOCKED_BY_CLIENT/);
    expect(site.hits.length).toBe(hitsBefore);
    expect(site.connections).toEqual([]);
    // Turning it on again protects it again.
    await chrome.ask({ type: 'allium:set-tab', tabId, anonymous: true });
    await waitFor('the tab to be ready', async () => (await status(tabId)).state === 'ready');
    await page.goto(`${site.main}/lost/check`);
    expect(outbound.has(site.hits[site.hits.length - 1].peer)).toBe(true);
    await page.close();
  });

  it('keeps an anonymous tab protected, with its cookies, when Chrome stops the service worker', async () => {
    const { page, tabId } = await anonymousTab();
    await page.goto(`${site.main}/lifecycle/set-cookie?name=kept&value=yes`);
    await chrome.stopWorker();
    site.connections.length = 0;
    // The paused request wakes the worker, which takes its state back from session storage.
    await page.goto(`${site.main}/lifecycle/check`);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { body: { textContent: string } } }).document.body.textContent)).toBe('kept=yes');
    expect(site.hits.filter((h) => h.path.startsWith('/lifecycle/')).every((h) => outbound.has(h.peer))).toBe(true);
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    const now = await status(tabId);
    expect(now).toMatchObject({ anonymous: true, state: 'ready' });
    expect(now.circuit).toHaveLength(3);
    await page.close();
  });
});
