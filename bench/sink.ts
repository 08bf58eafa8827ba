// The benchmark's destination, its own process as a real server would be: on TCP, a client sends
// a decimal byte count and a newline and gets that many bytes back, then FIN (bulk transfers);
// over HTTP, GET /bytes/N answers N bytes (first-byte latency of small fetches), and GET /page is
// a small web page with subresources (page loads in the extension's tabs, bench/extension.ts).
// Prints {"tcpPort":P,"httpUrl":URL} once listening.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** Random content, so nothing on the path could benefit from compressible data. */
const BLOCK = randomBytes(64 * 1024);

function sendBytes(socket: net.Socket, total: number): void {
  let left = total;
  const pump = () => {
    while (left > 0) {
      const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
      left -= chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
}

const tcp = net.createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {});
  let request = '';
  const onData = (data: Buffer) => {
    request += data.toString('latin1');
    const end = request.indexOf('\n');
    if (end < 0) return;
    socket.off('data', onData);
    sendBytes(socket, Number(request.slice(0, end)));
  };
  socket.on('data', onData);
});

/** `code` padded to `bytes` bytes with a comment, so that it stays valid HTML, CSS or JavaScript. */
const padded = (code: string, bytes: number, [open, close] = ['/*', '*/']) =>
  `${code}\n${open}${'x'.repeat(Math.max(0, bytes - code.length - open.length - close.length - 2))}${close}\n`;

/**
 * The page a tab loads: HTML, a stylesheet, a script and four images (random bytes, so nothing
 * compresses them; the browser fails to decode them, which still ends their load), 118 KiB in all.
 * The data: icon keeps the browser from asking for /favicon.ico.
 */
const IMAGES = [8, 16, 32, 32].map((kib, i) => `/bytes/${kib * 1024}?image=${i}`);
const PAGE: Record<string, { type: string; body: string }> = {
  '/page': {
    type: 'text/html; charset=utf-8',
    body: padded(
      `<!doctype html><html><head><meta charset="utf-8"><title>bench page</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/page.css"><script src="/page.js" defer></script></head>
<body><h1>bench page</h1>${IMAGES.map((src) => `<img src="${src}" width="16" height="16">`).join('')}</body></html>`,
      6 * 1024,
      ['<!--', '-->'],
    ),
  },
  '/page.css': { type: 'text/css', body: padded('body { font-family: sans-serif; } img { margin: 2px; }', 8 * 1024) },
  '/page.js': { type: 'text/javascript', body: padded("document.body.dataset.script = 'ran';", 16 * 1024) },
};

const web = http.createServer((req, res) => {
  // Every load of /page must reach the server, in every tab: nothing may come from a cache.
  const page = PAGE[req.url ?? ''];
  if (page) {
    res.writeHead(200, { 'content-type': page.type, 'content-length': Buffer.byteLength(page.body), 'cache-control': 'no-store' });
    res.end(page.body);
    return;
  }
  const match = /^\/bytes\/(\d+)(?:\?.*)?$/.exec(req.url ?? '');
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  const size = Math.min(Number(match[1]), BLOCK.length);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size, 'cache-control': 'no-store' });
  res.end(BLOCK.subarray(0, size));
});

const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const [tcpPort, httpPort] = await Promise.all([listen(tcp), listen(web)]);
process.stdout.write(JSON.stringify({ tcpPort, httpUrl: `http://127.0.0.1:${httpPort}` }) + '\n');
