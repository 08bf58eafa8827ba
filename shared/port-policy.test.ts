import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPortPolicy, normalizePortPolicy, parsePortPolicy, policyAccepts } from './port-policy.ts';

describe('exit port policy summaries', () => {
  it.each([
    ['accept *', 'accept 1-65535'],
    ['reject *', 'reject 1-65535'],
    ['ACCEPT 443, 80', 'accept 80,443'],
    ['accept 80 443 8000-9000 8500-9500 9501', 'accept 80,443,8000-9501'],
    ['reject 25,26,27', 'reject 25-27'],
    ['accept 1-100,*', 'accept 1-65535'],
    ['  reject   22  ', 'reject 22'],
  ])('normalizes "%s" to "%s"', (input, canonical) => {
    expect(normalizePortPolicy(input)).toBe(canonical);
    expect(formatPortPolicy(parsePortPolicy(canonical))).toBe(canonical);
  });

  it.each([['allow 80'], ['accept'], ['accept 0'], ['accept 65536'], ['accept 90-80'], ['accept http'], ['accept 80;rm']])('refuses to normalize "%s"', (input) => {
    expect(() => normalizePortPolicy(input)).toThrow();
  });

  it('accepts exactly the listed ports (accept) or exactly the others (reject)', () => {
    const accept = parsePortPolicy('accept 80,443,8000-9000');
    const reject = parsePortPolicy('reject 80,443,8000-9000');
    for (const [port, listed] of [[79, false], [80, true], [81, false], [443, true], [7999, false], [8000, true], [8500, true], [9000, true], [9001, false]] as const) {
      expect(policyAccepts(accept, port)).toBe(listed);
      expect(policyAccepts(reject, port)).toBe(!listed);
    }
  });

  it('normalizes any list of ports to a canonical text that parses back to the same decisions (property)', () => {
    const item = fc.oneof(
      fc.integer({ min: 1, max: 65535 }).map(String),
      fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 0, max: 2000 })).map(([a, n]) => `${a}-${Math.min(a + n, 65535)}`),
    );
    fc.assert(
      fc.property(fc.boolean(), fc.array(item, { minLength: 1, maxLength: 30 }), fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 50 }), (accept, items, probes) => {
        const text = normalizePortPolicy(`${accept ? 'accept' : 'reject'} ${items.join(',')}`);
        const policy = parsePortPolicy(text);
        expect(normalizePortPolicy(text)).toBe(text);
        for (const port of probes) {
          const listed = items.some((i) => {
            const [low, high = low] = i.split('-').map(Number);
            return port >= low && port <= high;
          });
          expect(policyAccepts(policy, port)).toBe(listed === accept);
        }
      }),
      { numRuns: 500 },
    );
  });
});
