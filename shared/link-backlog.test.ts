import { describe, expect, it } from 'vitest';
import { CELL_SIZE } from './cell.ts';
import { LinkBacklog } from './link-backlog.ts';

describe('link backlog', () => {
  it('attributes the bytes still waiting in the transport to the circuits of the last cells sent', () => {
    const backlog = new LinkBacklog();
    for (const id of [1, 1, 2, 3, 3, 3]) backlog.add(id);
    // The transport sent all but the last four cells, and half of the fourth from last.
    backlog.trim(3.5 * CELL_SIZE);
    expect(backlog.byCircuit([])).toEqual(new Map([[2, CELL_SIZE / 2], [3, 3 * CELL_SIZE]]));
    backlog.trim(CELL_SIZE);
    expect(backlog.byCircuit([7])).toEqual(new Map([[3, CELL_SIZE], [7, CELL_SIZE]]));
  });

  it('forgets everything once the transport has sent everything', () => {
    const backlog = new LinkBacklog();
    for (let i = 0; i < 5000; i++) backlog.add(i % 2 === 0 ? 0xffff_ffff : 9);
    backlog.trim(2 * CELL_SIZE);
    expect(backlog.byCircuit([])).toEqual(new Map([[0xffff_ffff, CELL_SIZE], [9, CELL_SIZE]]));
    backlog.trim(0);
    expect(backlog.byCircuit([]).size).toBe(0);
  });
});
