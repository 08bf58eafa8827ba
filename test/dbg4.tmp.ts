import { launchWithExtension, waitFor } from './support/browser.ts';
import { startTestSite } from './support/browser-site.ts';
import { startService, tempDir } from './support/processes.ts';
const [demo, site, chrome] = await Promise.all([
  startService<any>(['demo', '--json', '--base-port', '0'], 20_000, { XDG_DATA_HOME: tempDir('allium-demo-') }),
  startTestSite(),
  launchWithExtension(),
]);
const t0 = Date.now();
const origPush = site.hits.push.bind(site.hits);
site.hits.push = (...h: any[]) => { for (const x of h) console.log(Date.now() - t0, 'HIT', x.path, x.peer); return origPush(...h); };
try {
  const sw = await chrome.browser.waitForTarget((t) => t.type() === 'service_worker' && t.url().endsWith('/background.js'));
  const cdp = await sw.createCDPSession();
  await cdp.send('Runtime.enable');
  cdp.on('Runtime.consoleAPICalled', (e: any) => console.log(Date.now() - t0, '[bg]', e.type, JSON.stringify(e.args.map((a: any) => a.value ?? a.description)).slice(0, 300)));
  await chrome.ask({ type: 'allium:set-pools', pools: [{ url: demo.ready.pool, key: demo.ready.poolKey }] });
  for (const run of (process.env.RUNS ?? 'one,two').split(',')) {
    const page = await chrome.browser.newPage();
    const tabId = await chrome.tabIdOf(page);
    await chrome.ask({ type: 'allium:set-tab', tabId, anonymous: true });
    await waitFor('ready', async () => (await chrome.ask<any>({ type: 'allium:tab-status', tabId })).state === 'ready');
    console.log(Date.now() - t0, 'GOTO', run);
    await page.goto(site.pageUrl(run));
    if (process.env.CLICK) await page.click('#new-tab');
    await new Promise((r) => setTimeout(r, 2500));
    await page.close();
  }
} finally {
  await chrome.close(); await site.close(); await demo.stop();
}
