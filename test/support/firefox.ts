// Real Firefox ESR for end-to-end tests (BROWSER.md): Debian's binary driven by puppeteer-core over
// WebDriver BiDi, the extension built by vite into dist/firefox and installed as a temporary
// add-on. Two things differ from Chromium:
// - Puppeteer cannot open moz-extension:// pages. The extension opens its options page itself on
//   a temporary install; that tab is found by its location and serves as the control page, from
//   which tests speak the background's message API.
// - Anonymous tabs live in containers the extension makes after Puppeteer connected, and
//   Puppeteer only knows the containers that existed then: such tabs are driven with raw BiDi
//   commands (ContainerTab).
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { FIREFOX_DIR } from '../../vite.config.ts';
import { buildExtension, FIREFOX, waitFor } from './browser.ts';
import { tempDir } from './processes.ts';

export const GECKO_ID = 'allium@allium.invalid';
/** Fixed by a pref, so the extension's pages have a known address. */
const EXTENSION_UUID = '6d1e7b4a-a11e-4c0d-9b5e-0a11e5f1f0c5';
export const EXTENSION_ORIGIN = `moz-extension://${EXTENSION_UUID}`;
export const IDLE_MS = 2_000;

/** The extension API as the control page sees it (tests compile without DOM or extension types). */
interface ExtensionApi {
  runtime: { sendMessage(message: unknown): Promise<unknown>; getURL(path: string): string; getContexts(filter: object): Promise<unknown[]> };
  tabs: {
    query(filter: object): Promise<{ id?: number; url?: string; cookieStoreId?: string }[]>;
    update(tabId: number, change: object): Promise<unknown>;
    create(properties: object): Promise<{ id?: number }>;
    remove(tabId: number): Promise<void>;
  };
  contextualIdentities: { query(filter: object): Promise<{ cookieStoreId: string; name: string }[]> };
}

/** Puppeteer's BiDi connection (public on its BiDi browser, not in the Browser type). */
type BidiSend = (method: string, params: object) => Promise<unknown>;
const bidi = (browser: Browser): BidiSend => {
  const connection = (browser as unknown as { connection: { send: BidiSend } }).connection;
  return (method, params) => connection.send(method, params);
};

interface BidiResult {
  type: 'success' | 'exception';
  result?: { type: string; value?: unknown };
  exceptionDetails?: { text: string };
}

/** A tab the extension opened in a container, driven over BiDi. */
export interface ContainerTab {
  tabId: number;
  context: string;
  /** Navigates and waits for the load event; rejects when the navigation fails. */
  goto(url: string): Promise<void>;
  /** Runs `fn` in the page (it must only use what it is given) and returns its JSON-able result. */
  evaluate<T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T>;
  url(): Promise<string>;
}

export interface FirefoxExtension {
  browser: Browser;
  control: Page;
  ask<T = unknown>(message: object): Promise<T>;
  /** Runs `fn` with the extension API in the control page. */
  inExtension<T, A extends unknown[]>(fn: (extension: ExtensionApi, ...args: A) => T | Promise<T>, ...args: A): Promise<T>;
  /** The browser's id of a Puppeteer page's tab. */
  tabIdOf(page: Page): Promise<number>;
  /** A tab Puppeteer does not know (in an Allium container), by its id. */
  containerTab(tabId: number): Promise<ContainerTab>;
  /** An extension page opened in a tab of its own (Puppeteer cannot navigate to one). */
  openExtensionPage(path: string): Promise<Page>;
  closeTab(tabId: number): Promise<void>;
  /** Whether the event page runs now (asking does not wake it). */
  backgroundRunning(): Promise<boolean>;
  close(): Promise<void>;
}

let markers = 0;

