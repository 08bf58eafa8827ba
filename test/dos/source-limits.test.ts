// The relay's listening side (relay/ws-server.ts, relay/source-limits.ts) on real sockets, with
// small limits so each one shows: the subprotocol it speaks (tpdp.3 only), concurrent connections
// and new connections per source, the deadline for becoming a link (idle and slow-header
// connections), oversized WebSocket messages (close 1009), the circuit-creation budget of a source
// that holds several links, and the log lines an operator sees — without any address in them.
import net from 'node:net';
import { Writable } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { CELL_COMMANDS, CELL_SIZE, LINK_SUBPROTOCOL, MAX_MESSAGE_SIZE, decodeCells, encodeCell, encodeMessage } from '../../shared/cell.ts';
import { REASONS } from '../../shared/errors.ts';
import type { Link } from '../../shared/link.ts';
import { createLogger } from '../../node/log.ts';
import { nodeWebSocketFactory } from '../../node/websocket.ts';
import { openWebSocketLink } from '../../shared/websocket-link.ts';
import { createRelayCounters } from '../../shared/relay-events.ts';
import { startLinkServer, type LinkServer } from '../../relay/ws-server.ts';
import type { SourceLimits } from '../../relay/source-limits.ts';

const servers: LinkServer[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function linkServer(sourceLimits: Partial<SourceLimits>, handshakeTimeoutMs = 5000) {
  const logs: { level: string; message: string }[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) logs.push(JSON.parse(line) as { level: string; message: string });
      done();
    },
  });
  const links: Link[] = [];
  const { rejections } = createRelayCounters();
  const server = await startLinkServer({ host: '127.0.0.1', port: 0, handshakeTimeoutMs, maxConnections: 1000, sourceLimits, rejections, log: createLogger('listener', sink), onLink: (link) => links.push(link) });
  servers.push(server);
  return { server, logs, links, rejections };
}

async function eventuallyTrue(check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 100) throw new Error('condition not met within 2 s');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Opens a TCP connection from `from` and reports whether the relay kept it for `holdMs`. */
function connection(port: number, from = '127.0.0.1', holdMs = 150): Promise<{ socket: net.Socket; kept: boolean; closedAfterMs?: number }> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    sockets.push(socket);
    const started = Date.now();
    let closedAfterMs: number | undefined;
    socket.on('error', () => {});
    // Reading, so that the relay's FIN is seen (a paused socket never emits 'end').
    socket.resume();
    socket.on('close', () => (closedAfterMs = Date.now() - started));
    setTimeout(() => resolve({ socket, kept: closedAfterMs === undefined, closedAfterMs }), holdMs);
  });
}

