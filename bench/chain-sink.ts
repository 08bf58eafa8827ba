// The end of the baseline chain: counts the bytes the last hop delivers. On {"until":N} it
// answers {"received":N} once N bytes in total have arrived since it started (a running total,
// so bytes that arrive before the command still count). Prints {"url":URL} once listening.
import type { RawData } from 'ws';
import { listenWebSocket } from './chain-socket.ts';
import { serveCommands } from './processes.ts';

let received = 0;
let waiter: { until: number; resolve: () => void } | undefined;
const server = await listenWebSocket((socket) => {
  socket.on('message', (data: RawData) => {
    received += (data as Buffer).length;
    if (waiter && received >= waiter.until) {
      waiter.resolve();
      waiter = undefined;
    }
  });
});

serveCommands(async (command: { until: number }) => {
  if (received < command.until) await new Promise<void>((resolve) => (waiter = { until: command.until, resolve }));
  return { received };
});
process.stdout.write(JSON.stringify({ url: `ws://127.0.0.1:${(server.address() as { port: number }).port}` }) + '\n');
