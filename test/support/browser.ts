// Real Chromium for end-to-end tests (BROWSER.md): Debian's binary driven by puppeteer-core, the
// extension built by vite into dist/chrome and loaded unpacked, and a control page of the
// extension's own through which tests speak the background's message API.
import { existsSync } from 'node:fs';
import { build } from 'vite';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import viteConfig, { CHROME_DIR } from '../../vite.config.ts';
import { tempDir } from './processes.ts';

export const CHROMIUM = '/usr/lib/chromium/chromium';
export const FIREFOX = '/usr/lib/firefox-esr/firefox-esr';

/** Flags that keep Chromium off the (closed) network: no background traffic, no DNS but loopback. */
const QUIET_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--disable-domain-reliability',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

/** The extension API as the control page sees it (tests compile without DOM or chrome types). */
interface ExtensionApi {
  runtime: { sendMessage(message: unknown): Promise<unknown> };
  tabs: { query(filter: object): Promise<{ id?: number; url?: string }[]> };
}

let built: Promise<void> | undefined;

/** Builds the extension once per test process, as `npm run build` does. */
export function buildExtension(): Promise<void> {
  built ??= build({ ...viteConfig, configFile: false }).then(() => undefined);
  return built;
}

export interface ExtensionBrowser {
  browser: Browser;
  extensionId: string;
  /** An extension page kept open to send messages and query tabs. */
  control: Page;
  ask<T = unknown>(message: object): Promise<T>;
  /** The browser's id of a puppeteer page's tab. */
  tabIdOf(page: Page): Promise<number>;
  /** Stops the extension's service worker, as Chrome does when it is idle; events wake it again. */
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function launchWithExtension(): Promise<ExtensionBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-browsers.sh (apt-get install chromium)`);
  await buildExtension();
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    pipe: true,
    enableExtensions: [CHROME_DIR],
    userDataDir: tempDir('allium-chromium-'),
    args: QUIET_FLAGS,
  });
  try {
    const worker = await browser.waitForTarget((t) => t.type() === 'service_worker' && t.url().endsWith('/background.js'), { timeout: 10_000 });
    const extensionId = new URL(worker.url()).host;
    const control = await browser.newPage();
    await control.goto(`chrome-extension://${extensionId}/options.html`);
    const ask = async <T>(message: object): Promise<T> => {
      const reply = await control.evaluate((m) => (globalThis as unknown as { chrome: ExtensionApi }).chrome.runtime.sendMessage(m), message);
      if (reply && typeof reply === 'object' && 'error' in reply) throw new Error(`${JSON.stringify(message)}: ${(reply as { error: string }).error}`);
      return reply as T;
    };
    let markers = 0;
    const tabIdOf = async (page: Page): Promise<number> => {
      const marker = `about:blank#allium-tab-${++markers}`;
      await page.goto(marker);
      const id = await control.evaluate(async (url) => (await (globalThis as unknown as { chrome: ExtensionApi }).chrome.tabs.query({})).find((tab) => tab.url === url)?.id, marker);
      if (id === undefined) throw new Error('tab of the page not found');
      return id;
    };
    const stopWorker = async () => {
      const session = await control.createCDPSession();
      const running = new Promise<string>((resolve) =>
        session.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
          const ours = versions.find((v) => v.scriptURL === worker.url() && v.runningStatus === 'running');
          if (ours) resolve(ours.versionId);
        }),
      );
      await session.send('ServiceWorker.enable');
      const versionId = await running;
      const stopped = new Promise<void>((resolve) =>
        session.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
          if (versions.some((v) => v.versionId === versionId && v.runningStatus === 'stopped')) resolve();
        }),
      );
      await session.send('ServiceWorker.stopWorker', { versionId });
      await stopped;
      await session.detach();
    };
    return { browser, extensionId, control, ask, tabIdOf, stopWorker, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

/** A `data-*` value of a page's body, which the test pages use to report what their scripts saw. */
export function bodyData(page: Page, key: string): Promise<string | undefined> {
  return page.evaluate((k) => (globalThis as unknown as { document: { body: { dataset: Record<string, string | undefined> } } }).document.body.dataset[k], key);
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
