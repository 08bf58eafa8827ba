import { describe, expect, it } from 'vitest';
import { CELL_COMMANDS, CELL_SIZE, encodeCell, MAX_CELLS_PER_MESSAGE } from './cell.ts';
import type { TpdpError } from './errors.ts';
import { dispatchByCircuit, type Link } from './link.ts';
import { RELAY_COMMANDS } from './relay-cell.ts';
import { echoExit, memoryNetwork, rawConnection } from '../test/support/memory-network.ts';
import { ClientCircuit } from './client/circuit.ts';
import type { CircuitStream } from './stream.ts';

function circuitOn(link: Link, crypto: any, id = 9) {
  const closed: TpdpError[] = [];
  const circuit = new ClientCircuit({ crypto, link, circuitId: id, handshakeTimeoutMs: 500, onClose: (_c, e) => closed.push(e) });
  return { circuit, closed };
}

function attach(link: Link, circuits: ClientCircuit[]) {
  const byId = new Map(circuits.map((c) => [c.circuitId, c]));
  const closes: string[] = [];
  link.handlers = {
    onCells: (cells) => dispatchByCircuit(cells, (id) => byId.get(id)),
    onClose: (reason, detail) => {
      closes.push(reason);
      for (const c of circuits) c.linkClosed(reason, detail);
    },
  };
  return closes;
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('relay node under hostile or failing peers', () => {
  it('closes a link that sends malformed messages; circuits on other links carry on', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit });
    const good = net.connect('a');
    const { circuit } = circuitOn(good, net.crypto);
    attach(good, [circuit]);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));

    const unknownCommand = encodeCell(1, CELL_COMMANDS.PADDING);
    unknownCommand[4] = 99;
    const createdTowardRelay = encodeCell(1, CELL_COMMANDS.CREATED);
    for (const garbage of [new Uint8Array(100), new Uint8Array(CELL_SIZE * (MAX_CELLS_PER_MESSAGE + 1)), unknownCommand, createdTowardRelay]) {
      const bad = rawConnection(net.relays.get('a')!.node);
      bad.send(garbage);
      expect(bad.closes).toHaveLength(1);
      expect(bad.closes[0]).toMatch(/^4001 PROTOCOL_ERROR/);
    }
    const stream = await circuit.openStream({ kind: 'connect', host: 'example.org', port: 7 });
    const echoed = new Promise<Uint8Array>((resolve) => (stream.onData = (c) => resolve(c)));
    stream.write(Uint8Array.of(1, 2, 3));
    expect([...(await echoed)]).toEqual([1, 2, 3]);
  });

  it('refuses circuits beyond the per-link limit with RESOURCE_LIMIT', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit, limits: { maxCircuitsPerLink: 2 } });
    const link = net.connect('a');
    const circuits = [1, 2, 3].map((id) => circuitOn(link, net.crypto, id));
    attach(link, circuits.map((c) => c.circuit));
    const results = await Promise.allSettled(circuits.map((c) => c.circuit.build([net.relays.get('a')!.target])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(circuits[2].closed[0]?.code).toBe('RESOURCE_LIMIT');
  });

  it('destroys a circuit whose next relay never answers, with TIMEOUT_ERROR, within the timeout', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit, limits: { handshakeTimeoutMs: 300 } });
    // c swallows everything: it is up but never answers CREATE.
    const silent = net.relays.get('c')!;
    silent.node.addLink = (link: Link) => {
      link.handlers = { onCells: () => {}, onClose: () => {} };
    };
    const link = net.connect('a');
    const { circuit, closed } = circuitOn(link, net.crypto);
    attach(link, [circuit]);
    const started = Date.now();
    // The client's own per-hop timeout (500 ms) is longer than the relay's (300 ms): the relay reports first.
    await expect(circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target))).rejects.toThrow();
    expect(closed[0].code).toBe('TIMEOUT_ERROR');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('refuses an EXTEND to a relay the pools do not list (no open WebSockets to arbitrary places)', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit });
    (net.relays.get('a')!.node as unknown as { options: { checkExtend: unknown } }).options.checkExtend = async () => 'not listed';
    const link = net.connect('a');
    const { circuit, closed } = circuitOn(link, net.crypto);
    attach(link, [circuit]);
    await expect(circuit.build(['a', 'b'].map((n) => net.relays.get(n)!.target))).rejects.toThrow();
    expect(closed[0].code).toBe('HOP_UNREACHABLE');
  });

  it('tears the whole path down when a link in the middle drops, with LINK_CLOSED', async () => {
    let cut = false;
    const net = memoryNetwork(['a', 'b', 'c'], {
      exit: echoExit,
      tap: (message, from, to) => (cut && from === 'b' && to === 'c' ? null : message),
    });
    const link = net.connect('a');
    const { circuit, closed } = circuitOn(link, net.crypto);
    attach(link, [circuit]);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    const stream = await circuit.openStream({ kind: 'connect', host: 'example.org', port: 7 });
    const streamError = new Promise<TpdpError | undefined>((resolve) => (stream.onClose = resolve));
    // b's link toward c dies.
    const bLinks = (net.relays.get('b')!.node as unknown as { links: Map<Link, unknown> }).links;
    for (const l of bLinks.keys()) if (l.initiator) l.transportClosed('LINK_CLOSED', 'gone');
    await tick();
    expect(closed[0].code).toBe('LINK_CLOSED');
    expect((await streamError)?.code).toBe('LINK_CLOSED');
    cut = true;
  });

  it('a relay shutting down destroys its circuits with RELAY_SHUTDOWN', async () => {
    const net = memoryNetwork(['a', 'b', 'c'], { exit: echoExit });
    const link = net.connect('a');
    const { circuit, closed } = circuitOn(link, net.crypto);
    attach(link, [circuit]);
    await circuit.build(['a', 'b', 'c'].map((n) => net.relays.get(n)!.target));
    net.relays.get('b')!.node.shutdown();
    await tick();
    expect(closed[0].code).toBe('RELAY_SHUTDOWN');
  });

  it('limits RELAY_EARLY cells per circuit', async () => {
    const net = memoryNetwork(['a'], { exit: echoExit, limits: { maxRelayEarly: 2 } });
    const link = net.connect('a');
    const { circuit, closed } = circuitOn(link, net.crypto);
    attach(link, [circuit]);
    await circuit.build([net.relays.get('a')!.target]);
    // Valid, authenticated DROP cells, but sent as RELAY_EARLY: the third is one too many.
    const send = (circuit as unknown as { sendRelay(hop: number, cmd: number, id: number, data: Uint8Array, early: boolean): void }).sendRelay.bind(circuit);
    for (let i = 0; i < 2; i++) send(0, RELAY_COMMANDS.DROP, 0, new Uint8Array(0), true);
    await tick();
    expect(circuit.state).toBe('open');
    send(0, RELAY_COMMANDS.DROP, 0, new Uint8Array(0), true);
    await tick();
    expect(closed[0]?.code).toBe('PROTOCOL_ERROR');
  });
});
