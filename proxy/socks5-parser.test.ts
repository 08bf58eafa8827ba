import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Socks5Parser, type Socks5Event } from './socks5-parser.ts';

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

const noAuthDomain = bytes([5, 1, 0], [5, 1, 0, 3, 11], 'example.com', [0x01, 0xbb]);
const userPass = bytes([5, 2, 0, 2], [1, 5], 'alice', [6], 'secret', [5, 1, 0, 1, 10, 0, 0, 1, 0, 80]);

function parseAll(chunks: Uint8Array[]): Socks5Event[] {
  const parser = new Socks5Parser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

function refusal(input: Uint8Array): Extract<Socks5Event, { type: 'refuse' }> {
  const last = new Socks5Parser().push(input).at(-1);
  if (last?.type !== 'refuse') throw new Error('expected the parser to refuse');
  return last;
}

describe('Socks5Parser', () => {
  it('parses a no-auth CONNECT to a domain name', () => {
    expect(parseAll([noAuthDomain])).toEqual([
      { type: 'method', method: 0 },
      { type: 'connect', host: 'example.com', port: 443, rest: new Uint8Array(0) },
    ]);
  });

  it('prefers username/password when offered and returns the pair', () => {
    expect(parseAll([userPass])).toEqual([
      { type: 'method', method: 2 },
      { type: 'credentials', username: bytes('alice'), password: bytes('secret') },
      { type: 'connect', host: '10.0.0.1', port: 80, rest: new Uint8Array(0) },
    ]);
  });

  it('accepts empty username and password', () => {
    const events = parseAll([bytes([5, 1, 2], [1, 0, 0], [5, 1, 0, 1, 1, 2, 3, 4, 0, 1])]);
    expect(events[1]).toEqual({ type: 'credentials', username: new Uint8Array(0), password: new Uint8Array(0) });
    expect(events[2]).toMatchObject({ host: '1.2.3.4', port: 1 });
  });

  it('formats IPv6 targets canonically', () => {
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect(parseAll([bytes([5, 1, 0], [5, 1, 0, 4], v6, [0, 80])])[1]).toMatchObject({ host: '2001:db8::1', port: 80 });
  });

  it('gives the same events byte by byte as in one read', () => {
    for (const input of [noAuthDomain, userPass]) {
      expect(parseAll([...input].map((b) => Uint8Array.of(b)))).toEqual(parseAll([input]));
    }
  });

  it('gives the same events however the bytes are split (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(noAuthDomain, userPass), fc.uniqueArray(fc.integer({ min: 1, max: userPass.length - 1 })), (input, cuts) => {
        const points = [0, ...cuts.filter((c) => c < input.length).sort((a, b) => a - b), input.length];
        const chunks = points.slice(1).map((end, i) => input.subarray(points[i], end));
        expect(parseAll(chunks)).toEqual(parseAll([input]));
      }),
    );
  });

  it('hands back bytes sent after the request', () => {
    const events = parseAll([bytes([...noAuthDomain], 'GET / HTTP/1.1\r\n')]);
    expect(Buffer.from((events[1] as { rest: Uint8Array }).rest).toString()).toBe('GET / HTTP/1.1\r\n');
  });

  it('waits for more bytes on a truncated handshake', () => {
    const parser = new Socks5Parser();
    expect(parser.push(noAuthDomain.subarray(0, 10))).toEqual([{ type: 'method', method: 0 }]);
    expect(parser.push(noAuthDomain.subarray(10, 12))).toEqual([]);
  });

  it.each([
    ['BIND', bytes([5, 1, 0], [5, 2, 0, 1, 1, 2, 3, 4, 0, 80]), [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['UDP ASSOCIATE', bytes([5, 1, 0], [5, 3, 0, 1, 1, 2, 3, 4, 0, 80]), [5, 7, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['an unknown address type', bytes([5, 1, 0], [5, 1, 0, 9]), [5, 8, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['an empty domain', bytes([5, 1, 0], [5, 1, 0, 3, 0]), [5, 4, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['a domain with a control byte', bytes([5, 1, 0], [5, 1, 0, 3, 3], 'a\nb', [0, 80]), [5, 4, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['a bad request version', bytes([5, 1, 0], [4, 1, 0, 1]), [5, 1, 0, 1, 0, 0, 0, 0, 0, 0]],
    ['no method offered', bytes([5, 0]), [5, 0xff]],
    ['only GSSAPI offered', bytes([5, 1, 1]), [5, 0xff]],
    ['a bad auth version', bytes([5, 1, 2], [2, 0]), [1, 1]],
    ['SOCKS4', bytes([4, 1, 0, 80, 1, 2, 3, 4, 0]), [0, 0x5b, 0, 0, 0, 0, 0, 0]],
  ])('refuses %s with the right reply', (_, input, reply) => {
    expect([...(refusal(input).reply ?? [])]).toEqual(reply);
  });

  it('closes silently on bytes that are no SOCKS at all', () => {
    expect(refusal(bytes('GET / HTTP/1.1\r\n\r\n')).reply).toBeUndefined();
  });

  it('answers what came before a refusal in the same read', () => {
    expect(new Socks5Parser().push(bytes([5, 1, 0], [5, 1, 0, 0xee]))).toEqual([
      { type: 'method', method: 0 },
      { type: 'refuse', reason: 'address type 0xee is not supported', reply: Uint8Array.of(5, 8, 0, 1, 0, 0, 0, 0, 0, 0) },
    ]);
  });

  it('stops after a refusal or a complete request', () => {
    const parser = new Socks5Parser();
    expect(parser.push(bytes([5, 0, 7]))).toHaveLength(1);
    expect(() => parser.push(bytes([5]))).toThrow(/failed/);
    const done = new Socks5Parser();
    done.push(noAuthDomain);
    expect(() => done.push(bytes([1]))).toThrow(/done/);
  });

  it('never throws on random input, and nothing follows a refusal (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        const parser = new Socks5Parser();
        for (const chunk of chunks) {
          const events = parser.push(chunk);
          const end = events.findIndex((e) => e.type === 'connect' || e.type === 'refuse');
          if (end >= 0) {
            expect(end).toBe(events.length - 1);
            break;
          }
        }
      }),
    );
  });
});
