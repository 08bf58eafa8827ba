// Onion-key rotation on real relay processes (docs/TPDP.md §4.2.1): relays rotate every 5 s with
// a 5 s grace, so one test sees a rotation, the grace period and its end.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientCircuit } from '../shared/client/circuit.ts';
import { toByteStream } from '../shared/client/byte-stream.ts';
import { fetchDirectory, type DirectoryRelay } from '../shared/directory.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { startTestNetwork } from './support/processes.ts';
import { circuitThrough } from './support/relay-circuits.ts';

const PERIOD_S = 5;

/** Sends a line through a connect stream to the echo server and reads it back. */
async function echo(circuit: ClientCircuit, port: number, text: string): Promise<string> {
  const stream = toByteStream(await circuit.openStream({ kind: 'connect', host: '127.0.0.1', port }));
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  const reader = stream.readable.getReader();
  let received = '';
  while (received.length < text.length) {
    const { value, done } = await reader.read();
    if (done) break;
    received += new TextDecoder().decode(value);
  }
  await writer.close();
  reader.releaseLock();
  return received;
}

describe('onion-key rotation', () => {
  let network: Awaited<ReturnType<typeof startTestNetwork>>;
  let echoServer: net.Server;
  let echoPort: number;

  beforeAll(async () => {
    echoServer = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((r) => echoServer.listen(0, '127.0.0.1', r));
    echoPort = (echoServer.address() as AddressInfo).port;
    network = await startTestNetwork({ relays: 3, relayArgs: ['--onion-key-rotation', `${PERIOD_S}s`, '--onion-key-grace', `${PERIOD_S}s`] });
  }, 30_000);

  afterAll(async () => {
    await network?.stop();
    await new Promise((r) => echoServer?.close(r));
  });

  const list = async () => (await fetchDirectory([network.poolRef], { fetch, crypto: nodeCrypto })).relays;
  /** Polls the pool until every relay lists an onion key that `seen` does not hold; returns that list. */
  async function nextKeys(seen: Set<string>): Promise<DirectoryRelay[]> {
    for (;;) {
      const relays = await list();
      if (relays.length === 3 && relays.every((r) => !seen.has(r.onionKey))) return relays;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('keeps open circuits, honours the previous key during the grace, then refuses it clearly; the pool lists each new key', async () => {
    const before = await list();
    expect(before).toHaveLength(3);
    const open = (await circuitThrough(before)).circuit;
    expect(await echo(open, echoPort, 'before rotation')).toBe('before rotation');

    // First rotation: the pool lists the new keys…
    const rotated = await nextKeys(new Set(before.map((r) => r.onionKey)));
    expect(rotated.map((r) => r.id).sort()).toEqual(before.map((r) => r.id).sort());
    // …the circuit built before it still carries streams (its keys came from its handshakes)…
    expect(await echo(open, echoPort, 'after rotation')).toBe('after rotation');
    // …and a client with the list from before the rotation still builds, during the grace.
    const stale = (await circuitThrough(before)).circuit;
    expect(await echo(stale, echoPort, 'stale list in grace')).toBe('stale list in grace');
    stale.destroy();

    // Second rotation: the first keys' grace is over at the same moment.
    const later = await nextKeys(new Set([...before, ...rotated].map((r) => r.onionKey)));
    await expect(circuitThrough(before)).rejects.toThrow(/refused the handshake.*relay list is out of date/);
    // A fresh list builds; so does the previous one, now in its own grace.
    const fresh = (await circuitThrough(later)).circuit;
    expect(await echo(fresh, echoPort, 'fresh list')).toBe('fresh list');
    fresh.destroy();
    const previous = (await circuitThrough(rotated)).circuit;
    expect(await echo(previous, echoPort, 'previous list')).toBe('previous list');
    previous.destroy();
    expect(await echo(open, echoPort, 'still open')).toBe('still open');
    open.destroy();
  }, 40_000);
});
