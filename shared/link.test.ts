import { describe, expect, it } from 'vitest';
import { CELL_BODY_SIZE, CELL_COMMANDS, decodeCells, encodeMessage } from './cell.ts';
import { Link } from './link.ts';
import type { ReasonName } from './errors.ts';
import { linkPair } from '../test/support/memory-network.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('link keep-alive', () => {
  it('keeps an idle link open with PADDING cells, which carry nothing', async () => {
    const [left, right] = linkPair('a', 'b', undefined, 40);
    const closes: ReasonName[] = [];
    const received: number[] = [];
    for (const link of [left, right]) link.handlers = { onCells: (cells) => received.push(...cells.map((cell) => cell.command)), onClose: (reason) => closes.push(reason) };
    await sleep(400);
    expect(closes).toEqual([]);
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((command) => command === CELL_COMMANDS.PADDING)).toBe(true);
    left.close('DONE', 'test over');
  });

  it('closes a link whose peer went silent (no FIN, no RST) with TIMEOUT_ERROR, in bounded time', async () => {
    let silent = false;
    const [left, right] = linkPair('a', 'b', (message) => (silent ? null : message), 40);
    const closed: { reason: ReasonName; at: number }[] = [];
    left.handlers = { onCells: () => {}, onClose: (reason) => closed.push({ reason, at: Date.now() }) };
    right.handlers = { onCells: () => {}, onClose: () => {} };
    silent = true;
    const started = Date.now();
    await sleep(400);
    expect(closed).toHaveLength(1);
    expect(closed[0].reason).toBe('TIMEOUT_ERROR');
    // Three keep-alive periods of silence, checked every half period.
    expect(closed[0].at - started).toBeGreaterThanOrEqual(100);
    expect(closed[0].at - started).toBeLessThan(250);
    right.close('DONE', 'test over');
  });
});

describe('link messages', () => {
  const sent: Uint8Array[] = [];
  const outgoing = () => new Link({ bufferedAmount: 0, send: (message) => sent.push(message), close: () => {} }, true, 'next');
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  const bodies = [1, 2, 3].map((fill) => new Uint8Array(CELL_BODY_SIZE).fill(fill));
  const received = () => encodeMessage(bodies.map((body, i) => ({ circuitId: 10 + i, command: CELL_COMMANDS.RELAY, body })));

  it('sends on a received message, headers rewritten in place, when every cell of it is passed on in order', async () => {
    sent.length = 0;
    const message = received();
    const next = outgoing();
    for (const cell of decodeCells(message)) next.send(cell.circuitId + 100, CELL_COMMANDS.RELAY_EARLY, cell.body);
    await settle();
    expect(sent).toHaveLength(1);
    expect(sent[0].buffer).toBe(message.buffer);
    expect(decodeCells(sent[0]).map((c) => [c.circuitId, c.command, c.body[0]])).toEqual([
      [110, CELL_COMMANDS.RELAY_EARLY, 1],
      [111, CELL_COMMANDS.RELAY_EARLY, 2],
      [112, CELL_COMMANDS.RELAY_EARLY, 3],
    ]);
  });

  it('copies the cells into a new message when only some of them are passed on, and leaves the others alone', async () => {
    sent.length = 0;
    const message = received();
    const cells = decodeCells(message);
    const next = outgoing();
    for (const cell of cells.slice(1)) next.send(cell.circuitId, CELL_COMMANDS.RELAY, cell.body);
    await settle();
    expect(sent[0].buffer).not.toBe(message.buffer);
    expect(decodeCells(sent[0]).map((c) => [c.circuitId, c.body[0]])).toEqual([[11, 2], [12, 3]]);
    expect(decodeCells(message).map((c) => [c.circuitId, c.body[0], c.body[CELL_BODY_SIZE - 1]])).toEqual([[10, 1, 1], [11, 2, 2], [12, 3, 3]]);
  });
});
