// Fault injection: a reader that stops reading. Flow control (TPDP §5.4) must bound every buffer
// on the path — the origin is held back, and the relays' memory stays flat — whether the reader
// stops at the application (a fetch body nobody reads, twenty stalled streams) or at the TCP level
// (the client process stops reading its socket to the first relay). Reading again resumes the flow
// with every byte intact.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlliumClient } from '../../shared/client/client.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import { recordFigure } from '../support/figures.ts';
import { samplePeakRss } from '../support/memory-sampler.ts';
import { residentBytes } from '../support/processes.ts';
import { eventually, relayHealth } from '../support/relay-circuits.ts';
import { startProxiedNetwork, type ProxiedNetwork } from '../support/proxied-network.ts';
import { startEndlessSource } from '../support/tcp-source.ts';

const MiB = 1024 * 1024;
let proxied: ProxiedNetwork;
let network: ProxiedNetwork['network'];
let relays: DirectoryRelay[];
let proxies: ProxiedNetwork['proxies'];
let client: AlliumClient;

beforeAll(async () => {
  proxied = await startProxiedNetwork();
  ({ network, relays, proxies, client } = proxied);
}, 30_000);

afterAll(async () => {
  await proxied?.stop();
});

const pids = () => network.relays.map((r) => r.process.pid!);
const rss = () => Promise.all(pids().map((pid) => residentBytes(pid)));
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An origin that streams an endless body, counting what it managed to write. */
async function endlessOrigin() {
  const stats = { written: 0, closed: 0 };
  const chunk = Buffer.alloc(64 * 1024, 0x33);
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.on('close', () => stats.closed++);
    const pump = () => {
      while (!res.destroyed) {
        stats.written += chunk.length;
        if (!res.write(chunk)) return;
      }
    };
    res.on('drain', pump);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    stats,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('a reader that stops reading', () => {
  it('twenty fetch bodies nobody reads: the origin is held back, relay memory stays flat, cancelling frees everything', async () => {
    const origin = await endlessOrigin();
    try {
      const before = await rss();
      const sampler = samplePeakRss(pids());
      const responses = await Promise.all(Array.from({ length: 20 }, () => client.fetch(origin.url, { isolationKey: 'stalled-bodies' })));
      const readers = responses.map((r) => r.body!.getReader());
      await Promise.all(readers.map((reader) => reader.read()));
      await pause(1000);
      const stalledAt = origin.stats.written;
      await pause(800);
      const peaks = await sampler.stop();
      const heldBack = origin.stats.written - stalledAt;
      // Per stream: 240 cells (485 KB) of window, plus the kernel's loopback socket buffers at the
      // exit and the origin, which autotune to a few MiB each: the origin stops after a bounded amount.
      expect(stalledAt).toBeLessThan(20 * 8 * MiB);
      expect(heldBack).toBeLessThan(512 * 1024);
      const growth = pids().map((pid, i) => peaks.get(pid)! - before[i]);
      for (const bytes of growth) expect(bytes).toBeLessThan(64 * MiB);

      for (const reader of readers) await reader.cancel();
      const freedMs = await eventually(async () => (await Promise.all(relays.map((r) => relayHealth(r.url)))).every((h) => h.streams === 0) && origin.stats.closed === 20, 5000, 'streams and origin connections closed');
      recordFigure('fault: 20 fetch bodies unread for 1.8 s', {
        originBytesBeforeStall: stalledAt,
        originBytesWhileStalled: heldBack,
        relayPeakRssGrowthMiB: growth.map((b) => Number((b / MiB).toFixed(1))),
        cancelFreedMs: freedMs,
      });
    } finally {
      await origin.close();
    }
  });

  it('the client stops reading its TCP socket: the relays hold at most a circuit window, then resume intact', async () => {
    const source = await startEndlessSource();
    try {
      const stream = await client.connect('127.0.0.1', source.port, { isolationKey: 'tcp-stall' });
      const reader = stream.readable.getReader();
      const readBytes = async (count: number) => {
        for (let got = 0; got < count; ) {
          const { value } = await reader.read();
          expect(value!.every((byte) => byte === 0x5a)).toBe(true);
          got += value!.length;
        }
      };
      await readBytes(MiB);
      const guard = proxies.get(client.circuitFor('tcp-stall')!.relays[0].url)!;
      const before = await rss();
      const sampler = samplePeakRss(pids());
      guard.stallTowardClient(true);
      await pause(1000);
      const stalledAt = source.stats.written;
      await pause(800);
      const peaks = await sampler.stop();
      const heldBack = source.stats.written - stalledAt;
      expect(heldBack).toBeLessThan(512 * 1024);
      const growth = pids().map((pid, i) => peaks.get(pid)! - before[i]);
      for (const bytes of growth) expect(bytes).toBeLessThan(32 * MiB);

      guard.stallTowardClient(false);
      await readBytes(4 * MiB);
      await reader.cancel();
      recordFigure('fault: client stops reading its TCP socket for 1.8 s', {
        sourceBytesWhileStalled: heldBack,
        relayPeakRssGrowthMiB: growth.map((b) => Number((b / MiB).toFixed(1))),
        resumedIntact: true,
      });
    } finally {
      await source.close();
    }
  });
});
