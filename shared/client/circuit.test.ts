import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../bytes.ts';
import { CELL_COMMANDS, decodeCells, encodeMessage, MAX_CELLS_PER_MESSAGE, type Cell } from '../cell.ts';
import { TpdpError } from '../errors.ts';
import { RELAY_OFFSET } from '../relay-cell.ts';
import type { CircuitStream } from '../stream.ts';
import { echoExit, memoryNetwork, type Tap } from '../../test/support/memory-network.ts';
import { ClientCircuit, hopTargetOf } from './circuit.ts';
import type { Link } from '../link.ts';

function clientCircuit(link: Link, crypto: any, onClose: (e: TpdpError) => void = () => {}) {
  const circuit = new ClientCircuit({ crypto, link, circuitId: 7, handshakeTimeoutMs: 2000, onClose: (_c, e) => onClose(e) });
  link.handlers = { onCells: (cells) => circuit.handleCells(cells), onClose: (r, d) => circuit.linkClosed(r, d) };
  return circuit;
}

async function readAll(stream: CircuitStream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    stream.onData = (chunk) => {
      chunks.push(chunk);
      stream.consumed();
    };
    stream.onFinish = () => stream.finish();
    stream.onClose = (error) => {
      if (error) return reject(error);
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) (out.set(c, o), (o += c.length));
      resolve(out);
    };
  });
}

describe('hop targets', () => {
  it('decodes a descriptor once, so every build hands the crypto the same key arrays', () => {
    const key = (byte: number) => toBase64Url(new Uint8Array(32).fill(byte));
    const descriptor = { id: 'r1', url: 'ws://127.0.0.1:1', identityKey: key(1), onionKey: key(2) };
    const target = hopTargetOf(descriptor);
    expect(target.onionKey).toHaveLength(32);
    expect(hopTargetOf(descriptor)).toBe(target);
    const refreshed = hopTargetOf({ ...descriptor, onionKey: key(3) });
    expect(refreshed).not.toBe(target);
    expect(refreshed.onionKey).not.toEqual(target.onionKey);
  });
});

