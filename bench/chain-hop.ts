// One hop of the baseline: a bare forwarding WebSocket relay (`ws` with bufferutil, as the
// relays use), the shape of an Allium relay without TPDP. It connects to --next, accepts one
// upstream connection and forwards every message as it is, or with --aes through an
// AES-256-CTR layer (node:crypto, as a relay's per-hop layer). Prints {"url":URL} once ready.
import { createCipheriv, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { RawData } from 'ws';
import { forwardWithBackpressure, listenWebSocket, openWebSocket } from './chain-socket.ts';

const { values } = parseArgs({ options: { next: { type: 'string' }, aes: { type: 'boolean' } } });
const next = await openWebSocket(values.next!);
const server = await listenWebSocket((upstream) => {
  const cipher = values.aes ? createCipheriv('aes-256-ctr', randomBytes(32), randomBytes(16)) : undefined;
  upstream.on('message', (data: RawData) => {
    const message = data as Buffer;
    forwardWithBackpressure(upstream, next, cipher ? cipher.update(message) : message);
  });
});
process.stdout.write(JSON.stringify({ url: `ws://127.0.0.1:${(server.address() as { port: number }).port}` }) + '\n');
