import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ScramSyntaxError,
  clientFirstMessage,
  decodeData,
  encodeData,
  escapeSaslName,
  formatClientFinalWithoutProof,
  formatClientFirst,
  formatServerFirst,
  fromBase64,
  parseClientFinal,
  parseClientFirst,
  parseServerFinal,
  parseServerFirst,
  saslPrep,
  toBase64,
  unescapeSaslName,
} from './scram-messages.ts';

/** Runs a parser on hostile input: it may only succeed or throw ScramSyntaxError. */
function cleanly(parse: () => unknown): void {
  try {
    parse();
  } catch (err) {
    if (!(err instanceof ScramSyntaxError)) throw err;
  }
}

describe('base64', () => {
  it('matches the RFC 4648 test vectors and round-trips', () => {
    const vectors = ['', 'Zg==', 'Zm8=', 'Zm9v', 'Zm9vYg==', 'Zm9vYmE=', 'Zm9vYmFy'];
    vectors.forEach((encoded, i) => {
      expect(toBase64(new TextEncoder().encode('foobar'.slice(0, i)))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64(encoded))).toBe('foobar'.slice(0, i));
    });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      }),
    );
  });

  it('refuses missing padding, whitespace, url-safe characters and non-canonical bits', () => {
    for (const bad of ['Zg', 'Zg=', 'Zm9 v', 'Zm-v', 'Zh==', '====', 'Z===']) expect(() => fromBase64(bad)).toThrow(ScramSyntaxError);
  });
});

describe('saslname and SASLprep', () => {
  it('escapes , and = as =2C and =3D (RFC 5802 §5.1) and refuses other escapes', () => {
    expect(escapeSaslName('a,b=c')).toBe('a=2Cb=3Dc');
    expect(unescapeSaslName('a=2Cb=3Dc')).toBe('a,b=c');
    expect(() => unescapeSaslName('a=2Xb')).toThrow(ScramSyntaxError);
    expect(() => unescapeSaslName('a=')).toThrow(ScramSyntaxError);
    fc.assert(
      fc.property(fc.string(), (name) => {
        expect(unescapeSaslName(escapeSaslName(name))).toBe(name);
      }),
    );
  });

  it('maps non-ASCII spaces, drops soft hyphens, applies NFKC and refuses control characters', () => {
    expect(saslPrep('I\u00ADX')).toBe('IX'); // RFC 4013 §3 example 1
    expect(saslPrep('\u00AA')).toBe('a'); // example 3
    expect(saslPrep('\u2168')).toBe('IX'); // example 4
    expect(saslPrep('a\u00A0b')).toBe('a b');
    expect(() => saslPrep('\u0007')).toThrow(ScramSyntaxError); // example 5
    expect(() => saslPrep('\u00AD')).toThrow(ScramSyntaxError);
  });
});

describe('messages', () => {
  it('formats and parses client-first, with a name that needs escaping', () => {
    const first = formatClientFirst('al,i=ce', 'abc');
    expect(clientFirstMessage(first)).toBe('n,,n=al=2Ci=3Dce,r=abc');
    expect(parseClientFirst('n,,n=al=2Ci=3Dce,r=abc')).toEqual(first);
    expect(parseClientFirst('y,,n=user,r=abc,x=extension').user).toBe('user');
  });

  it('refuses channel binding, authzid, reserved extensions and misplaced attributes', () => {
    for (const bad of [
      'p=tls-unique,,n=user,r=abc',
      'n,a=admin,n=user,r=abc',
      'n,,m=ext,n=user,r=abc',
      'n,,n=user,r=abc,m=ext',
      'n,,r=abc,n=user',
      'n,,n=user',
      'n,,n=user,r=a,b',
      'n,,n=,r=abc',
      'n,,n=user,r=',
      'n,,n=user,r=ab c',
    ]) {
      expect(() => parseClientFirst(bad), bad).toThrow(ScramSyntaxError);
    }
  });

  it('parses server-first and refuses bad iteration counts and salts', () => {
    expect(parseServerFirst(formatServerFirst({ nonce: 'n0nce', salt: new Uint8Array([1, 2, 3]), iterations: 4096 }))).toEqual({
      nonce: 'n0nce',
      salt: new Uint8Array([1, 2, 3]),
      iterations: 4096,
    });
    for (const bad of ['r=a,s=AQID,i=0', 'r=a,s=AQID,i=-1', 'r=a,s=AQID,i=1e9', 'r=a,s=AQID,i=99999999999', 'r=a,s=,i=4096', 'r=a,i=4096,s=AQID']) {
      expect(() => parseServerFirst(bad), bad).toThrow(ScramSyntaxError);
    }
  });

  it('parses client-final: the part without proof is exactly what precedes ",p="', () => {
    const withoutProof = formatClientFinalWithoutProof('n,,', 'abcdef');
    const final = parseClientFinal(`${withoutProof},x=ext,p=${toBase64(new Uint8Array(32))}`);
    expect(final.withoutProof).toBe(`${withoutProof},x=ext`);
    expect(final.channelBinding).toBe('n,,');
    expect(final.proof).toEqual(new Uint8Array(32));
    expect(() => parseClientFinal(`${withoutProof}`)).toThrow(ScramSyntaxError);
    expect(() => parseClientFinal(`${withoutProof},p=AAAA,p=AAAA`)).toThrow(ScramSyntaxError);
  });

  it('parses server-final verifiers and errors', () => {
    expect(parseServerFinal('v=AQID')).toEqual({ verifier: new Uint8Array([1, 2, 3]) });
    expect(parseServerFinal('e=invalid-proof')).toEqual({ error: 'invalid-proof' });
    expect(() => parseServerFinal('x=1')).toThrow(ScramSyntaxError);
  });

  it('every parser either parses or throws ScramSyntaxError on arbitrary input', () => {
    const parsers = [parseClientFirst, parseServerFirst, parseClientFinal, parseServerFinal, decodeData];
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        for (const parse of parsers) cleanly(() => parse(text));
        for (const parse of parsers.slice(0, 4)) cleanly(() => parse(decodeData(encodeData(text))));
      }),
      { numRuns: 500 },
    );
    expect(() => parseClientFirst(`n,,n=user,r=${'a'.repeat(5000)}`)).toThrow(ScramSyntaxError);
  });
});
