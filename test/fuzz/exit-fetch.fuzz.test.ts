// Fuzzing the exit's fetch request decoding (relay/exit-fetch.ts, TPDP §6.2) through a real
// circuit to a real relay process: arbitrary bytes as a request head, heads encoded from arbitrary
// methods, URLs, headers (CR/LF included, bypassing the client's checks) and bodies, and valid heads
// with bytes overwritten. Every stream must end on its own, within bounded time, with a response
// or an END whose reason says what was wrong; the circuit must survive every one of them; the
// origin must never see an injected header; nothing may be left open at the exit.
import fc from 'fast-check';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, utf8, writeU16, writeU32 } from '../../shared/bytes.ts';
import type { ClientCircuit } from '../../shared/client/circuit.ts';
import { decodeResponseHead, encodeRequestHead, HeadCollector } from '../../shared/fetch-codec.ts';
import type { ReasonName } from '../../shared/errors.ts';
import { recordFigure } from '../support/figures.ts';
import { residentBytes, startTestNetwork } from '../support/processes.ts';
import { circuitThrough, eventually, listedRelays, relayHealth, warmUp } from '../support/relay-circuits.ts';
import { bytes } from './bytes.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const RUNS = 100; // × PER_CASE streams
const PER_CASE = 32;
const MiB = 1024 * 1024;

let network: Awaited<ReturnType<typeof startTestNetwork>>;
let exitUrl: string;
let circuit: ClientCircuit;
let origin: http.Server;
let originPort = 0;
const originHeaders: string[][] = [];

beforeAll(async () => {
  network = await startTestNetwork({ relays: 1 });
  const relays = await listedRelays(network.poolRef);
  await warmUp(relays);
  exitUrl = relays[0].url;
  circuit = (await circuitThrough(relays, { maxStreams: 256 })).circuit;
  // Answers at once, without waiting for a body whose announced length may be a lie.
  origin = http.createServer((req, res) => {
    originHeaders.push(req.rawHeaders);
    req.resume();
    res.end('origin says hi');
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  originPort = (origin.address() as AddressInfo).port;
}, 30_000);

afterAll(async () => {
  circuit?.destroy();
  origin?.closeAllConnections();
  await new Promise((resolve) => origin?.close(resolve));
  await network?.stop();
});

/** A request head written field by field, without the encoder's checks (so CR, LF and non-tokens get through). */
function rawHead(method: string, url: string, headers: [string, string][]): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(1), Uint8Array.of(Math.min(255, utf8(method).length)), utf8(method).subarray(0, 255)];
  const u16 = (n: number) => {
    const b = new Uint8Array(2);
    writeU16(b, 0, n);
    return b;
  };
  parts.push(u16(utf8(url).length), utf8(url), u16(headers.length));
  for (const [name, value] of headers) parts.push(u16(utf8(name).length), utf8(name), u16(utf8(value).length), utf8(value));
  const head = concatBytes(...parts);
  const prefix = new Uint8Array(4);
  writeU32(prefix, 0, head.length);
  return concatBytes(prefix, head);
}

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const url = fc.oneof(
  fc.constantFrom('/', '/path?q=1', '/%00', '/../../etc/passwd', '/a b', `/${'x'.repeat(3000)}`).map((path) => `http://127.0.0.1:PORT${path}`),
  fc.constantFrom('https://127.0.0.1:PORT/', 'http://127.0.0.1:1/', 'ftp://127.0.0.1/', 'file:///etc/passwd', 'data:text/plain,hi', 'javascript:1', 'http://[::1]:PORT/', 'http://', 'not a url', '', 'http://user:pw@127.0.0.1:PORT/', 'http://127.0.0.1:PORT/#frag', 'HTTP://127.0.0.1:PORT/'),
  fc.string({ maxLength: 60 }),
);
const headerName = fc.oneof(token, fc.constantFrom('Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Expect', 'TE', 'Upgrade', 'Cookie', 'x\r\ny', 'a:b', ''));
const headerValue = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('chunked', '0', '5', '-1', '99999999999', '100-continue', 'close, keep-alive', 'evil\r\nX-Injected: 1', 'a\nb', '\u00ff', '\u0100'));
const structured = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'TRACK', 'get', 'G ET', ''), token),
    url,
    headers: fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }),
    body: bytes(2000),
  })
  .map((r) => concatBytes(rawHead(r.method, r.url.replace('PORT', String(originPort)), r.headers), r.body));
