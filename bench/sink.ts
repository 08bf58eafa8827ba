// The benchmark's destination, its own process as a real server would be: on TCP, a client sends
// a decimal byte count and a newline and gets that many bytes back, then FIN (bulk transfers);
// over HTTP, GET /bytes/N answers N bytes (first-byte latency of small fetches).
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

const web = http.createServer((req, res) => {
  const match = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
  if (!match) {
    res.writeHead(404).end();
    return;
  }
  const size = Math.min(Number(match[1]), BLOCK.length);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  res.end(BLOCK.subarray(0, size));
});

const listen = (server: net.Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const [tcpPort, httpPort] = await Promise.all([listen(tcp), listen(web)]);
process.stdout.write(JSON.stringify({ tcpPort, httpUrl: `http://127.0.0.1:${httpPort}` }) + '\n');
