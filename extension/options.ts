// The options page: the pools the extension takes relays from (URL and pinned key).
import { ask, type PoolSetting } from './messages.ts';

const rows = document.getElementById('rows') as HTMLTableSectionElement;
const form = document.getElementById('pools') as HTMLFormElement;
const status = document.getElementById('status') as HTMLParagraphElement;

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

function say(text: string, ok: boolean): void {
  status.hidden = false;
  status.className = `status ${ok ? 'ready' : 'error'}`;
  status.textContent = text;
}

function entered(): PoolSetting[] {
  return [...rows.rows].map((row) => ({
    url: (row.querySelector('input[name=url]') as HTMLInputElement).value,
    key: (row.querySelector('input[name=key]') as HTMLInputElement).value,
  }));
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  ask({ type: 'allium:set-pools', pools: entered() }).then(
    ({ pools }) => say(`Saved ${pools.length} pool${pools.length === 1 ? '' : 's'}. Anonymous tabs build new circuits from them.`, true),
    (err: Error) => say(err.message, false),
  );
});
document.getElementById('add')!.addEventListener('click', () => addRow({ url: '', key: '' }));

ask({ type: 'allium:get-pools' }).then(
  ({ pools }) => pools.forEach(addRow),
  (err: Error) => say(err.message, false),
);
