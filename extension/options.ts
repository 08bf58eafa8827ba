// The options page: the pools the extension takes relays from (Chrome, which builds circuits
// itself), or where the local `allium proxy` listens (Firefox, where the proxy builds them).
import { ask, type PoolSetting, type ProxyCheck, type ProxySetting } from './messages.ts';
import { routesWithDebugger } from './tab-routing.ts';

const element = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const rows = element<HTMLTableSectionElement>('rows');

function say(status: HTMLElement, text: string, ok: boolean): void {
  status.hidden = false;
  status.className = `status ${ok ? 'ready' : 'error'}`;
  status.textContent = text;
}

function input(name: string, value: string, placeholder: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  const field = document.createElement('input');
  Object.assign(field, { type: 'text', name, value, placeholder, spellcheck: false });
  cell.append(field);
  return cell;
}

function addRow(pool: PoolSetting): void {
  const row = document.createElement('tr');
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.textContent = 'Remove';
  remove.addEventListener('click', () => row.remove());
  const cell = document.createElement('td');
  cell.append(remove);
  row.append(input('url', pool.url, 'https://pool.example.org'), input('key', pool.key, 'the key the pool prints (43 characters)'), cell);
  rows.append(row);
}

function enteredPools(): PoolSetting[] {
  return [...rows.rows].map((row) => ({
    url: (row.querySelector('input[name=url]') as HTMLInputElement).value,
    key: (row.querySelector('input[name=key]') as HTMLInputElement).value,
  }));
}

function setUpPools(): void {
  const status = element('pools-status');
  element('pools-section').hidden = false;
  element('pools').addEventListener('submit', (event) => {
    event.preventDefault();
    ask({ type: 'allium:set-pools', pools: enteredPools() }).then(
      ({ pools }) => say(status, `Saved ${pools.length} pool${pools.length === 1 ? '' : 's'}. Anonymous tabs build new circuits from them.`, true),
      (err: Error) => say(status, err.message, false),
    );
  });
  element('add').addEventListener('click', () => addRow({ url: '', key: '' }));
  ask({ type: 'allium:get-pools' }).then(
    ({ pools }) => pools.forEach(addRow),
    (err: Error) => say(status, err.message, false),
  );
}

function setUpProxy(): void {
  const status = element('proxy-status');
  const fields = { socks: element<HTMLInputElement>('socks'), control: element<HTMLInputElement>('control'), token: element<HTMLInputElement>('token') };
  const show = ({ proxy, check }: { proxy: ProxySetting; check: ProxyCheck }) => {
    for (const name of ['socks', 'control', 'token'] as const) fields[name].value = proxy[name];
    if (check.ok) say(status, `The local proxy answers: ${check.relays} relays from ${check.pools.join(', ')}; SOCKS5 on ${check.socks}.`, true);
    else say(status, check.error, false);
  };
  element('proxy-section').hidden = false;
  element('proxy').addEventListener('submit', (event) => {
    event.preventDefault();
    say(status, 'Checking…', true);
    ask({ type: 'allium:set-proxy', proxy: { socks: fields.socks.value, control: fields.control.value, token: fields.token.value } }).then(show, (err: Error) => say(status, err.message, false));
  });
  ask({ type: 'allium:get-proxy' }).then(show, (err: Error) => say(status, err.message, false));
}

if (routesWithDebugger()) setUpPools();
else setUpProxy();
