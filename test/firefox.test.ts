// The extension end to end in Firefox ESR: anonymous tabs in Allium containers, routed to a real
// `allium proxy --control` over SOCKS5 with per-tab credentials, against `allium demo` and test
// servers on two origins that record the address of every connection. (One file, so that the
// extension is built once, by one process.)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadControlToken } from '../proxy/control-token.ts';
import { bodyData, waitFor } from './support/browser.ts';
import { startTestSite, type TestSite } from './support/browser-site.ts';
import { IDLE_MS, launchFirefoxWithExtension, type ContainerTab, type FirefoxExtension } from './support/firefox.ts';
import { ROOT, startService, tempDir, type DemoReady, type Service } from './support/processes.ts';
import { FIREFOX_DIR } from '../vite.config.ts';
import type { TabStatus } from '../extension/messages.ts';

interface ProxyReady {
  socks: string;
  http: string;
  control: string;
}

describe('the Firefox extension', () => {
  let demo: Service<DemoReady>;
  let proxy: Service<ProxyReady>;
  let site: TestSite;
  let firefox: FirefoxExtension;
  let outbound: Set<string>;

  const tokenFile = join(tempDir('allium-control-'), 'token');

  beforeAll(async () => {
    let firefoxReady: Promise<FirefoxExtension>;
    [demo, site, firefox] = await Promise.all([
      startService<DemoReady>(['demo', '--json', '--base-port', '0'], 20_000, { XDG_DATA_HOME: tempDir('allium-demo-') }),
      startTestSite(),
      (firefoxReady = launchFirefoxWithExtension()),
    ]).catch(async (err) => {
      await firefoxReady?.then((f) => f.close(), () => {});
      throw err;
    });
    // --pool-key=KEY: a key may begin with '-', which would read as an option.
    proxy = await startService<ProxyReady>(['proxy', '--json', `--pool=${demo.ready.pool}`, `--pool-key=${demo.ready.poolKey}`, '--socks', '0', '--http', '0', '--control', '0', '--control-token', tokenFile]);
    outbound = new Set(demo.ready.relays.map((r) => r.outbound));
    const { check } = await firefox.ask<{ check: { ok: boolean; error?: string } }>({
      type: 'allium:set-proxy',
      proxy: { socks: proxy.ready.socks, control: proxy.ready.control, token: loadControlToken(tokenFile).token },
    });
    expect(check).toMatchObject({ ok: true });
  }, 60_000);

  afterAll(async () => {
    await firefox?.close();
    await proxy?.stop();
    await site?.close();
    await demo?.stop();
  });

  const exitOf = (circuit: string[]) => demo.ready.relays.find((r) => r.id === circuit[2])?.outbound;
  const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);
  const status = (tabId: number) => firefox.ask<TabStatus>({ type: 'allium:tab-status', tabId });

  /** A new tab made anonymous: Firefox reopens it in a container, under another id. */
  async function anonymousTab(): Promise<ContainerTab> {
    const page = await firefox.browser.newPage();
    const before = await firefox.tabIdOf(page);
    const { tabId } = await firefox.ask<TabStatus>({ type: 'allium:set-tab', tabId: before, anonymous: true });
    expect(tabId).not.toBe(before);
    await waitFor('a circuit for the tab', async () => (await status(tabId)).state === 'ready');
    return firefox.containerTab(tabId);
  }

  /** Loads the test page of a run and waits until every part of it has been requested. */
  async function loadEverything(load: (url: string) => Promise<unknown>, report: (key: string) => Promise<string | undefined>, run: string): Promise<Record<string, string | undefined>> {
    await load(site.pageUrl(run));
    const missing = () => {
      const seen = new Set(site.hits.map((h) => h.path));
      return site.expectedPaths(run, true).filter((p) => !seen.has(p));
    };
    await waitFor(`every request of run ${run}`, () => missing().length === 0).catch((err: Error) => {
      throw new Error(`${err.message}; missing ${missing().join(' ')}; seen ${JSON.stringify(site.hits.filter((h) => h.path.startsWith(`/${run}/`)))}`);
    });
    const reports: Record<string, string | undefined> = {};
    for (const key of ['sw', 'api', 'worker', 'socket', 'beacon']) reports[key] = await waitFor(`the page's ${key} report`, () => report(key));
    return reports;
  }

  const pageData = (tab: ContainerTab) => (key: string) =>
    tab.evaluate((k: string) => (globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> } } }).document.body.dataset[k] ?? null, key).then((v) => v ?? undefined);

  it('routes every request of an anonymous tab through relays, service worker and WebSocket included, while a normal tab goes direct', async () => {
    const normal = await firefox.browser.newPage();
    expect((await status(await firefox.tabIdOf(normal))).anonymous).toBe(false);
    const everything = { sw: 'ready', api: 'true', worker: 'main worker-fetch', socket: 'open', beacon: 'true' };
    expect(await loadEverything((url) => normal.goto(url), (key) => bodyData(normal, key), 'plain')).toEqual(everything);
    const plainHits = site.hits.filter((h) => h.path.startsWith('/plain/'));
    expect(plainHits.filter((h) => h.peer !== '127.0.0.1')).toEqual([]);
    await normal.close();

    const tab = await anonymousTab();
    site.connections.length = 0;
    // Firefox carries all of it through the proxy: nothing is refused.
    expect(await loadEverything((url) => tab.goto(url), pageData(tab), 'anon')).toEqual(everything);
    await tab.evaluate(() => (globalThis as unknown as { document: { getElementById(id: string): { click(): void } } }).document.getElementById('next').click());
    await waitFor('the link target', () => site.hits.some((h) => h.path === '/anon/next.png'));
    const anonHits = site.hits.filter((h) => h.path.startsWith('/anon/'));
    expect(anonHits.filter((h) => !outbound.has(h.peer))).toEqual([]);
    expect(anonHits.some((h) => h.path === '/anon/socket')).toBe(true);
    // Not one TCP connection from the browser itself.
    expect(site.connections.length).toBeGreaterThan(0);
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    await firefox.closeTab(tab.tabId);
  });

  it('the options page shows the local proxy it uses, and that it answers', async () => {
    const options = await firefox.openExtensionPage('options.html');
    const said = () => options.$eval('#proxy-status', (el) => (el as unknown as { textContent: string }).textContent);
    await waitFor('the check of the proxy', async () => /The local proxy answers/.test(await said())).catch(async (err: Error) => {
      throw new Error(`${err.message}: the page says "${await said()}"`);
    });
    expect(await said()).toContain(`${demo.ready.relays.length} relays from ${demo.ready.pool}`);
    expect(await options.$eval('#socks', (el) => (el as unknown as { value: string }).value)).toBe(proxy.ready.socks);
    expect(await options.$eval('#pools-section', (el) => (el as unknown as { hidden: boolean }).hidden)).toBe(true);
    await options.close();
  });

  it('the popup shows the tab\'s three relays, and "New circuit" replaces them', async () => {
    const tab = await anonymousTab();
    await tab.goto(`${site.main}/popup/check`);
    const popup = await firefox.openExtensionPage(`popup.html?tab=${tab.tabId}`);
    const shownRelays = () => popup.$$eval('#circuit .relay-id', (items) => items.map((item) => (item as unknown as { title: string }).title));
    const before = await waitFor('three relays in the popup', async () => ((await shownRelays()).length === 3 ? shownRelays() : undefined));
    const known = new Set(demo.ready.relays.map((r) => r.id));
    expect(before.every((id) => known.has(id))).toBe(true);
    expect(before).toEqual((await status(tab.tabId)).circuit);
    expect(await popup.$eval('#status', (el) => (el as unknown as { dataset: { state: string } }).dataset.state)).toBe('ready');
    // The site saw the exit of that very circuit: the control endpoint speaks of the tab's credentials.
    expect(site.hits.filter((h) => h.path === '/popup/check').map((h) => h.peer)).toEqual([exitOf(before)]);

    const first = (await status(tab.tabId)).circuitId;
    await popup.waitForSelector('#new-circuit:not([disabled])');
    await popup.click('#new-circuit');
    const after = await waitFor('another circuit', async () => {
      const now = await status(tab.tabId);
      return now.state === 'ready' && now.circuitId !== first ? now : undefined;
    });
    await waitFor('the popup to show it', async () => (await shownRelays()).join() === after.circuit.join());
    await tab.goto(`${site.main}/popup/again`);
    expect(site.hits.filter((h) => h.path === '/popup/again').map((h) => h.peer)).toEqual([exitOf((await status(tab.tabId)).circuit)]);
    await popup.close();
    await firefox.closeTab(tab.tabId);
  });

  it('two anonymous tabs have their own circuits and cookies; closing them removes their containers', async () => {
    const one = await anonymousTab();
    const two = await anonymousTab();
    const text = (tab: ContainerTab) => tab.evaluate(() => (globalThis as unknown as { document: { body: { textContent: string } } }).document.body.textContent);
    await one.goto(`${site.main}/cookies/set-cookie?name=tab&value=one`);
    const cookieOf = async (tab: ContainerTab) => {
      await tab.goto(`${site.main}/cookies/check`);
      return text(tab);
    };
    expect(await cookieOf(one)).toBe('tab=one');
    expect(await cookieOf(two)).toBe('no cookie');
    const normal = await firefox.browser.newPage();
    await normal.goto(`${site.main}/cookies/check`);
    expect(await normal.evaluate(() => (globalThis as unknown as { document: { body: { textContent: string } } }).document.body.textContent)).toBe('no cookie');
    const [statusOne, statusTwo] = [await status(one.tabId), await status(two.tabId)];
    expect(statusOne.circuitId).toBeDefined();
    expect(statusOne.circuitId).not.toBe(statusTwo.circuitId);
    const checks = site.hits.filter((h) => h.path === '/cookies/check');
    expect(checks.map((h) => h.peer)).toEqual([exitOf(statusOne.circuit), exitOf(statusTwo.circuit), '127.0.0.1']);

    const containers = () => firefox.inExtension((extension) => extension.contextualIdentities.query({ name: 'Allium' }));
    expect((await containers()).length).toBeGreaterThanOrEqual(2);
    await Promise.all([firefox.closeTab(one.tabId), firefox.closeTab(two.tabId), normal.close()]);
    // With their tabs gone, their containers (and the cookies in them) are gone too.
    await waitFor('the containers to be removed', async () => (await containers()).length === 0);
  });

  it('tabs opened from an anonymous tab stay in its container, each with a circuit of its own', async () => {
    const tab = await anonymousTab();
    await tab.goto(site.pageUrl('opener'));
    site.connections.length = 0;
    await tab.evaluate((url: string) => {
      const page = globalThis as unknown as { document: { getElementById(id: string): { click(): void } }; open(url: string): unknown };
      page.document.getElementById('new-tab').click();
      page.open(url);
    }, `${site.main}/opener/window-open`);
    await waitFor('the opened pages', () => site.hits.some((h) => h.path === '/opener/next.png') && site.hits.some((h) => h.path === '/opener/window-open'));
    expect(site.hits.filter((h) => h.path.startsWith('/opener/') && !outbound.has(h.peer))).toEqual([]);
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    const opened = await firefox.inExtension(async (extension) => (await extension.tabs.query({})).filter((t) => /\/opener\/(opened\.html|window-open)$/.test(t.url ?? '')).map((t) => t.id!));
    expect(opened).toHaveLength(2);
    const ready = (tabId: number) => waitFor(`tab ${tabId} on its circuit`, async () => ((await status(tabId)).state === 'ready' ? status(tabId) : undefined));
    const statuses = await Promise.all([...opened, tab.tabId].map(ready));
    expect(statuses.map((s) => s.anonymous)).toEqual([true, true, true]);
    expect(new Set(statuses.map((s) => s.circuitId)).size).toBe(3);
    await Promise.all([...opened, tab.tabId].map(firefox.closeTab));
  });

  it('turning anonymity off reopens the page outside the container, loaded directly', async () => {
    const tab = await anonymousTab();
    await tab.goto(`${site.main}/off/before`);
    const off = await firefox.ask<TabStatus>({ type: 'allium:set-tab', tabId: tab.tabId, anonymous: false });
    expect(off).toMatchObject({ anonymous: false, state: 'off' });
    expect(off.tabId).not.toBe(tab.tabId);
    await waitFor('the page loaded again, directly', () => site.hits.filter((h) => h.path === '/off/before').length === 2);
    expect(site.hits.filter((h) => h.path === '/off/before').map((h) => h.peer)).toEqual([expect.toSatisfy((peer: string) => outbound.has(peer)), '127.0.0.1']);
    await firefox.closeTab(off.tabId);
  });

  it('logs in to the demo site through the circuit; the site sees an exit address', async () => {
    const tab = await anonymousTab();
    await tab.goto(`${demo.ready.site}/login`);
    await tab.evaluate((name: string, password: string) => {
      const document = (globalThis as unknown as { document: { querySelector(s: string): { value: string; click(): void } } }).document;
      document.querySelector('input[name=user]').value = name;
      document.querySelector('input[name=password]').value = password;
      document.querySelector('button[type=submit]').click();
    }, demo.ready.user.name, demo.ready.user.password);
    await waitFor('the secret page', async () => new URL(await tab.url()).pathname === '/secret');
    expect(await tab.evaluate(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } } }).document.querySelector('.secret').textContent)).not.toBe('');
    const login = demo.stderr().split('\n').find((line) => line.includes('login succeeded'));
    expect(login).toBeDefined();
    // "allium": the site saw a relay's outbound address (itself logged only with --log-sensitive).
    const logged = JSON.parse(login!) as { arrival: string };
    expect(logged.arrival).toBe('allium');
    await firefox.closeTab(tab.tabId);
  });

  it('keeps routing a tab, on its circuit, when Firefox stops the idle event page', async () => {
    const tab = await anonymousTab();
    await tab.goto(`${site.main}/idle/before`);
    const before = await status(tab.tabId);
    await waitFor('the event page to be stopped', async () => !(await firefox.backgroundRunning()), 4 * IDLE_MS);
    site.connections.length = 0;
    // The request wakes the event page, which takes the tab's credentials back from session storage.
    await tab.goto(`${site.main}/idle/after`);
    expect(site.hits.filter((h) => h.path.startsWith('/idle/')).map((h) => h.peer)).toEqual([exitOf(before.circuit), exitOf(before.circuit)]);
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    expect((await status(tab.tabId)).circuitId).toBe(before.circuitId);
    await firefox.closeTab(tab.tabId);
  });

  it('with the local proxy stopped, an anonymous tab loads nothing, nothing goes direct, and the popup says why; it resumes with the proxy', async () => {
    const tab = await anonymousTab();
    const { socks, control } = proxy.ready;
    await proxy.stop();
    site.connections.length = 0;
    const hits = site.hits.length;
    await expect(tab.goto(`${site.main}/stopped/check`)).rejects.toThrow(/NS_ERROR_PROXY_CONNECTION_REFUSED/);
    expect(site.hits.length).toBe(hits);
    expect(site.connections).toEqual([]);
    const stopped = await status(tab.tabId);
    expect(stopped.state).toBe('no-proxy');
    expect(stopped.detail).toMatch(/allium proxy/);

    proxy = await startService<ProxyReady>(['proxy', '--json', `--pool=${demo.ready.pool}`, `--pool-key=${demo.ready.poolKey}`, '--socks', port(socks), '--http', '0', '--control', port(control), '--control-token', tokenFile]);
    await tab.goto(`${site.main}/stopped/check`);
    expect(site.hits.filter((h) => h.path === '/stopped/check').map((h) => outbound.has(h.peer))).toEqual([true]);
    expect(site.connections.filter((c) => !outbound.has(c.peer))).toEqual([]);
    await firefox.closeTab(tab.tabId);
  });
});

