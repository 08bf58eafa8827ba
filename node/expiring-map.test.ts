import { describe, expect, it } from 'vitest';
import { ExpiringMap } from './expiring-map.ts';

describe('ExpiringMap', () => {
  it('forgets entries at their expiry and hands single-use values out once', () => {
    const map = new ExpiringMap<string, number>(10);
    map.set('a', 1, 100);
    expect(map.get('a', 99)).toBe(1);
    expect(map.get('a', 100)).toBeUndefined();
    map.set('b', 2, 100);
    expect(map.take('b', 50)).toBe(2);
    expect(map.take('b', 50)).toBeUndefined();
  });

  it('never holds more than its capacity, dropping the oldest write first', () => {
    const map = new ExpiringMap<number, number>(100);
    for (let i = 0; i < 10_000; i++) map.set(i, i, Infinity);
    expect(map.size).toBe(100);
    expect(map.get(9_899, 0)).toBeUndefined();
    expect(map.get(9_900, 0)).toBe(9_900);
    map.set(9_900, 0, Infinity); // rewritten: now the newest
    map.set(-1, -1, Infinity);
    expect(map.get(9_900, 0)).toBe(0);
    expect(map.get(9_901, 0)).toBeUndefined();
  });
});
