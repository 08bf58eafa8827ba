// A test site on two origins (http://127.0.0.1:A and http://localhost:B) whose page makes every
// kind of request a tab can make: navigation, stylesheet, image, favicon, script, cross-origin
// fetch, cross-site iframe with its own subresources and fetch, dedicated worker, a service
// worker that fetches on its own and serves later navigations, WebSocket, beacon, link target.
// Both servers record the peer address of every TCP connection and of every request, so a test
// can tell direct traffic (127.0.0.1) from exit traffic (a relay's outbound address).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { WebSocketServer } from 'ws';

export interface Hit {
  origin: 'main' | 'cross';
  path: string;
  peer: string;
  cookie?: string;
}

export interface TestSite {
  /** http://127.0.0.1:A */
  main: string;
  /** http://localhost:B */
  cross: string;
  hits: Hit[];
  /** Peer addresses of TCP connections, WebSocket attempts included. */
  connections: { origin: 'main' | 'cross'; peer: string }[];
  /** The page of a run: every path of a run starts with /RUN/, so runs do not share service workers. */
  pageUrl(run: string): string;
  /**
   * Paths every complete load of a run must request (before the link is followed); the service
   * worker's only where one may be registered (anonymous tabs refuse them).
   */
  expectedPaths(run: string, serviceWorker: boolean): string[];
  close(): Promise<void>;
}

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

