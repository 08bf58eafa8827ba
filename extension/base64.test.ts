import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from './base64.ts';

describe('base64 for DevTools protocol bodies', () => {
  it('gives the test vectors of RFC 4648 §10', () => {
    const vectors = { '': '', f: 'Zg==', fo: 'Zm8=', foo: 'Zm9v', foob: 'Zm9vYg==', fooba: 'Zm9vYmE=', foobar: 'Zm9vYmFy' };
    for (const [text, encoded] of Object.entries(vectors)) {
      expect(toBase64(new TextEncoder().encode(text))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64(encoded))).toBe(text);
    }
  });

  it('round-trips bodies of any size, past the chunks of the fallback encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100_000 }), (bytes) => {
        expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      }),
      { numRuns: 50 },
    );
  });
});
