// Fuzzing the RFC 7804 / RFC 9110 authentication header parser (shared/scram-http.ts), which the
// site runs on every Authorization header and the client on every WWW-Authenticate and
// Authentication-Info header. shared/scram-http.test.ts has examples and 1000 short random strings;
// here: headers generated from the RFC grammar must parse to exactly the parameters written,
// edited headers and random text may only fail with ScramSyntaxError, and no input up to the
// 8 KiB cap takes super-linear time (the parser is regex-driven).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_HEADER_LENGTH, parseAuthParams, parseChallenges, parseCredentials } from '../../shared/scram-http.ts';
import { ScramSyntaxError } from '../../shared/scram-messages.ts';
import { recordFigure } from '../support/figures.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const RUNS = 20_000;

const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 });
const ows = fc.constantFrom('', ' ', '\t', '  ');
// qdtext, and quoted-pair for the two characters that need it and a few that do not.
const qdChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x5c).map((c) => ({ raw: String.fromCharCode(c), value: String.fromCharCode(c) })),
  fc.integer({ min: 0x80, max: 0xff }).map((c) => ({ raw: String.fromCharCode(c), value: String.fromCharCode(c) })),
  fc.constantFrom('"', '\\', 'a', ',', '\t').map((c) => ({ raw: `\\${c}`, value: c })),
);
const value = fc.oneof(
  fc.tuple(fc.string({ unit: fc.constantFrom(...TCHAR, '/'), minLength: 1, maxLength: 16 }), fc.string({ unit: fc.constant('='), maxLength: 2 })).map(([v, pad]) => ({ raw: v + pad, value: v + pad })),
  fc.array(qdChar, { maxLength: 16 }).map((chars) => ({ raw: `"${chars.map((c) => c.raw).join('')}"`, value: chars.map((c) => c.value).join('') })),
);
const param = fc.record({ name: fc.oneof(token, fc.constantFrom('data', 'sid', 'realm', 'Data', 'SID')), before: ows, after: ows, value });
const separator = fc.tuple(ows, fc.integer({ min: 1, max: 3 }), ows).map(([a, commas, b]) => a + Array.from({ length: commas }, () => ',').join(' ') + b);
const credentials = fc.record({ scheme: token, params: fc.array(fc.tuple(param, separator), { minLength: 1, maxLength: 6 }) }).map(({ scheme, params }) => ({
  header: `${scheme} ${params.map(([p, sep], i) => `${p.name}${p.before}=${p.after}${p.value.raw}${i < params.length - 1 ? sep : ''}`).join('')}`,
  scheme,
  params: params.map(([p]) => [p.name.toLowerCase(), p.value.value] as const),
}));

function refusesCleanly(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (!(err instanceof ScramSyntaxError)) throw new Error(`threw ${String(err)}`, { cause: err });
    return false;
  }
}

/** One character of a header replaced, inserted or removed. */
const textEdit = fc.record({ at: fc.nat(), kind: fc.nat(2), char: fc.constantFrom('"', '\\', ',', '=', ' ', '\t', 'a', '/', '\u00ff', '\u0100', '\r', '\n', '\u0000') });
function editText(text: string, e: { at: number; kind: number; char: string }): string {
  const i = e.at % (text.length + 1);
  if (e.kind === 0) return text.slice(0, i) + e.char + text.slice(i + 1);
  if (e.kind === 1) return text.slice(0, i) + e.char + text.slice(i);
  return text.slice(0, i) + text.slice(i + 1);
}

describe('RFC 7804 header parser under hostile input', () => {
  it(
    'credentials written from the grammar parse to exactly their parameters (duplicates refused)',
    () => {
      let duplicates = 0;
      fc.assert(
        fc.property(credentials, ({ header, scheme, params }) => {
          const names = params.map(([name]) => name);
          if (new Set(names).size !== names.length) {
            duplicates++;
            expect(refusesCleanly(() => parseCredentials(header))).toBe(false);
            return;
          }
          const parsed = parseCredentials(header);
          expect(parsed.scheme).toBe(scheme);
          expect([...parsed.params]).toEqual(params);
        }),
        fuzzParameters(RUNS),
      );
      recordFigure('fuzz RFC 7804 credentials from the grammar', { cases: fuzzRuns(RUNS), duplicates, mismatches: 0 });
    },
    fuzzTimeout(RUNS, 0.2),
  );

  it(
    'edited headers and arbitrary text fail, if at all, only with ScramSyntaxError',
    () => {
      const header = fc.oneof(
        fc.tuple(credentials, fc.array(textEdit, { minLength: 1, maxLength: 3 })).map(([c, edits]) => edits.reduce(editText, c.header)),
        fc.string({ maxLength: 300 }),
        fc.string({ unit: fc.constantFrom('S', ' ', ',', '=', '"', '\\', 'a', '/', '\t'), maxLength: 200 }),
      );
      fc.assert(
        fc.property(header, (text) => {
          refusesCleanly(() => parseCredentials(text));
          refusesCleanly(() => parseChallenges(text));
          refusesCleanly(() => parseAuthParams(text));
        }),
        fuzzParameters(RUNS),
      );
      recordFigure('fuzz RFC 7804 edited and random headers', { cases: fuzzRuns(RUNS), crashes: 0 });
    },
    fuzzTimeout(RUNS, 0.3),
  );

  it('parses pathological headers up to the 8 KiB cap in linear time, and refuses longer ones at once', () => {
    const n = MAX_HEADER_LENGTH - 16;
    const inputs = [
      `S "${'\\'.repeat(n)}`,
      `S a="${'\\"'.repeat(n / 2)}`,
      `S a=${'a'.repeat(n)}`,
      `S ${'a=a,'.repeat(n / 4)}`,
      `S ${', '.repeat(n / 2)}`,
      `S ${'a='.repeat(n / 2)}`,
      `S ${'/'.repeat(n)}=`,
      `S ${'a '.repeat(n / 2)}`,
      `${'S, '.repeat(n / 3)}`,
      `S a="${'\u00ff'.repeat(n)}`,
      `S a=${'='.repeat(n)}`,
      `S ${'\t'.repeat(n)}a=b`,
    ];
    let slowest = 0;
    for (const text of inputs) {
      expect(text.length).toBeLessThanOrEqual(MAX_HEADER_LENGTH);
      const started = performance.now();
      for (let i = 0; i < 5; i++) {
        refusesCleanly(() => parseChallenges(text));
        refusesCleanly(() => parseCredentials(text));
      }
      const perParse = (performance.now() - started) / 10;
      slowest = Math.max(slowest, perParse);
      expect(perParse, text.slice(0, 20)).toBeLessThan(25);
    }
    expect(refusesCleanly(() => parseChallenges('S a='.padEnd(MAX_HEADER_LENGTH + 1, 'a')))).toBe(false);
    recordFigure('RFC 7804 parser, slowest pathological 8 KiB header', { inputs: inputs.length, slowestMs: Number(slowest.toFixed(3)) });
  });
});