describe('per-source limits on the relay listener', () => {
  it('holds at most maxConnectionsPerSource connections per source; other sources are not affected', async () => {
    const { server, logs, rejections } = await linkServer({ maxConnectionsPerSource: 5, connectionRate: { capacity: 100, refillPerSecond: 100 } });
    const first = await Promise.all(Array.from({ length: 8 }, () => connection(server.port, '127.0.0.7')));
    expect(first.filter((c) => c.kept)).toHaveLength(5);
    expect((await connection(server.port, '127.0.0.8')).kept).toBe(true);
    // A connection closed gives its place back.
    first.find((c) => c.kept)!.socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect((await connection(server.port, '127.0.0.7')).kept).toBe(true);
    expect((await connection(server.port, '127.0.0.7')).kept).toBe(false);
    const warnings = logs.filter((l) => l.level === 'warn');
    expect(warnings[0].message).toBe('connection refused: a source already holds 5 connections (per-source limit)');
    expect(JSON.stringify(logs)).not.toContain('127.0.0.7');
    expect(rejections).toMatchObject({ source_connections: 4, source_new_connections: 0 });
  });

  it('admits a burst of new connections per source, then a steady rate', async () => {
    const { server, logs, rejections } = await linkServer({ maxConnectionsPerSource: 100, connectionRate: { capacity: 3, refillPerSecond: 4 } });
    const burst = await Promise.all(Array.from({ length: 6 }, () => connection(server.port, '127.0.0.9')));
    expect(burst.filter((c) => c.kept)).toHaveLength(3);
    await new Promise((r) => setTimeout(r, 300));
    expect((await connection(server.port, '127.0.0.9', 50)).kept).toBe(true);
    expect(logs.some((l) => l.message.startsWith('connection refused: a source opens connections faster than 4/s after a burst of 3'))).toBe(true);
    expect(rejections).toMatchObject({ source_connections: 0, source_new_connections: 3 });
  });

  it('cuts a connection that has not become a link within the handshake timeout: silent, or sending headers slowly', async () => {
    const { server } = await linkServer({}, 400);
    const idle = connection(server.port, '127.0.0.1', 1500);
    const slow = connection(server.port, '127.0.0.1', 1500);
    const slowSocket = sockets[sockets.length - 1];
    slowSocket.write('GET / HTTP/1.1\r\n');
    const drip = setInterval(() => slowSocket.writable && slowSocket.write('X-Drip: 1\r\n'), 100);
    const [idleResult, slowResult] = await Promise.all([idle, slow]);
    clearInterval(drip);
    for (const result of [idleResult, slowResult]) {
      expect(result.kept).toBe(false);
      expect(result.closedAfterMs).toBeGreaterThanOrEqual(350);
      expect(result.closedAfterMs).toBeLessThan(1400);
    }
  });

  it('speaks tpdp.3 only: an upgrade offering only tpdp.2 (each header before its body) is refused with 401, one offering both gets tpdp.3', async () => {
    const { server, links } = await linkServer({});
    expect(LINK_SUBPROTOCOL).toBe('tpdp.3');
    const old = new WebSocket(`ws://127.0.0.1:${server.port}`, ['tpdp.2']);
    old.on('error', () => {});
    const status = await new Promise<number>((resolve) => old.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(401);
    const both = new WebSocket(`ws://127.0.0.1:${server.port}`, ['tpdp.2', LINK_SUBPROTOCOL]);
    await new Promise((resolve) => both.once('open', resolve));
    expect(both.protocol).toBe('tpdp.3');
    await eventuallyTrue(() => links.length === 1);
    both.close();
  });

  it('a client offering tpdp.3 to a relay that speaks only tpdp.2 fails with HOP_UNREACHABLE', async () => {
    const oldRelay = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (offered) => (offered.has('tpdp.2') ? 'tpdp.2' : false), verifyClient: (info, done) => done(String(info.req.headers['sec-websocket-protocol']).split(',').some((p) => p.trim() === 'tpdp.2'), 401) });
    await new Promise((resolve) => oldRelay.once('listening', resolve));
    try {
      const url = `ws://127.0.0.1:${(oldRelay.address() as net.AddressInfo).port}`;
      await expect(openWebSocketLink(nodeWebSocketFactory(), url, 5000)).rejects.toMatchObject({ code: 'HOP_UNREACHABLE', message: expect.stringContaining('401') });
    } finally {
      await new Promise((resolve) => oldRelay.close(resolve));
    }
  });

  it('does not cut a link that completed its WebSocket handshake', async () => {
    const { server, links } = await linkServer({}, 300);
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}`, [LINK_SUBPROTOCOL]);
    let closed = false;
    socket.on('close', () => (closed = true));
    await new Promise((resolve) => socket.once('open', resolve));
    await new Promise((r) => setTimeout(r, 800));
    expect(closed).toBe(false);
    expect(links).toHaveLength(1);
    socket.close();
  });

  it('holds a source with enough links to its circuit budget: DESTROY RESOURCE_LIMIT, then the flooding link is closed', async () => {
    const { server, links, logs, rejections } = await linkServer({ circuitRate: { capacity: 2, refillPerSecond: 0.001 }, circuitRateMinConnections: 1 });
    const delivered: number[] = [];
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}`, [LINK_SUBPROTOCOL], { localAddress: '127.0.0.11' });
    const replies: { id: number; command: number; reason: number }[] = [];
    socket.on('message', (data: Buffer) => {
      for (const cell of decodeCells(data)) replies.push({ id: cell.circuitId, command: cell.command, reason: cell.body[0] });
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    await eventuallyTrue(() => links.length === 1);
    links[0].handlers = { onCells: (cells) => delivered.push(...cells.map((cell) => cell.circuitId)), onClose: () => {} };
    const creates = (ids: number[]) => encodeMessage(ids.map((id) => ({ circuitId: id, command: CELL_COMMANDS.CREATE, body: new Uint8Array(100) })));
    socket.send(creates([1, 2, 3]));
    await eventuallyTrue(() => replies.length === 1);
    expect(delivered).toEqual([1, 2]);
    expect(replies).toEqual([{ id: 3, command: CELL_COMMANDS.DESTROY, reason: REASONS.RESOURCE_LIMIT }]);
    // More refusals than a burst's worth: the link is flooding and is closed.
    socket.send(creates([4, 5]));
    expect(await closed).toBe(4000 + REASONS.RESOURCE_LIMIT);
    expect(delivered).toEqual([1, 2]);
    expect(logs.some((l) => l.message.startsWith('CREATE refused with RESOURCE_LIMIT'))).toBe(true);
    expect(rejections).toMatchObject({ source_create_rate: 3, create_flood: 1 });
  });

  it('does not limit the circuits of a source below circuitRateMinConnections links (a client, a relay)', async () => {
    const { server, links } = await linkServer({ circuitRate: { capacity: 2, refillPerSecond: 0.001 } });
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}`, [LINK_SUBPROTOCOL], { localAddress: '127.0.0.12' });
    await new Promise((resolve) => socket.once('open', resolve));
    await eventuallyTrue(() => links.length === 1);
    const delivered: number[] = [];
    links[0].handlers = { onCells: (cells) => delivered.push(...cells.map((cell) => cell.circuitId)), onClose: () => {} };
    socket.send(encodeMessage(Array.from({ length: 10 }, (_, i) => ({ circuitId: i + 1, command: CELL_COMMANDS.CREATE, body: new Uint8Array(100) }))));
    await eventuallyTrue(() => delivered.length === 10);
    socket.close();
  });

  it('closes a link that sends a message larger than MAX_CELLS_PER_MESSAGE cells (32 KiB) with 1009, and serves the next link', async () => {
    const { server, links } = await linkServer({});
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}`, [LINK_SUBPROTOCOL]);
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send(new Uint8Array(MAX_MESSAGE_SIZE + CELL_SIZE));
    expect(await closed).toBe(1009);
    const next = new WebSocket(`ws://127.0.0.1:${server.port}`, [LINK_SUBPROTOCOL]);
    await new Promise((resolve) => next.once('open', resolve));
    expect(links).toHaveLength(2);
    next.close();
  });
});
