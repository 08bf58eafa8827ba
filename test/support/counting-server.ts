// An HTTP origin that records every request that reaches it and can hold its answers, so a test
// can fail the circuit while a request waits and then tell whether the client retried (GET) or
// never replayed it (POST).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CountingServer {
  url: string;
  /** Method and path of every request whose head arrived, in order. */
  arrivals: string[];
  /** The next `count` requests get no answer until the server closes. */
  holdNext(count: number): void;
  /** Resolves once `count` requests in all have arrived. */
  arrived(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startCountingServer(): Promise<CountingServer> {
  const arrivals: string[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let toHold = 0;
  const server = http.createServer((req, res) => {
    arrivals.push(`${req.method} ${req.url}`);
    for (const waiter of waiters.filter((w) => arrivals.length >= w.count)) waiter.resolve();
    req.resume();
    if (toHold > 0) {
      toHold--;
      return;
    }
    req.on('end', () => res.end(`answer ${arrivals.length}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    holdNext(count) {
      toHold = count;
    },
    arrived(count) {
      if (arrivals.length >= count) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ count, resolve }));
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
