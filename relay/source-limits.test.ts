import { describe, expect, it } from 'vitest';
import { createLogger } from '../node/log.ts';
import { createRelayCounters } from '../shared/relay-events.ts';
import { SourceGate, type SourceLimits } from './source-limits.ts';
import { Writable } from 'node:stream';

const LIMITS: SourceLimits = {
  maxConnectionsPerSource: 50,
  connectionRate: { capacity: 40, refillPerSecond: 20 },
  circuitRate: { capacity: 5, refillPerSecond: 1 },
  circuitRateMinConnections: 3,
  maxSources: 100,
};

function gate() {
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });
  return new SourceGate(LIMITS, createLogger('test', quiet), createRelayCounters().rejections);
}

const creates = (ticket: { mayCreateCircuit(now: number): boolean }, count: number, now: number) =>
  Array.from({ length: count }, () => ticket.mayCreateCircuit(now)).filter(Boolean).length;

describe('per-source circuit creation limit', () => {
  it('leaves a source with fewer links than the minimum unlimited', () => {
    const g = gate();
    const one = g.admit('10.0.0.1', 0)!;
    g.admit('10.0.0.1', 0);
    expect(creates(one, 100, 0)).toBe(100);
  });

  it('limits a source holding enough links to its burst, then its rate', () => {
    const g = gate();
    const [first] = [g.admit('10.0.0.2', 0)!, g.admit('10.0.0.2', 0)!, g.admit('10.0.0.2', 0)!];
    expect(creates(first, 100, 0)).toBe(5);
    expect(creates(first, 100, 2000)).toBe(2);
  });

  it('keeps limiting a flood whose links were closed down to below the minimum, until its budget refilled', () => {
    const g = gate();
    const tickets = [g.admit('10.0.0.3', 0)!, g.admit('10.0.0.3', 0)!, g.admit('10.0.0.3', 0)!];
    expect(creates(tickets[0], 100, 0)).toBe(5);
    tickets[2].release();
    expect(creates(tickets[0], 100, 0)).toBe(0);
    expect(creates(tickets[0], 100, 1000)).toBe(1);
    // Five seconds after its last spend the bucket is full again: the two links are free.
    expect(creates(tickets[0], 100, 6000)).toBe(100);
  });
});
