// The extension's figures: the built extension in Debian's Chromium (test/support/browser.ts, as
// the end-to-end tests run it), set to the bench's own pool, so that its circuits go through the
// bench's relays (--allow-private: the page is on loopback). Page loads of the sink's /page in a
// normal and an anonymous tab, and in two tabs whose requests the bench answers itself (to tell
// interception, circuit and extension apart), interleaved so that all see the same load on the
// machine, and circuit builds inside the extension through its message API. Nothing here changes
// the extension: it is driven as the popup and the tests drive it.
import { existsSync, rmSync } from 'node:fs';
import type { Page } from 'puppeteer-core';
import type { AlliumClient } from '../shared/client/client.ts';
import { CHROMIUM, launchWithExtension, waitFor, type ExtensionBrowser } from '../test/support/browser.ts';
import { summarizeLatency, type ExtensionFigures } from './report.ts';
import { median, round } from './stats.ts';

export interface ExtensionBenchOptions {
  pool: { url: string; key: string };
  /** The bench's client core, for the tab that tells the circuit's share from the extension's. */
  client: AlliumClient;
  /** The page to load, on 127.0.0.1. */
  pageUrl: string;
  /** What the page fetches, in words, for the report. */
  page: string;
  loads: { warmup: number; samples: number };
  builds: { warmup: number; samples: number };
  /** The whole measurement, browser start included, so that a stuck browser cannot stall the run. */
  timeoutMs: number;
  onStatus(text: string): void;
}

/** What the background answers about a tab (extension/messages.ts, TabStatus). */
interface TabStatus {
  anonymous: boolean;
  state: string;
  circuit: string[];
  circuitId?: string;
}

/** The control page's view of the extension API (the bench compiles without DOM or chrome types). */
type ControlGlobal = { chrome: { runtime: { sendMessage(message: unknown): Promise<unknown> } } };
/** The page's view of its own load (the bench compiles without DOM types). */
type PageGlobal = {
  performance: { getEntriesByType(type: string): { startTime: number; loadEventEnd: number }[] };
  document: { body: { dataset: Record<string, string | undefined> } };
};

const notMeasured = (status: string, page: string): ExtensionFigures => ({
  status,
  page,
  normalTabPageLoad: null,
  anonymousTabPageLoad: null,
  anonymousToNormal: null,
  interceptedToNormal: null,
  clientCoreToNormal: null,
  circuitBuild: null,
  messageRoundTripMs: null,
});

/** Chromium profiles still on disk; removed on any exit, Ctrl-C included (run.ts exits then). */
const profiles = new Set<string>();
process.once('exit', () => {
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
});

/**
 * Never throws: a browser that is missing, fails or hangs gives `n/a (…)` and the network's
 * figures of the same run are still reported. The browser is closed on every path.
 */
