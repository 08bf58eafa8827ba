// Firefox: the client of the local proxy's control endpoint (`allium proxy --control`, see
// proxy/control.ts), which tells which circuit a pair of SOCKS5 credentials gets.
import type { ProxyCheck, ProxySetting, RelayView } from './messages.ts';
import { socksAddress } from './proxy-settings.ts';
import type { SocksCredentials } from './tab-credentials.ts';

export interface CircuitInfo {
  state: 'none' | 'building' | 'open' | 'failed';
  relays: RelayView[];
  circuitId?: number;
  error?: { code: string; message: string };
}

/** The popup asks every 0.7 s; a proxy that takes longer than this is as good as gone. */
const TIMEOUT_MS = 3_000;
export const START_HINT = 'start it with: npx allium proxy --pool URL --pool-key KEY --control 9052';

export class ControlError extends Error {}

export function circuitOf(setting: ProxySetting, credentials: SocksCredentials): Promise<CircuitInfo> {
  return call(setting, 'GET', `/v1/circuit?${new URLSearchParams({ ...credentials })}`);
}

/** Builds the circuit now (`host`: the tab's, which may need an exit that reaches private addresses). */
export function prepareCircuit(setting: ProxySetting, credentials: SocksCredentials, host: string): Promise<CircuitInfo> {
  return call(setting, 'POST', '/v1/circuit', { ...credentials, host }, 0);
}

/** Later streams of these credentials get a new circuit; the current one closes once unused. */
export function retireCircuit(setting: ProxySetting, credentials: SocksCredentials): Promise<CircuitInfo> {
  return call(setting, 'POST', '/v1/new-circuit', credentials);
}

export async function checkProxy(setting: ProxySetting): Promise<ProxyCheck> {
  try {
    const status = await call<{ socks: string | null; pools: string[]; relays: number | null; error?: string }>(setting, 'GET', '/v1/status', undefined, 8_000);
    if (status.socks !== null && socksAddress(status.socks).port !== socksAddress(setting.socks).port) return { ok: false, error: `the proxy's SOCKS5 front end is ${status.socks}, not ${setting.socks}: correct the SOCKS5 address` };
    if (status.relays === null) return { ok: false, error: `the proxy answers but has no relay list: ${status.error ?? 'no pool reachable'}` };
    return { ok: true, socks: status.socks, pools: status.pools, relays: status.relays };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/** `timeoutMs` 0: no limit (a circuit build has its own). */
async function call<T>(setting: ProxySetting, method: string, path: string, body?: object, timeoutMs = TIMEOUT_MS): Promise<T> {
  if (setting.token === '') throw new ControlError('the control token is not set: paste it in the options (the proxy keeps it in ~/.local/share/allium/proxy-control-token)');
  let response: Response;
  try {
    response = await fetch(`${setting.control}${path}`, {
      method,
      headers: { authorization: `Bearer ${setting.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      credentials: 'omit',
      cache: 'no-store',
      ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
    });
  } catch {
    throw new ControlError(`the local Allium proxy does not answer at ${setting.control}; ${START_HINT}`);
  }
  if (response.status === 401) throw new ControlError('the local proxy refused the control token: paste the content of its token file in the options');
  const answer = (await response.json().catch(() => ({}))) as T & { error?: string };
  if (!response.ok) throw new ControlError(`the local proxy's control endpoint answered ${response.status}: ${answer.error ?? response.statusText}`);
  return answer;
}
