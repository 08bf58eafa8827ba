import fc from 'fast-check';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { answerServerFirst, scramLogin } from '../shared/scram-client.ts';
import { encodeData, toBase64 } from '../shared/scram-messages.ts';
import { fetchFrom, scramCrypto, sendClientFirst, startTestSite } from './test-support.ts';

// Characters Node's HTTP client lets through in a header value: tab, visible ASCII, obs-text.
const headerChar = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff })).map((c) => String.fromCharCode(c));
const headerText = (maxLength: number) => fc.string({ unit: headerChar, maxLength });
const scramText = fc.string({ unit: fc.constantFrom(...'nrcpsivem=,aA0+/$%_-'.split('')), maxLength: 80 });

/** Garbled credentials: random text, near-valid SCRAM headers, valid base64 of garbled messages. */
const garbled = fc.oneof(
  headerText(200),
  headerText(60).map((t) => `SCRAM-SHA-256 ${t}`),
  scramText.map((m) => `SCRAM-SHA-256 realm="allium", data=${encodeData(m)}`),
  fc.tuple(headerText(24), scramText).map(([sid, m]) => `SCRAM-SHA-256 sid=${sid}, data=${encodeData(m)}`),
  fc.tuple(fc.string({ unit: fc.constantFrom(...'AaZz09+/=-_"\\, '.split('')), maxLength: 40 }), fc.boolean()).map(
    ([data, quoted]) => `SCRAM-SHA-256 data=${quoted ? `"${data}"` : data}`,
  ),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => `SCRAM-SHA-256 data=${toBase64(bytes)}`),
  fc.string({ unit: fc.constantFrom('n,,', 'y,,', 'p=x,,', 'n=', 'r=', ',', '=2C', '=3D', '=', 'user', 'abc', '\u00e9', 'm=x'), maxLength: 10 }).map(
    (m) => `SCRAM-SHA-256 data=${encodeData(m)}`,
  ),
);

const relaxed = {
  startsPerSource: { capacity: 1e6, refillPerSecond: 1e6 },
  failuresPerSource: { capacity: 1e6, refillPerSecond: 1e6 },
  failuresPerUser: { capacity: 1e6, refillPerSecond: 1e6 },
};

describe('hostile Authorization headers', () => {
  it('get a clean 400 or 401 and leave the site serving logins', async () => {
    const site = await startTestSite({ alice: 'pencil' }, { rateLimits: relaxed });
    const request = fetchFrom();
    try {
      const headers = fc.sample(garbled, { numRuns: 400, seed: 7804 });
      const statuses = new Set<number>();
      for (const authorization of headers) {
        const response = await request(`${site.url}/secret`, { headers: { authorization } });
        statuses.add(response.status);
        expect([400, 401], authorization).toContain(response.status);
        expect(await response.text()).not.toContain('pencil');
      }
      expect(statuses).toEqual(new Set([400, 401]));

      // Client-finals garbled after a valid client-first: the exchange is spent, the answer clean.
      for (const final of fc.sample(scramText, { numRuns: 100, seed: 5802 })) {
        const started = await sendClientFirst(request, site.url, 'alice');
        const response = await request(`${site.url}/secret`, {
          headers: { authorization: `SCRAM-SHA-256 sid=${started.sid}, data=${encodeData(final)}` },
        });
        expect([400, 401], final).toContain(response.status);
        await response.text();
      }

      // A valid proof with one character changed is refused.
      const started = await sendClientFirst(request, site.url, 'alice');
      const step = await answerServerFirst(scramCrypto, started.first, started.serverFirst, 'pencil');
      const tampered = step.clientFinal.replace(/p=(.)/, (_, c: string) => `p=${c === 'A' ? 'B' : 'A'}`);
      const response = await request(`${site.url}/secret`, { headers: { authorization: `SCRAM-SHA-256 sid=${started.sid}, data=${encodeData(tampered)}` } });
      expect(response.status).toBe(401);

      // Bytes that are not HTTP at all.
      for (const garbage of ['\x00\x01\x02\r\n\r\n', 'GET /secret HTTP/1.1\r\nAuthorization: SCRAM-SHA-256 data=\x00\x7f\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n']) {
        await new Promise<void>((resolve) => {
          const socket = connect(Number(new URL(site.url).port), '127.0.0.1', () => socket.end(garbage));
          socket.on('error', () => resolve());
          socket.on('close', () => resolve());
          socket.resume();
        });
      }

      expect((await scramLogin({ fetch: request, siteUrl: site.url, user: 'alice', password: 'pencil', crypto: scramCrypto })).user).toBe('alice');
      expect(site.logs.filter((entry) => entry.level === 'error')).toEqual([]);
    } finally {
      await site.close();
    }
  });
});