describe('client circuit over in-memory relays', () => {
  it('builds three hops and echoes a stream byte for byte', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit });
    const circuit = clientCircuit(net.connect('a'), net.crypto);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    expect(circuit.state).toBe('open');
    const stream = await circuit.openStream({ kind: 'connect', host: 'example.org', port: 80 });
    const payload = new Uint8Array(300_000).map((_, i) => (i * 7919) % 256);
    const done = readAll(stream);
    stream.write(payload);
    stream.finish();
    expect(await done).toEqual(payload);
  });

  it('detects a middle relay that swaps the handshake toward the next hop (no MITM)', async () => {
    // b rewrites the onion key inside the CREATE it forwards to c: c refuses the handshake.
    const tap: Tap = (message, from, to) => {
      if (from !== 'b' || to !== 'c') return message;
      const cells = decodeCells(message);
      for (const cell of cells) if (cell.command === CELL_COMMANDS.CREATE) cell.body[4 + 40] ^= 1;
      return encodeMessage(cells);
    };
    const net = memoryNetwork(['a', 'b', 'c'], { tap, exit: echoExit });
    const closed: TpdpError[] = [];
    const circuit = clientCircuit(net.connect('a'), net.crypto, (e) => closed.push(e));
    await expect(circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target))).rejects.toBeInstanceOf(TpdpError);
    expect(circuit.state).toBe('closed');
  });

  it('detects a relay that answers for the next hop with its own keys', async () => {
    // Everything b sends back is replaced by a CREATED made with b's own keys: AUTH cannot match.
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit });
    const impostor = net.relays.get('b')!;
    const target = { ...net.relays.get('c')!.target, onionKey: impostor.keys.onion.publicKey, identityKey: impostor.keys.identity.publicKey };
    const circuit = clientCircuit(net.connect('a'), net.crypto);
    // c is asked with b's identity: c refuses, the client learns nothing from b.
    await expect(circuit.build([net.relays.get('a')!.target, net.relays.get('b')!.target, target])).rejects.toThrow();
  });

  for (const fault of ['flip', 'drop', 'replay'] as const) {
    it(`destroys the circuit when a relay ${fault}s a cell, delivering no corrupted byte`, async () => {
      let armed = false;
      let dataCells = 0;
      const tap: Tap = (message, from, to) => {
        if (!(armed && from === 'b' && to === 'a')) return message;
        // Backward RELAY cells from the middle relay toward the guard.
        const cells: Cell[] = [];
        for (const cell of decodeCells(message)) {
          cells.push(cell);
          if (cell.command !== CELL_COMMANDS.RELAY || ++dataCells !== 3) continue;
          if (fault === 'flip') cell.body[RELAY_OFFSET.data + 10] ^= 0x80;
          if (fault === 'drop') cells.pop();
          // Replay: the same cell again, right behind the original.
          if (fault === 'replay') cells.push({ ...cell, body: cell.body.slice() });
        }
        if (cells.length === 0) return null;
        const messages = [];
        for (let i = 0; i < cells.length; i += MAX_CELLS_PER_MESSAGE) messages.push(encodeMessage(cells.slice(i, i + MAX_CELLS_PER_MESSAGE)));
        return messages;
      };
      const net = memoryNetwork(['a', 'b', 'c'], { tap, exit: echoExit });
      const circuit = clientCircuit(net.connect('a'), net.crypto);
      await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
      const stream = await circuit.openStream({ kind: 'connect', host: 'example.org', port: 80 });
      armed = true;
      const payload = new Uint8Array(20_000).map((_, i) => i % 251);
      const received: Uint8Array[] = [];
      const closed = new Promise<TpdpError | undefined>((resolve) => {
        stream.onData = (chunk) => {
          received.push(chunk.slice());
          stream.consumed();
        };
        stream.onClose = resolve;
      });
      stream.write(payload);
      const error = await closed;
      expect(error?.code).toBe('INTEGRITY_ERROR');
      expect(circuit.state).toBe('closed');
      // Whatever was delivered before detection is an exact prefix of what was sent.
      const got = new Uint8Array(received.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of received) (got.set(c, o), (o += c.length));
      expect(got.length).toBeLessThan(payload.length);
      expect(got).toEqual(payload.subarray(0, got.length));
    });
  }

  it('carries 20 concurrent streams on one circuit', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit });
    const circuit = clientCircuit(net.connect('a'), net.crypto);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const stream = await circuit.openStream({ kind: 'connect', host: `host${i}.example`, port: 443 });
        const payload = new Uint8Array(20_000 + i * 997).map((_, j) => (j * 31 + i) % 256);
        const done = readAll(stream);
        stream.write(payload);
        stream.finish();
        return [payload, await done] as const;
      }),
    );
    for (const [sent, got] of results) expect(got).toEqual(sent);
  });

  it('sends a fetch request right behind its BEGIN, before CONNECTED comes back (optimistic data)', async () => {
    let holding = false;
    let withheld = 0;
    // Once built, nothing from the first relay reaches the client: no CONNECTED.
    const tap: Tap = (message, from, to) => {
      if (holding && from === 'a' && to === 'client') {
        withheld++;
        return null;
      }
      return message;
    };
    const received: Uint8Array[] = [];
    const exit = (stream: CircuitStream) => {
      stream.onData = (chunk) => {
        received.push(chunk.slice());
        stream.consumed();
      };
      stream.accept();
    };
    const net = memoryNetwork(['a', 'b', 'c'], { tap, exit });
    const circuit = clientCircuit(net.connect('a'), net.crypto);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    holding = true;
    const stream = await circuit.openStream({ kind: 'fetch' });
    expect(stream.state).toBe('opening');
    stream.write(new TextEncoder().encode('request head'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(new TextDecoder().decode(received[0])).toBe('request head');
    expect(withheld).toBeGreaterThan(0);
  });

  it('lets a connect stream send only once CONNECTED', async () => {
    let holding = false;
    const tap: Tap = (message, from, to) => (holding && from === 'a' && to === 'client' ? null : message);
    const received: Uint8Array[] = [];
    const exit = (stream: CircuitStream) => {
      stream.onData = (chunk) => received.push(chunk.slice());
      stream.accept();
    };
    const net = memoryNetwork(['a', 'b', 'c'], { tap, exit });
    const circuit = clientCircuit(net.connect('a'), net.crypto);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    holding = true;
    let opened = false;
    void circuit.openStream({ kind: 'connect', host: 'example.org', port: 80 }).then(() => (opened = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(opened).toBe(false);
    expect(received).toEqual([]);
  });

  it('drops a refused fetch stream\'s optimistic data without breaking the circuit or its window', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit, limits: { maxStreamsPerCircuit: 1 } });
    const circuit = clientCircuit(net.connect('a'), net.crypto);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    const occupying = await circuit.openStream({ kind: 'connect', host: 'example.org', port: 80 });
    // A request body of 600 kB: over half the circuit window travels to a stream the exit refused.
    const refused = await circuit.openStream({ kind: 'fetch' });
    const failure = new Promise<TpdpError | undefined>((resolve) => (refused.onClose = resolve));
    refused.write(new Uint8Array(600_000));
    refused.finish();
    expect((await failure)?.code).toBe('RESOURCE_LIMIT');
    occupying.close();
    // 2 MB each way afterwards: stalls unless the dropped cells were counted toward the window.
    const stream = await circuit.openStream({ kind: 'fetch' });
    const payload = new Uint8Array(2_000_000).map((_, i) => (i * 13) % 256);
    const done = readAll(stream);
    stream.write(payload);
    stream.finish();
    expect(await done).toEqual(payload);
    expect(circuit.state).toBe('open');
  });
});