export async function extensionFigures(options: ExtensionBenchOptions): Promise<ExtensionFigures> {
  if (!existsSync(CHROMIUM)) return notMeasured('n/a (chromium not installed: run scripts/ensure-browsers.sh)', options.page);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${options.timeoutMs / 1000} s`)), options.timeoutMs);
  });
  options.onStatus('extension: building it and starting Chromium');
  const launched = launchWithExtension().then((chrome) => {
    const dir = chrome.browser
      .process()
      ?.spawnargs.find((arg) => arg.startsWith('--user-data-dir='))
      ?.slice('--user-data-dir='.length);
    if (dir) profiles.add(dir);
    return { chrome, dir };
  });
  const measured = launched.then(({ chrome }) => measure(chrome, options));
  // After a timeout, closing the browser makes the measurement fail too: no news by then.
  measured.catch(() => {});
  try {
    return await Promise.race([measured, timeout]);
  } catch (err) {
    process.stderr.write(`bench: extension figures not measured: ${(err as Error).stack ?? err}\n`);
    return notMeasured(`n/a (failed: ${(err as Error).message.split('\n')[0]})`, options.page);
  } finally {
    clearTimeout(timer);
    // A launch still under way after the timeout is closed once it is done (and killed with every
    // other child by run.ts in any case).
    const closing = launched.then(async ({ chrome, dir }) => {
      await closeBrowser(chrome);
      if (dir) {
        rmSync(dir, { recursive: true, force: true });
        profiles.delete(dir);
      }
    });
    await Promise.race([closing.catch(() => {}), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
}

/** browser.close() can hang on a wedged browser: SIGKILL it after a grace period. */
async function closeBrowser(chrome: ExtensionBrowser): Promise<void> {
  const child = chrome.browser.process();
  const closed = chrome.close().then(
    () => true,
    () => false,
  );
  const inTime = await Promise.race([closed, new Promise<false>((resolve) => setTimeout(() => resolve(false), 5000))]);
  if (!inTime && child && child.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function measure(chrome: ExtensionBrowser, options: ExtensionBenchOptions): Promise<ExtensionFigures> {
  const status = (tabId: number) => chrome.ask<TabStatus>({ type: 'allium:tab-status', tabId });
  await chrome.ask({ type: 'allium:set-pools', pools: [options.pool] });

  // As test/extension.test.ts makes a tab anonymous: through the message API, then its first circuit.
  const normal = await chrome.browser.newPage();
  // Two normal tabs whose requests the bench itself pauses and answers through the DevTools
  // protocol, as the extension does: one with a direct fetch (what interception alone costs),
  // one through a circuit of the client core in Node (what the circuit adds, without the
  // extension's worker). Opened before a tab is anonymous, or the extension would hold them as
  // tabs a page of the anonymous tab's site might have opened.
  const intercepted = await answeredByBench(await chrome.browser.newPage(), (url) => fetch(url));
  const viaClientCore = await answeredByBench(await chrome.browser.newPage(), (url) => options.client.fetch(url, { isolationKey: 'bench-page-load' }));
  const anonymous = await chrome.browser.newPage();
  const tabId = await chrome.tabIdOf(anonymous);
  await chrome.ask({ type: 'allium:set-tab', tabId, anonymous: true });
  await waitFor('the anonymous tab to be ready', async () => (await status(tabId)).state === 'ready', 30_000);

  const times = { normal: [] as number[], anonymous: [] as number[], intercepted: [] as number[], clientCore: [] as number[] };
  const total = options.loads.warmup + options.loads.samples;
  for (let i = 0; i < total; i++) {
    options.onStatus(`extension: page loads ${i + 1}/${total} in each of 4 tabs`);
    for (const [which, page] of [
      ['normal', normal],
      ['anonymous', anonymous],
      ['intercepted', intercepted],
      ['clientCore', viaClientCore],
    ] as const) {
      const ms = await loadTime(page, options.pageUrl);
      if (i >= options.loads.warmup) times[which].push(ms);
    }
  }
  // Every load went through the tab's circuit (the tab stayed anonymous and ready throughout).
  const after = await status(tabId);
  if (!after.anonymous || after.state !== 'ready' || after.circuit.length !== 3) throw new Error(`anonymous tab not ready after the loads: ${JSON.stringify(after)}`);

  const builds: number[] = [];
  const roundTrips: number[] = [];
  let circuitId = after.circuitId;
  const buildTotal = options.builds.warmup + options.builds.samples;
  for (let i = 0; i < buildTotal; i++) {
    options.onStatus(`extension: circuit builds ${i + 1}/${buildTotal}`);
    const build = await timedMessage<TabStatus>(chrome, { type: 'allium:new-circuit', tabId });
    // The background answers new-circuit once the tab's new circuit is built (or failed).
    if (build.reply.state !== 'ready' || build.reply.circuit.length !== 3 || build.reply.circuitId === circuitId) {
      throw new Error(`new-circuit did not give a new open circuit: ${JSON.stringify(build.reply)}`);
    }
    circuitId = build.reply.circuitId;
    const roundTrip = await timedMessage<TabStatus>(chrome, { type: 'allium:tab-status', tabId });
    if (i >= options.builds.warmup) {
      builds.push(build.ms);
      roundTrips.push(roundTrip.ms);
    }
  }

  const [normalTabPageLoad, anonymousTabPageLoad] = [summarizeLatency(times.normal), summarizeLatency(times.anonymous)];
  return {
    status: 'measured',
    page: options.page,
    normalTabPageLoad,
    anonymousTabPageLoad,
    anonymousToNormal: round(median(times.anonymous) / median(times.normal)),
    interceptedToNormal: round(median(times.intercepted) / median(times.normal)),
    clientCoreToNormal: round(median(times.clientCore) / median(times.normal)),
    circuitBuild: summarizeLatency(builds),
    messageRoundTripMs: round(median(roundTrips)),
  };
}

/**
 * Pauses every request of `page` (DevTools protocol, Fetch domain, request stage, as the
 * extension does) and answers it with what `fetcher` got, as Fetch.fulfillRequest.
 */
async function answeredByBench(page: Page, fetcher: (url: string) => Promise<Response>): Promise<Page> {
  const session = await page.createCDPSession();
  session.on('Fetch.requestPaused', async ({ requestId, request }) => {
    try {
      const response = await fetcher(request.url);
      const body = Buffer.from(await response.arrayBuffer()).toString('base64');
      const responseHeaders = [...response.headers].map(([name, value]) => ({ name, value }));
      await session.send('Fetch.fulfillRequest', { requestId, responseCode: response.status, responseHeaders, body });
    } catch {
      await session.send('Fetch.failRequest', { requestId, errorReason: 'Failed' }).catch(() => {});
    }
  });
  await session.send('Fetch.enable', { patterns: [{ urlPattern: '*', requestStage: 'Request' }] });
  return page;
}

/**
 * One load of `url`, as the page itself measured it (navigation timing: from the start of the
 * navigation to the end of its load event, every subresource included), so that puppeteer's own
 * round trips do not count. The page's script must have run: the load was complete.
 */
async function loadTime(page: Page, url: string): Promise<number> {
  // Headless Chromium throttles tabs in the background; each tab is measured in front.
  await page.bringToFront();
  const response = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
  if (response?.status() !== 200) throw new Error(`${url}: HTTP ${response?.status()}`);
  return page.evaluate(async () => {
    const { performance, document } = globalThis as unknown as PageGlobal;
    // loadEventEnd is set once the load event's handlers have returned, just after 'load'.
    for (let tries = 0; tries < 100; tries++) {
      const [navigation] = performance.getEntriesByType('navigation');
      if (navigation && navigation.loadEventEnd > 0 && document.body.dataset.script === 'ran') return navigation.loadEventEnd - navigation.startTime;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`incomplete load: script ${document.body.dataset.script}, navigation ${JSON.stringify(performance.getEntriesByType('navigation'))}`);
  });
}

/** A message to the background, timed in the extension's control page (no puppeteer round trip). */
async function timedMessage<T>(chrome: ExtensionBrowser, message: object): Promise<{ ms: number; reply: T }> {
  const { ms, reply } = await chrome.control.evaluate(async (m) => {
    const started = performance.now();
    const answer = await (globalThis as unknown as ControlGlobal).chrome.runtime.sendMessage(m);
    return { ms: performance.now() - started, reply: answer };
  }, message);
  if (reply && typeof reply === 'object' && 'error' in reply) throw new Error(`${JSON.stringify(message)}: ${(reply as { error: string }).error}`);
  return { ms, reply: reply as T };
}