export async function launchFirefoxWithExtension(): Promise<FirefoxExtension> {
  if (!existsSync(FIREFOX)) throw new Error(`${FIREFOX} is missing: run scripts/ensure-browsers.sh (apt-get install firefox-esr)`);
  await buildExtension();
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: tempDir('allium-firefox-'),
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: EXTENSION_UUID }),
      // Firefox never asks proxies about loopback destinations otherwise, and the test servers are there.
      'network.proxy.allow_hijacking_localhost': true,
      // Keeps Firefox's remote settings off the (closed) network.
      'network.dns.localDomains': 'firefox.settings.services.mozilla.com',
      // The event page is stopped after 2 s without events (30 s by default), so the tests also
      // check that everything works for a background that was stopped and woken again.
      'extensions.background.idle.timeout': IDLE_MS,
    },
  });
  try {
    const id = await browser.installExtension(FIREFOX_DIR);
    if (id !== GECKO_ID) throw new Error(`installed ${id}, not ${GECKO_ID}`);
    const findPage = async (prefix: string, except: Page[] = []) => {
      for (const page of await browser.pages()) {
        if (except.includes(page)) continue;
        const href = await page.evaluate(() => (globalThis as unknown as { location: { href: string } }).location.href).catch(() => '');
        if (href.startsWith(prefix)) return page;
      }
      return undefined;
    };
    const control = await waitFor('the options page the extension opens on a temporary install', () => findPage(`${EXTENSION_ORIGIN}/options.html`));
    // A string expression: the page's CSP forbids building functions from text within it.
    const inExtension = <T, A extends unknown[]>(fn: (extension: ExtensionApi, ...args: A) => T | Promise<T>, ...args: A): Promise<T> =>
      control.evaluate(`(${fn.toString()})(globalThis.browser, ...${JSON.stringify(args)})`) as Promise<T>;
    const ask = async <T>(message: object): Promise<T> => {
      const reply = await inExtension((extension, m) => extension.runtime.sendMessage(m), message);
      if (reply && typeof reply === 'object' && 'error' in reply) throw new Error(`${JSON.stringify(message)}: ${(reply as { error: string }).error}`);
      return reply as T;
    };
    const tabIdOf = async (page: Page): Promise<number> => {
      const marker = `about:blank#allium-tab-${++markers}`;
      await page.goto(marker);
      const tabId = await inExtension(async (extension, url) => (await extension.tabs.query({})).find((tab) => tab.url === url)?.id, marker);
      if (tabId === undefined) throw new Error('tab of the page not found');
      return tabId;
    };
    const containerTab = async (tabId: number): Promise<ContainerTab> => {
      // The extension names the tab with a marker URL (no request leaves for about:blank), by which BiDi finds it.
      const marker = `about:blank#allium-container-tab-${++markers}`;
      await inExtension((extension, id, url) => extension.tabs.update(id, { url }), tabId, marker);
      const context = await waitFor(`the BiDi context of tab ${tabId}`, async () => {
        const { result } = (await bidi(browser)('browsingContext.getTree', { maxDepth: 0 })) as { result: { contexts: { context: string; url: string }[] } };
        return result.contexts.find((c) => c.url === marker)?.context;
      });
      return bidiTab(browser, tabId, context);
    };
    const openExtensionPage = async (path: string): Promise<Page> => {
      const before = await browser.pages();
      await inExtension((extension, p) => extension.tabs.create({ url: extension.runtime.getURL(p) }), path);
      return waitFor(`the extension page ${path}`, () => findPage(`${EXTENSION_ORIGIN}/${path}`, before));
    };
    const closeTab = (tabId: number) => inExtension((extension, id) => extension.tabs.remove(id), tabId);
    const backgroundRunning = async () => (await inExtension((extension) => extension.runtime.getContexts({ contextTypes: ['BACKGROUND'] }))).length > 0;
    return { browser, control, ask, inExtension, tabIdOf, containerTab, openExtensionPage, closeTab, backgroundRunning, close: () => browser.close() };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

function bidiTab(browser: Browser, tabId: number, context: string): ContainerTab {
  const send = async (method: string, params: object) => (await bidi(browser)(method, params)) as { result: BidiResult };
  const evaluate = async <T, A extends unknown[]>(fn: (...args: A) => T | Promise<T>, ...args: A): Promise<T> => {
    // Arguments and result cross as JSON text: BiDi's own serialisation is richer than tests need.
    const { result } = await send('script.callFunction', {
      functionDeclaration: `async (...texts) => JSON.stringify(await (${fn.toString()})(...texts.map((text) => JSON.parse(text)))) ?? 'null'`,
      arguments: args.map((value) => ({ type: 'string', value: JSON.stringify(value) })),
      target: { context },
      awaitPromise: true,
      resultOwnership: 'none',
    });
    if (result.type === 'exception') throw new Error(`in tab ${tabId}: ${result.exceptionDetails?.text}`);
    return JSON.parse(String(result.result?.value)) as T;
  };
  return {
    tabId,
    context,
    async goto(url) {
      await send('browsingContext.navigate', { context, url, wait: 'complete' });
    },
    evaluate,
    url: () => evaluate(() => (globalThis as unknown as { location: { href: string } }).location.href),
  };
}
