import { describe, expect, it } from 'vitest';
import { CELL_COMMANDS } from './cell.ts';
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
