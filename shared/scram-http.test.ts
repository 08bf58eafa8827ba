import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScramSyntaxError } from './scram-messages.ts';
import { MAX_HEADER_LENGTH, formatAuthParams, formatChallenge, parseAuthParams, parseChallenges, parseCredentials } from './scram-http.ts';

describe('RFC 7804 headers', () => {
  it('reads the RFC 7804 §5 example headers, base64 data unquoted', () => {
    const offer = parseChallenges(
      'Digest realm="realm1@example.com", Digest realm="realm2@example.com", SCRAM-SHA-256 realm="testrealm@example.com"',
    );
    expect(offer.map((c) => c.scheme)).toEqual(['Digest', 'Digest', 'SCRAM-SHA-256']);
    expect(offer[2].params.get('realm')).toBe('testrealm@example.com');
    const credentials = parseCredentials('SCRAM-SHA-256 realm="testrealm@example.com", data=biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8K');
    expect(credentials.params.get('data')).toBe('biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8K');
    const final = parseCredentials('SCRAM-SHA-256 sid=AAAABBBBCCCCDDDD, data=Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8lhvYDp==');
    expect(final.params.get('sid')).toBe('AAAABBBBCCCCDDDD');
    expect(final.params.get('data')).toBe('Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8lhvYDp==');
    expect(parseAuthParams('sid=AAAABBBBCCCCDDDD, data=dj02cnJp+/==').get('data')).toBe('dj02cnJp+/==');
  });

  it('handles quoted-strings with escapes, case-insensitive names, spaces and empty list elements', () => {
    const challenge = parseCredentials('scram-sha-256  REALM = "a \\"quoted\\" realm, with comma" ,, data="abc="');
    expect(challenge.scheme).toBe('scram-sha-256');
    expect(challenge.params.get('realm')).toBe('a "quoted" realm, with comma');
    expect(challenge.params.get('data')).toBe('abc=');
  });

  it('reads token68 credentials (of other schemes) as carrying no parameters', () => {
    expect(parseCredentials('SCRAM-SHA-256 data=').params.size).toBe(0);
    const list = parseChallenges('Basic dXNlcjpwYXNz, SCRAM-SHA-256 realm="r"');
    expect(list.map((c) => c.scheme)).toEqual(['Basic', 'SCRAM-SHA-256']);
  });

  it('formats so that parsing gives the parameters back', () => {
    expect(formatChallenge('SCRAM-SHA-256', { realm: 'allium' })).toBe('SCRAM-SHA-256 realm="allium"');
    expect(formatAuthParams({ sid: 'abc-_', data: 'a+b/c==' })).toBe('sid=abc-_, data=a+b/c==');
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), fc.string({ unit: 'grapheme-ascii', maxLength: 30 })), (params) => {
        const parsed = parseCredentials(formatChallenge('SCRAM-SHA-256', params)).params;
        expect(Object.fromEntries(parsed)).toEqual(params);
      }),
    );
  });

  it('refuses duplicates, unterminated quotes, stray characters and oversized headers', () => {
    for (const bad of [
      'SCRAM-SHA-256 data=a, data=b',
      'SCRAM-SHA-256 realm="open',
      'SCRAM-SHA-256 data=a b=c',
      'SCRAM-SHA-256 =a',
      'SCRAM-SHA-256 data=a; sid=b',
      'SCRAM-SHA-256 realm="x", Basic abc',
      '"SCRAM-SHA-256"',
      `SCRAM-SHA-256 data=${'a'.repeat(MAX_HEADER_LENGTH)}`,
    ]) {
      expect(() => parseCredentials(bad), bad).toThrow(ScramSyntaxError);
    }
  });

  it('never throws anything but ScramSyntaxError', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (text) => {
        try {
          parseChallenges(text);
        } catch (err) {
          expect(err).toBeInstanceOf(ScramSyntaxError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
