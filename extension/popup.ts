// The popup: turns anonymity on or off for the current tab and shows its state and circuit.
// `popup.html?tab=ID` shows a given tab (tests open the popup as a tab of its own).
import browser from 'webextension-polyfill';
import { ask, type RelayView, type TabState, type TabStatus } from './messages.ts';

const MESSAGES: Record<TabState, string> = {
  off: 'This tab connects directly. Turn it anonymous to route all its requests through Allium.',
  connecting: 'Building a circuit through three relays…',
  ready: 'Anonymous: every request of this tab goes through the circuit below.',
  retrying: 'Circuit failed, retrying. Requests of this tab wait or fail; none goes direct.',
  'no-pool': 'No pool reachable: check the pool URLs and keys (in the options, or those given to allium proxy). Requests of this tab fail; none goes direct.',
  lost: 'Protection lost: this tab is blocked. Turn anonymity off to browse directly, or on again to resume.',
  'no-proxy': 'The local Allium proxy does not answer: requests of this tab fail while it is not running; none goes direct. See the options for how to start it.',
};
const ROLES = ['Guard', 'Middle', 'Exit'];
const REFRESH_MS = 700;

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const toggle = element<HTMLInputElement>('anonymous');
const status = element<HTMLParagraphElement>('status');
const circuitSection = element<HTMLElement>('circuit-section');
const circuitList = element<HTMLOListElement>('circuit');
const newCircuit = element<HTMLButtonElement>('new-circuit');

async function currentTab(): Promise<{ id: number; url?: string }> {
  const requested = Number(new URLSearchParams(location.search).get('tab'));
  const tab = Number.isInteger(requested) && requested > 0 ? await browser.tabs.get(requested) : (await browser.tabs.query({ active: true, currentWindow: true }))[0];
  if (tab?.id === undefined) throw new Error('no tab to show');
  return { id: tab.id, url: tab.url };
}

function relayItem(relay: RelayView, index: number): HTMLLIElement {
  const item = document.createElement('li');
  const role = document.createElement('span');
  role.className = 'role';
  role.textContent = ROLES[index] ?? `Hop ${index + 1}`;
  const id = document.createElement('span');
  id.className = 'mono relay-id';
  id.title = relay.id;
  id.textContent = relay.id.slice(0, 8) + (relay.nickname ? `  ${relay.nickname}` : '');
  const where = document.createElement('span');
  where.className = 'where';
  where.textContent = `${new URL(relay.url).host} · pool ${relay.pools.map((pool) => new URL(pool).host).join(', ')}`;
  item.append(role, id, where);
  return item;
}

function show(view: TabStatus): void {
  toggle.checked = view.anonymous && view.state !== 'lost';
  status.className = `status ${view.state}`;
  status.dataset.state = view.state;
  status.textContent = MESSAGES[view.state];
  if (view.detail && view.state !== 'ready') {
    const detail = document.createElement('span');
    detail.className = 'detail';
    detail.textContent = view.detail;
    status.append(detail);
  }
  circuitSection.hidden = !view.anonymous || view.state === 'lost';
  const shown = circuitList.dataset.ids ?? '';
  if (shown !== view.circuit.join(',')) {
    circuitList.replaceChildren(...view.relays.map(relayItem));
    circuitList.dataset.ids = view.circuit.join(',');
  }
  newCircuit.disabled = view.state !== 'ready';
}

function showError(err: unknown): void {
  status.className = 'status error';
  status.textContent = (err as Error)?.message ?? String(err);
}

async function main(): Promise<void> {
  const tab = await currentTab();
  element('page').textContent = tab.url ?? '';
  const refresh = () => ask({ type: 'allium:tab-status', tabId: tab.id }).then(show, showError);
  toggle.addEventListener('change', () => {
    toggle.disabled = true;
    ask({ type: 'allium:set-tab', tabId: tab.id, anonymous: toggle.checked })
      .then((view) => {
        // Firefox reopened the page in another tab: that one is the popup's tab from now on.
        tab.id = view.tabId;
        show(view);
      }, showError)
      .finally(() => (toggle.disabled = false));
  });
  newCircuit.addEventListener('click', () => {
    newCircuit.disabled = true;
    ask({ type: 'allium:new-circuit', tabId: tab.id }).then(show, showError);
  });
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main().catch(showError);
