// Firefox: where the local `allium proxy` listens, kept in extension storage. The defaults are
// the proxy's own (SOCKS5 on 9050) and the control port the docs suggest (`--control 9052`); the
// token cannot have a default: the proxy makes it on first start, and the user pastes it once.
import browser from 'webextension-polyfill';
import type { ProxySetting } from './messages.ts';

export const DEFAULT_PROXY: ProxySetting = { socks: '127.0.0.1:9050', control: 'http://127.0.0.1:9052', token: '' };
const STORAGE_KEY = 'proxy';

export async function loadProxySetting(): Promise<ProxySetting> {
  const stored = (await browser.storage.local.get(STORAGE_KEY))[STORAGE_KEY] as ProxySetting | undefined;
  return stored ?? DEFAULT_PROXY;
}

export async function saveProxySetting(setting: ProxySetting): Promise<ProxySetting> {
  const checked = checkProxySetting(setting);
  await browser.storage.local.set({ [STORAGE_KEY]: checked });
  return checked;
}

/** Normalises the setting, or throws an Error that says what is wrong with it. */
export function checkProxySetting(setting: ProxySetting): ProxySetting {
  const socks = String(setting?.socks ?? '').trim();
  socksAddress(socks);
  let control: URL;
  try {
    control = new URL(String(setting?.control ?? '').trim());
  } catch {
    throw new Error(`"${setting?.control}" is not a URL (the proxy prints it: http://127.0.0.1:P)`);
  }
  if (control.protocol !== 'http:') throw new Error('the control endpoint is plain http:// on loopback');
  return { socks, control: control.origin, token: String(setting?.token ?? '').trim() };
}

/** "host:port" or "[v6]:port" → its parts, as proxy.onRequest wants them. */
export function socksAddress(address: string): { host: string; port: number } {
  const match = /^(\[[0-9a-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/i.exec(address);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new Error(`"${address}" is not a SOCKS5 address host:port (the proxy prints it, e.g. 127.0.0.1:9050)`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}