describe('the Firefox build', () => {
  // Built by the suite above (launchFirefoxWithExtension), in the same process.
  it('has Firefox\'s manifest keys and passes web-ext lint without errors', async () => {
    const manifest = JSON.parse(readFileSync(join(FIREFOX_DIR, 'manifest.json'), 'utf8')) as Record<string, unknown> & { permissions: string[] };
    expect(manifest).toMatchObject({
      background: { scripts: ['background.js'] },
      content_security_policy: { extension_pages: "script-src 'self'" },
      browser_specific_settings: { gecko: { id: 'allium@allium.invalid' } },
    });
    expect(manifest.permissions).toEqual(expect.arrayContaining(['proxy', 'contextualIdentities', 'cookies']));
    expect(manifest.permissions).not.toContain('debugger');
    const webExt = join(ROOT, 'node_modules', 'web-ext', 'bin', 'web-ext.js');
    const report = await new Promise<string>((resolve) =>
      // web-ext exits with 1 when it finds errors; the report says which.
      execFile(process.execPath, [webExt, 'lint', '--source-dir', FIREFOX_DIR, '--output', 'json', '--no-config-discovery'], { maxBuffer: 16 << 20 }, (_err, stdout) => resolve(stdout)),
    );
    const { errors, warnings } = JSON.parse(report) as { errors: { code: string; message: string }[]; warnings: { code: string; message: string }[] };
    expect(errors).toEqual([]);
    // The only warnings: Chrome's routing is in the same bundle, and never runs in Firefox.
    expect(warnings.filter((w) => w.code !== 'UNSUPPORTED_API' || !/^(debugger|declarativeNetRequest)\./.test(w.message))).toEqual([]);
  }, 30_000);
});
