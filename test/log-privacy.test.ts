// Logs never record users unless the operator asks (issue 8): a whole demo session at debug
// level — `allium fetch` of the site, of a destination of the test's own and of a refused one,
// `allium login`, SOCKS5 and HTTP traffic through `allium proxy`, a direct link to a relay and a
// direct request to the site — leaves no client address, no destination, no URL path and no
// payload in the stderr of any service. The same session with --log-sensitive does show the
// addresses, destinations and paths (payload is never logged), so the first check can fail.
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { openWebSocketLink } from '../shared/websocket-link.ts';
import { nodeWebSocketFactory } from '../node/websocket.ts';
import { runCli, startService, tempDir, type DemoReady, type Service } from './support/processes.ts';

interface ProxyReady {
  socks: string;
  http: string;
}

/** Source addresses the test's own connections come from, so each can be looked for in the logs. */
const FROM = { socks: '127.0.0.77', http: '127.0.0.78', link: '127.0.0.79', site: '127.0.0.80' };
const tag = Math.random().toString(36).slice(2, 10);
const MARK = {
  fetchPath: `/fetched-${tag}`,
  refusedPath: `/refused-${tag}`,
  socksPath: `/socks-${tag}`,
  httpPath: `/http-proxied-${tag}`,
  payload: `PAYLOAD-${tag}-MARKER`,
};

/** The test's destination: every path answers with the payload marker. */
async function destination() {
  const server = http.createServer((req, res) => res.end(`${MARK.payload} ${req.url}\n`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Connects from `localAddress`, lets `talk` speak, and reads until the peer closes; with the source port used. */
function exchange(port: number, localAddress: string, talk: (socket: net.Socket) => void): Promise<{ localPort: number; received: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const chunks: Buffer[] = [];
    let localPort = 0;
    socket.on('connect', () => {
      localPort = socket.localPort!;
      talk(socket);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ localPort, received: Buffer.concat(chunks).toString('latin1') }));
    socket.setTimeout(20_000, () => socket.destroy(new Error('exchange timed out')));
  });
}

/** SOCKS5 without authentication, CONNECT to host:port by name, then an HTTP request. */
function socksRequest(socket: net.Socket, host: string, port: number, path: string): void {
  let stage = 0;
  socket.write(Uint8Array.of(5, 1, 0));
  socket.on('data', (chunk) => {
    if (stage === 0 && chunk[1] === 0) {
      stage = 1;
      const name = Buffer.from(host);
      socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
    } else if (stage === 1 && chunk[0] === 5 && chunk[1] === 0) {
      stage = 2;
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
    }
  });
}

interface Session {
  logs: string;
  seen: { socksPort: number; httpPort: number; destination: string; refused: string };
}

