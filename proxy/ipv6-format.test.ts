import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIpv6 } from './ipv6-format.ts';

const parse = (text: string) => {
  // Expand via WHATWG URL, then to bytes: only for building test inputs.
  const full = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const [head, tail = ''] = full.split('::');
  const groups = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = full.includes('::') ? groups(tail) : [];
  const all = full.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill(0), ...t] : h;
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
};

describe('formatIpv6 (RFC 5952)', () => {
  it.each([
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs (§4.2.3)
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group stays (§4.2.2)
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // longest run wins (§4.2.3)
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['2001:DB8::ABCD', '2001:db8::abcd'], // lowercase (§4.3)
    ['::ffff:192.0.2.1', '::ffff:c000:201'], // as WHATWG URL writes it
  ])('%s → %s', (input, expected) => {
    expect(formatIpv6(parse(input))).toBe(expected);
  });

  it('agrees with the WHATWG URL serializer (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(0, 0, 0, 1, 0xabcd, 0xffff), { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = Uint8Array.from(groups.flatMap((g) => [g >> 8, g & 0xff]));
        const text = formatIpv6(bytes);
        expect(text).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
        expect(parse(text)).toEqual(bytes);
      }),
    );
  });

  it('refuses a wrong length', () => {
    expect(() => formatIpv6(new Uint8Array(4))).toThrow(RangeError);
  });
});
