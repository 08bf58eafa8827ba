// Cheap arbitrary byte strings for the fuzzers. fc.uint8Array draws (and can shrink) every byte,
// which costs milliseconds per case at cell sizes; here a case draws a length and a seed, and the
// bytes come from xorshift32: shrinking still finds the shortest failing length.
import fc from 'fast-check';

export function seededBytes(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let s = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 0xff;
  }
  return out;
}

export function bytes(maxLength: number, minLength = 0): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.integer({ min: minLength, max: maxLength }), fc.integer()).map(([length, seed]) => seededBytes(seed, length));
}