async function runSession(sensitive: boolean): Promise<Session> {
  const env = { ALLIUM_LOG: 'debug', XDG_DATA_HOME: tempDir('allium-log-privacy-') };
  const flag = sensitive ? ['--log-sensitive'] : [];
  const dest = await destination();
  const refused = await closedPort();
  const services: Service<unknown>[] = [];
  try {
    const demo = await startService<DemoReady>(['demo', '--json', '--base-port', '0', '--relays', '3', ...flag], 20_000, env);
    services.push(demo);
    const pools = ['--pool', demo.ready.pool, '--pool-key', demo.ready.poolKey];
    const site = await runCli(['fetch', ...pools, `${demo.ready.site}/`], undefined, 30_000, env);
    expect(site.code).toBe(0);
    const fetched = await runCli(['fetch', ...pools, `http://127.0.0.1:${dest.port}${MARK.fetchPath}`], undefined, 30_000, env);
    expect(fetched.stdout.toString()).toContain(MARK.payload);
    const failed = await runCli(['fetch', ...pools, `http://127.0.0.1:${refused}${MARK.refusedPath}`], undefined, 30_000, env);
    expect(failed.code).not.toBe(0);
    const login = await runCli(['login', ...pools, '--site', demo.ready.site, '--user', demo.ready.user.name], demo.ready.user.password + '\n', 30_000, env);
    expect(login.code).toBe(0);

    const proxy = await startService<ProxyReady>(['proxy', '--json', '--socks', '0', '--http', '0', ...pools, ...flag], 20_000, env);
    services.push(proxy);
    const socks = await exchange(Number(proxy.ready.socks.split(':')[1]), FROM.socks, (s) => socksRequest(s, '127.0.0.1', dest.port, MARK.socksPath));
    expect(socks.received).toContain(MARK.payload);
    const viaHttp = await exchange(Number(proxy.ready.http.split(':')[1]), FROM.http, (s) =>
      s.write(`GET http://127.0.0.1:${dest.port}${MARK.httpPath} HTTP/1.1\r\nHost: 127.0.0.1:${dest.port}\r\nConnection: close\r\n\r\n`),
    );
    expect(viaHttp.received).toContain(MARK.payload);

    // A link straight to a relay, and a request straight to the site, from addresses of their own.
    const link = await openWebSocketLink(nodeWebSocketFactory({ localAddress: FROM.link }), demo.ready.relays[0].url, 5000);
    link.close('DONE', 'test over');
    const direct = await exchange(Number(new URL(demo.ready.site).port), FROM.site, (s) =>
      s.write(`GET /secret HTTP/1.1\r\nHost: site\r\nAuthorization: SCRAM-SHA-256 data=bm90IHNjcmFt\r\nConnection: close\r\n\r\n`),
    );
    expect(direct.received).toMatch(/^HTTP\/1\.1 400/);
    // The site logs a bad login from the relay-list lookup's callback: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const service of services.reverse()) await service.stop();
    return {
      logs: services.map((s) => s.stderr()).join('\n'),
      seen: { socksPort: socks.localPort, httpPort: viaHttp.localPort, destination: `127.0.0.1:${dest.port}`, refused: `127.0.0.1:${refused}` },
    };
  } finally {
    for (const service of services) await service.stop();
    await dest.close();
  }
}

/** What a log must not hold: every client address and port, destination, path and the payload. */
function traces(session: Session): Record<string, string | RegExp> {
  return {
    'SOCKS client address': FROM.socks,
    'HTTP proxy client address': FROM.http,
    'relay link client address': FROM.link,
    'site client address': FROM.site,
    'SOCKS client port': new RegExp(`:${session.seen.socksPort}\\b`),
    'HTTP proxy client port': new RegExp(`:${session.seen.httpPort}\\b`),
    destination: session.seen.destination,
    'refused destination': session.seen.refused,
    'fetched path': MARK.fetchPath,
    'refused path': MARK.refusedPath,
    'HTTP proxy path': MARK.httpPath,
    'SOCKS path': MARK.socksPath,
    'user name': '"user":"demo"',
    payload: MARK.payload,
  };
}

const found = (logs: string, trace: string | RegExp) => (typeof trace === 'string' ? logs.includes(trace) : trace.test(logs));

describe('log privacy', () => {
  const sessions: Promise<Session>[] = [];
  afterAll(() => Promise.allSettled(sessions));

  it('a debug-level demo session logs no client address, destination, path or payload', async () => {
    const session = runSession(false);
    sessions.push(session);
    const { logs, ...rest } = await session;
    // The logs are real: debug lines from every part were written, with scrubbed fields.
    for (const line of ['"exit stream"', '"SOCKS5 connection"', '"HTTP proxy request"', '"link accepted"', '"login succeeded"', '"malformed SCRAM credentials"', '"exit fetch failed"']) {
      expect(logs, line).toContain(line);
    }
    expect(logs).toContain('[scrubbed]');
    const leaks = Object.entries(traces({ logs, ...rest })).filter(([, trace]) => found(logs, trace));
    expect(leaks.map(([what]) => what)).toEqual([]);
  }, 120_000);

  it('with --log-sensitive the same session shows them (payload excepted: it is never logged)', async () => {
    const session = runSession(true);
    sessions.push(session);
    const { logs, ...rest } = await session;
    const all = traces({ logs, ...rest });
    const shown = Object.entries(all).filter(([, trace]) => found(logs, trace)).map(([what]) => what);
    // A SOCKS path travels inside the client's TCP bytes: payload, which no log ever holds.
    expect(shown.sort()).toEqual(Object.keys(all).filter((what) => what !== 'payload' && what !== 'SOCKS path').sort());
  }, 120_000);
});
