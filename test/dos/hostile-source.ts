// A hostile source as its own process, so that its work does not slow the test process that
// measures the well-behaved client. Usage: node test/dos/hostile-source.ts '<json>' — prints one
// JSON line with what it saw. Modes: "connections" (TCP connections held open), "creates" (links
// that send MAX_CELLS_PER_MESSAGE CREATE cells per message as fast as the relay takes them),
// "oversized" (links that send one message larger than MAX_CELLS_PER_MESSAGE cells).
import net from 'node:net';
import WebSocket from 'ws';
import { fromBase64Url } from '../../shared/bytes.ts';
import { CELL_COMMANDS, CELL_SIZE, LINK_SUBPROTOCOL, MAX_CELLS_PER_MESSAGE, MAX_MESSAGE_SIZE, decodeCells, encodeMessage } from '../../shared/cell.ts';
import { encodeCreate } from '../../shared/control-cells.ts';
import { clientHandshakeStart } from '../../shared/handshake.ts';
import { nodeCrypto } from '../../node/crypto.ts';

interface Order {
  mode: 'connections' | 'creates' | 'oversized';
  url: string;
  from: string;
  count: number;
  ms: number;
  identityKey?: string;
  onionKey?: string;
}

const order = JSON.parse(process.argv[2]) as Order;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function link(): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(order.url, [LINK_SUBPROTOCOL], { localAddress: order.from, perMessageDeflate: false });
    socket.on('open', () => resolve(socket));
    socket.on('error', () => resolve(undefined));
    socket.on('close', () => resolve(undefined));
  });
}

async function connections() {
  const { port } = new URL(order.url);
  const sockets: net.Socket[] = [];
  for (let i = 0; i < order.count; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: order.from });
    socket.on('error', () => {});
    socket.resume(); // a paused socket would never see the relay's FIN
    sockets.push(socket);
    if (i % 100 === 99) await pause(50);
  }
  await pause(order.ms);
  const held = sockets.filter((s) => !s.destroyed && s.readyState === 'open').length;
  for (const socket of sockets) socket.destroy();
  return { opened: order.count, held };
}

async function creates() {
  const create = encodeCreate(clientHandshakeStart(nodeCrypto, fromBase64Url(order.identityKey!), fromBase64Url(order.onionKey!)).message);
  const links = (await Promise.all(Array.from({ length: order.count }, link))).filter((s): s is WebSocket => s !== undefined);
  const seen = { created: 0, refused: 0, closes: {} as Record<number, number> };
  for (const socket of links) {
    socket.on('message', (data: Buffer) => {
      for (const cell of decodeCells(data)) {
        if (cell.command === CELL_COMMANDS.CREATED) seen.created++;
        else if (cell.command === CELL_COMMANDS.DESTROY) seen.refused++;
      }
    });
    socket.on('close', (code) => (seen.closes[code] = (seen.closes[code] ?? 0) + 1));
  }
  let sent = 0;
  let nextId = 1;
  const until = Date.now() + order.ms;
  while (Date.now() < until) {
    for (const socket of links) {
      if (socket.readyState !== WebSocket.OPEN || socket.bufferedAmount > 1024 * 1024) continue;
      socket.send(encodeMessage(Array.from({ length: MAX_CELLS_PER_MESSAGE }, () => ({ circuitId: nextId++, command: CELL_COMMANDS.CREATE, body: create }))));
      sent += MAX_CELLS_PER_MESSAGE;
    }
    await pause(2);
  }
  for (const socket of links) socket.terminate();
  return { links: links.length, createsSent: sent, ...seen };
}

async function oversized() {
  const links = (await Promise.all(Array.from({ length: order.count }, link))).filter((s): s is WebSocket => s !== undefined);
  const codes = await Promise.all(
    links.map(
      (socket) =>
        new Promise<number>((resolve) => {
          socket.on('close', (code) => resolve(code));
          socket.send(new Uint8Array(MAX_MESSAGE_SIZE + CELL_SIZE));
        }),
    ),
  );
  return { links: links.length, closedWith1009: codes.filter((c) => c === 1009).length };
}

const result = order.mode === 'connections' ? await connections() : order.mode === 'creates' ? await creates() : await oversized();
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(0);
