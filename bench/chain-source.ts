// The source of the baseline chain: connects to the first hop and, on {"send":N}, sends N bytes
// of random data in 16 KiB messages, never more than HIGH_WATER bytes ahead of the socket.
// Answers {"sent":N} once everything is handed to the socket. Prints {} once connected.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { HIGH_WATER, openWebSocket } from './chain-socket.ts';
import { serveCommands } from './processes.ts';

const MESSAGE = randomBytes(16 * 1024);
const { values } = parseArgs({ options: { next: { type: 'string' } } });
const socket = await openWebSocket(values.next!);

function send(total: number): Promise<void> {
  return new Promise((resolve) => {
    let left = total;
    let waiting = false;
    const pump = () => {
      while (left > 0) {
        if (socket.bufferedAmount > HIGH_WATER) {
          waiting = true;
          return;
        }
        const message = left >= MESSAGE.length ? MESSAGE : MESSAGE.subarray(0, left);
        left -= message.length;
        socket.send(message, sent);
      }
      resolve();
    };
    const sent = () => {
      if (!waiting || socket.bufferedAmount > HIGH_WATER / 4) return;
      waiting = false;
      pump();
    };
    pump();
  });
}

serveCommands(async (command: { send: number }) => {
  await send(command.send);
  return { sent: command.send };
});
process.stdout.write('{}\n');