const valid = fc
  .record({ method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'), path: fc.stringMatching(/^[a-z0-9/]{0,20}$/), headers: fc.array(fc.tuple(token, fc.stringMatching(/^[ -~]{0,20}$/)), { maxLength: 4 }), body: bytes(500) })
  .map((r) => ({ head: encodeRequestHead({ method: r.method, url: `http://127.0.0.1:${originPort}/${r.path}`, headers: r.headers }), body: r.body }));
const request = fc.oneof(
  { weight: 2, arbitrary: bytes(3000).map((b) => ({ bytes: b, expect: 'any' as const })) },
  { weight: 4, arbitrary: structured.map((b) => ({ bytes: b, expect: 'any' as const })) },
  { weight: 2, arbitrary: valid.map((v) => ({ bytes: concatBytes(v.head, v.body), expect: 'response' as const })) },
  {
    weight: 2,
    arbitrary: fc.tuple(valid, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 })).map(([v, edits]) => {
      const head = v.head.slice();
      for (const [at, value] of edits) head[at % head.length] = value;
      return { bytes: concatBytes(head, v.body), expect: 'any' as const };
    }),
  },
);

/** What an exit may answer a request it cannot perform with. */
const REFUSALS = new Set<ReasonName>(['PROTOCOL_ERROR', 'EXIT_POLICY_REFUSED', 'DESTINATION_CONNECTION_ERROR', 'DESTINATION_RESOLVE_ERROR']);

/** Sends one request on a new fetch stream and waits for the stream to end; resolves with how it ended. */
async function attempt(requestBytes: Uint8Array): Promise<{ outcome: string; status?: number; ms: number }> {
  const started = Date.now();
  const stream = await circuit.openStream({ kind: 'fetch' });
  const received: Uint8Array[] = [];
  const ended = new Promise<string>((resolve) => {
    stream.onData = (chunk) => {
      received.push(chunk.slice());
      stream.consumed();
    };
    stream.onClose = (error) => resolve(error?.code ?? 'DONE');
  });
  // Split arbitrarily across DATA cells, as a client may.
  for (let at = 0; at < requestBytes.length; at += 1000) stream.write(requestBytes.subarray(at, at + 1000));
  stream.finish();
  const timer = setTimeout(() => stream.close('DONE'), 10_000);
  const outcome = await ended;
  clearTimeout(timer);
  const head = new HeadCollector().push(concatBytes(...received));
  return { outcome, status: head ? decodeResponseHead(head.head).status : undefined, ms: Date.now() - started };
}

describe('the exit fed arbitrary fetch requests through a real circuit', () => {
  it(
    'every stream ends by itself with a response or a refusal; the circuit survives; nothing is left open',
    async () => {
      const rssBefore = await residentBytes(network.relays[0].process.pid!);
      const outcomes = new Map<string, number>();
      let slowest = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(request, { minLength: PER_CASE, maxLength: PER_CASE }), async (requests) => {
          const results = await Promise.all(requests.map((r) => attempt(r.bytes)));
          results.forEach((result, i) => {
            const key = result.status !== undefined ? `HTTP ${result.status}` : result.outcome;
            outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
            slowest = Math.max(slowest, result.ms);
            expect(result.ms).toBeLessThan(9_000);
            if (result.status === undefined) expect(REFUSALS.has(result.outcome as ReasonName), result.outcome).toBe(true);
            if (requests[i].expect === 'response') expect(result.status).toBe(200);
          });
          expect(circuit.state).toBe('open');
        }),
        fuzzParameters(RUNS, PER_CASE),
      );
      // No header the fuzzer tried to inject reached the origin, and the exit holds no stream.
      for (const raw of originHeaders) for (const field of raw) expect(field).not.toMatch(/[\r\n]/);
      expect(originHeaders.flat().some((field) => /^x-injected$/i.test(field))).toBe(false);
      await eventually(async () => (await relayHealth(exitUrl)).streams === 0, 5000, 'the exit closed every stream');
      // The exit's heap grows to a high-water mark and stays there (about 155 MiB above idle with 32
      // streams at a time, measured flat from 15 000 to 50 000 streams): bounded, not leaking.
      const rssGrowth = (await residentBytes(network.relays[0].process.pid!)) - rssBefore;
      expect(rssGrowth).toBeLessThan(256 * MiB);
      recordFigure('fuzz exit fetch requests (real circuit, real exit)', {
        streams: PER_CASE * fuzzRuns(RUNS, PER_CASE),
        outcomes: Object.fromEntries(outcomes),
        slowestMs: slowest,
        originRequests: originHeaders.length,
        injectedHeadersSeen: 0,
        exitRssGrowthMiB: Number((rssGrowth / MiB).toFixed(1)),
        circuitDestroyed: 0,
      });
    },
    fuzzTimeout(RUNS, 150, PER_CASE),
  );
});
