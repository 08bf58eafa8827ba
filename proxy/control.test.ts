// The control endpoint of `allium proxy`: who may use it (unit, over a stand-in client), and that
// what it says about a pair of SOCKS5 credentials is the circuit those credentials really get
// (`allium demo` and `allium proxy --control` as processes, curl as the SOCKS5 client).
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { request, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../node/log.ts';
import { startService, tempDir, type Service } from '../test/support/processes.ts';
import type { ControlClient } from './control-circuits.ts';
import { startControl, type RunningControl } from './control.ts';
import { loadControlToken } from './control-token.ts';

const quiet = createLogger('test', new Writable({ write: (_chunk, _encoding, done) => done() }));
const TOKEN = 'test-token-0123456789abcdefghijklmnop';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

/** One request with exactly these headers (fetch would add or forbid some, Origin and Host among them). */
function call(url: string, method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  const { host } = new URL(url);
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(`${url}${path}`, { method, headers: { host, ...headers } }, (res) => {
      let data = '';
      res.on('data', (chunk) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data ? (JSON.parse(data) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const bearer = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

describe('the control endpoint refuses anyone but the token holder, and every web page', () => {
  const client: ControlClient = {
    circuitFor: () => undefined,
    newCircuit: () => {},
    prepareCircuit: () => Promise.reject(new Error('not in this test')),
    onCircuitEvent: () => () => {},
    relays: async () => [],
  };
  let control: RunningControl;

  beforeAll(async () => {
    control = await startControl({ client, port: 0, token: TOKEN, log: quiet, socks: '127.0.0.1:9', pools: ['http://pool.test'] });
  });
  afterAll(() => control.close());

  it('answers the token holder', async () => {
    const answer = await call(control.url, 'GET', '/v1/status', bearer());
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ socks: '127.0.0.1:9', http: null, pools: ['http://pool.test'], relays: 0 });
    expect(answer.headers['cache-control']).toBe('no-store');
    // The extension's own origin is welcome (Firefox sends it with some requests).
    expect((await call(control.url, 'GET', '/v1/status', { ...bearer(), origin: 'moz-extension://0c5e6f9a-1111-2222-3333-444455556666' })).status).toBe(200);
  });

  it('refuses a request without the token, or with another one (401)', async () => {
    const none = await call(control.url, 'GET', '/v1/status');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await call(control.url, 'GET', '/v1/status', bearer(TOKEN + 'x'))).status).toBe(401);
    expect((await call(control.url, 'GET', '/v1/status', bearer(TOKEN.slice(1)))).status).toBe(401);
    expect((await call(control.url, 'GET', '/v1/status', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` })).status).toBe(401);
  });

  it('refuses web origins even with the token (403), "null" included', async () => {
    for (const origin of ['http://127.0.0.1:8000', 'https://example.org', 'null', 'file://']) {
      const answer = await call(control.url, 'GET', '/v1/status', { ...bearer(), origin });
      expect(answer.status, origin).toBe(403);
      expect(answer.body.socks).toBeUndefined();
    }
  });

  it('answers no CORS preflight and sends no CORS header', async () => {
    const preflight = await call(control.url, 'OPTIONS', '/v1/status', {
      origin: 'https://example.org',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    });
    expect(preflight.status).toBe(405);
    for (const answer of [preflight, await call(control.url, 'GET', '/v1/status', bearer()), await call(control.url, 'GET', '/v1/status')]) {
      expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    }
  });

  it('refuses a Host that is not the loopback listener (DNS rebinding)', async () => {
    const port = new URL(control.url).port;
    expect((await call(control.url, 'GET', '/v1/status', { ...bearer(), host: `rebound.example:${port}` })).status).toBe(403);
    expect((await call(control.url, 'GET', '/v1/status', { ...bearer(), host: `localhost:${port}` })).status).toBe(200);
  });

  it('takes JSON bodies only, and valid credentials', async () => {
    const text = await call(control.url, 'POST', '/v1/new-circuit', { ...bearer(), 'content-type': 'text/plain' }, '{"username":"a","password":"b"}');
    expect(text.status).toBe(415);
    const missing = await call(control.url, 'POST', '/v1/new-circuit', { ...bearer(), 'content-type': 'application/json' }, { username: 'a' });
    expect(missing.status).toBe(400);
    expect((await call(control.url, 'GET', '/v1/circuit?username=a', bearer())).status).toBe(400);
    expect((await call(control.url, 'GET', `/v1/circuit?username=${'u'.repeat(256)}&password=p`, bearer())).status).toBe(400);
    expect((await call(control.url, 'GET', '/v1/nothing', bearer())).status).toBe(404);
    expect((await call(control.url, 'GET', '/v1/circuit?username=a&password=b', bearer())).body).toEqual({ state: 'none', relays: [] });
  });
});

describe('the control token file', () => {
  it('is created once, readable by its owner only, and kept', () => {
    const file = join(tempDir('allium-token-'), 'nested', 'token');
    const first = loadControlToken(file);
    expect(first).toMatchObject({ created: true, exposed: false });
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadControlToken(file)).toMatchObject({ token: first.token, created: false });
  });
});

interface DemoReady {
  relays: { id: string; outbound: string }[];
  pool: string;
  poolKey: string;
}
interface ProxyReady {
  socks: string;
  http: string;
  control: string;
}

describe('allium proxy --control, over the demo network', () => {
  let demo: Service<DemoReady>;
  let proxy: Service<ProxyReady>;
  let site: Server;
  let peers: string[];
  let token: string;
  let tokenFile: string;

  beforeAll(async () => {
    peers = [];
    site = createServer((req, res) => {
      peers.push((req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
      res.end('seen');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    demo = await startService<DemoReady>(['demo', '--json', '--base-port', '0'], 20_000, { XDG_DATA_HOME: tempDir('allium-demo-') });
    tokenFile = join(tempDir('allium-control-'), 'token');
    // --pool-key=KEY: a key may begin with '-', which would read as an option.
    proxy = await startService<ProxyReady>(['proxy', '--json', `--pool=${demo.ready.pool}`, `--pool-key=${demo.ready.poolKey}`, '--socks', '0', '--http', '0', '--control', '0', '--control-token', tokenFile]);
    token = loadControlToken(tokenFile).token;
  }, 40_000);

  afterAll(async () => {
    await proxy?.stop();
    await demo?.stop();
    site?.close();
  });

  const curl = (user: string) =>
    new Promise<string>((resolve, reject) => {
      const url = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
      execFile('curl', ['-sS', '--max-time', '20', '--noproxy', '', '--socks5-hostname', `${user}:pw@${proxy.ready.socks}`, url], (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
  const circuit = async (user: string) => (await call(proxy.ready.control, 'GET', `/v1/circuit?username=${user}&password=pw`, bearer(token))).body as { state: string; relays: { id: string }[]; circuitId?: number };
  const exitAddress = (relays: { id: string }[]) => demo.ready.relays.find((r) => r.id === relays[2].id)?.outbound;

  it('prints the control URL in its ready line and made the token file', () => {
    expect(proxy.ready.control).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
  });

  it('reports the circuit that the same SOCKS5 credentials use, and a new one on request', async () => {
    expect((await circuit('tab-a')).state).toBe('none');
    expect(await curl('tab-a')).toBe('seen');
    const a = await circuit('tab-a');
    expect(a.state).toBe('open');
    expect(a.relays).toHaveLength(3);
    expect(peers.at(-1)).toBe(exitAddress(a.relays));

    // Other credentials: another circuit, and the site saw that circuit's exit.
    await curl('tab-b');
    const b = await circuit('tab-b');
    expect(`${b.relays[0].id}/${b.circuitId}`).not.toBe(`${a.relays[0].id}/${a.circuitId}`);
    expect(peers.at(-1)).toBe(exitAddress(b.relays));

    // Built ahead of any stream, then replaced.
    const built = await call(proxy.ready.control, 'POST', '/v1/circuit', { ...bearer(token), 'content-type': 'application/json' }, { username: 'tab-c', password: 'pw', host: '127.0.0.1' });
    expect(built.body.state).toBe('open');
    const renewed = await call(proxy.ready.control, 'POST', '/v1/new-circuit', { ...bearer(token), 'content-type': 'application/json' }, { username: 'tab-a', password: 'pw' });
    expect(renewed.body.state).toBe('none');
    await curl('tab-a');
    const again = await circuit('tab-a');
    expect(again.circuitId === a.circuitId && again.relays[0].id === a.relays[0].id).toBe(false);
    expect(peers.at(-1)).toBe(exitAddress(again.relays));
  });

  it('reports the proxy and its relays', async () => {
    const status = await call(proxy.ready.control, 'GET', '/v1/status', bearer(token));
    expect(status.body).toEqual({ socks: proxy.ready.socks, http: proxy.ready.http, pools: [demo.ready.pool], relays: demo.ready.relays.length });
  });
});