function pageHtml(run: string, cross: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>allium test page</title>
<link rel="icon" href="/${run}/favicon.png">
<link rel="stylesheet" href="/${run}/style.css">
</head><body>
<h1>Test page</h1>
<img id="image" src="/${run}/image.png">
<iframe id="frame" src="${cross}/${run}/frame.html"></iframe>
<a id="next" href="/${run}/next.html">next page</a>
<a id="new-tab" href="/${run}/opened.html" target="_blank">in a new tab</a>
<script src="/${run}/page.js"></script>
</body></html>`;
}

function pageScript(run: string, cross: string): string {
  return `
const done = (key, value) => { document.body.dataset[key] = String(value); };
fetch('${cross}/${run}/api.json').then((r) => r.json()).then((j) => done('api', j.ok), (e) => done('api', 'error ' + e));
new Worker('/${run}/worker.js').onmessage = (e) => done('worker', e.data);
navigator.serviceWorker.register('/${run}/sw.js').then(() => navigator.serviceWorker.ready).then(() => done('sw', 'ready'), (e) => done('sw', 'error ' + e));
const socket = new WebSocket('ws://127.0.0.1:' + location.port + '/${run}/socket');
socket.onopen = () => done('socket', 'open');
socket.onerror = () => done('socket', 'error');
done('beacon', navigator.sendBeacon('/${run}/beacon', 'beacon body'));
`;
}

const WORKER = (run: string) => `fetch('/${run}/worker-fetch').then((r) => r.text()).then((t) => postMessage(t), (e) => postMessage('error ' + e));`;

function serviceWorker(run: string, cross: string): string {
  return `
self.addEventListener('install', (event) => {
  self.skipWaiting();
  event.waitUntil(Promise.all([fetch('/${run}/sw-fetch'), fetch('${cross}/${run}/sw-cross', { mode: 'cors' })]));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
// Navigations and subresources of controlled pages are fetched by the worker itself.
self.addEventListener('fetch', (event) => event.respondWith(fetch(event.request)));
`;
}

function frameHtml(run: string): string {
  return `<!doctype html><html><head><link rel="stylesheet" href="/${run}/frame.css"></head>
<body><img src="/${run}/frame.png"><script src="/${run}/frame.js"></script></body></html>`;
}

const NEXT = (run: string) => `<!doctype html><html><head><title>next</title></head><body><img src="/${run}/next.png"><p id="arrived">next page</p></body></html>`;

export async function startTestSite(): Promise<TestSite> {
  const hits: Hit[] = [];
  const connections: TestSite['connections'] = [];
  const ports: Record<'main' | 'cross', number> = { main: 0, cross: 0 };
  const urls = () => ({ main: `http://127.0.0.1:${ports.main}`, cross: `http://localhost:${ports.cross}` });

  const sockets = new WebSocketServer({ noServer: true });
  const serve = (origin: 'main' | 'cross') => {
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const [, run, file] = /^\/([^/]+)\/(.*)$/.exec(url.pathname) ?? [];
      hits.push({ origin, path: url.pathname, peer: peerOf(req.socket.remoteAddress), ...(req.headers.cookie ? { cookie: req.headers.cookie } : {}) });
      const { main, cross } = urls();
      const reply = (type: string, body: string | Buffer, headers: http.OutgoingHttpHeaders = {}) => {
        res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', 'access-control-allow-origin': '*', ...headers });
        res.end(body);
      };
      req.resume();
      if (!run) return reply('text/plain', 'test site');
      switch (file) {
        case '':
        case 'index.html':
          return reply('text/html', pageHtml(run, cross));
        case 'page.js':
          return reply('text/javascript', pageScript(run, cross));
        case 'worker.js':
          return reply('text/javascript', WORKER(run));
        case 'sw.js':
          return reply('text/javascript', serviceWorker(run, cross));
        case 'frame.html':
          return reply('text/html', frameHtml(run));
        case 'frame.js':
          return reply('text/javascript', `fetch('/${run}/frame-fetch').then((r) => r.text()).then((t) => { document.body.dataset.fetched = t; });`);
        case 'style.css':
        case 'frame.css':
          return reply('text/css', 'body { font-family: sans-serif; }');
        case 'image.png':
        case 'frame.png':
        case 'next.png':
        case 'favicon.png':
          return reply('image/png', PNG);
        case 'next.html':
        case 'opened.html':
          return reply('text/html', NEXT(run));
        case 'compressed':
          // As servers do: gzip only for clients that accept it.
          if (!/gzip/.test(String(req.headers['accept-encoding']))) return reply('text/plain', 'not compressed');
          return reply('text/plain', gzipSync('compressed and decoded'), { 'content-encoding': 'gzip' });
        case 'check':
          return reply('text/plain', req.headers.cookie ?? 'no cookie');
        case 'api.json':
          return reply('application/json', '{"ok":true}');
        case 'set-cookie':
          return reply('text/plain', 'cookie set', { 'set-cookie': `${url.searchParams.get('name') ?? 'c'}=${url.searchParams.get('value') ?? '1'}; Path=/; HttpOnly` });
        default:
          return reply('text/plain', `${origin} ${file}`);
      }
    });
    server.on('connection', (socket) => connections.push({ origin, peer: peerOf(socket.remoteAddress) }));
    server.on('upgrade', (req, socket, head) => {
      hits.push({ origin, path: new URL(req.url ?? '/', 'http://x').pathname, peer: peerOf(req.socket.remoteAddress) });
      sockets.handleUpgrade(req, socket, head, (ws) => ws.close());
    });
    return server;
  };

  const servers = { main: serve('main'), cross: serve('cross') };
  for (const origin of ['main', 'cross'] as const) {
    await new Promise<void>((resolve) => servers[origin].listen(0, '127.0.0.1', resolve));
    ports[origin] = (servers[origin].address() as AddressInfo).port;
  }
  const { main, cross } = urls();
  return {
    main,
    cross,
    hits,
    connections,
    pageUrl: (run) => `${main}/${run}/`,
    expectedPaths: (run, serviceWorker) =>
      ['', 'style.css', 'image.png', 'page.js', 'worker.js', 'worker-fetch', 'beacon', 'frame.html', 'frame.css', 'frame.png', 'frame.js', 'frame-fetch', 'api.json']
        .concat(serviceWorker ? ['sw.js', 'sw-fetch', 'sw-cross'] : [])
        .map((file) => `/${run}/${file}`),
    close: () =>
      Promise.all(
        Object.values(servers).map((server) => {
          server.closeAllConnections();
          return new Promise((resolve) => server.close(resolve));
        }),
      ).then(() => undefined),
  };
}

function peerOf(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}
