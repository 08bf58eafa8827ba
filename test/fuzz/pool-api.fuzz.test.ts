// Fuzzing a running pool's HTTP API (pool/server.ts) over real sockets: arbitrary JSON envelopes
// (random JSON, mutated and replayed signed ones, and valid ones), arbitrary raw bodies and
// content types, and arbitrary bytes instead of HTTP. Every refusal is a 4xx with a JSON
// {error, code}; only a valid, fresh signed request gets 200; nothing is ever a 5xx or logged
// as an error, and the pool keeps serving its signed list.
import fc from 'fast-check';
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url } from '../../shared/bytes.ts';
import { signDescriptor, signStatement, type SignedDescriptor } from '../../shared/descriptor.ts';
import { fetchRelayList } from '../../shared/directory.ts';
import { nodeCrypto as crypto } from '../../node/crypto.ts';
import { createLogger } from '../../node/log.ts';
import { startPool, type RunningPool } from '../../pool/server.ts';
import { recordFigure } from '../support/figures.ts';
import { bytes } from './bytes.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const ENVELOPE_RUNS = 250; // × 8 requests each
const RAW_BODY_RUNS = 200; // × 8
const RAW_HTTP_RUNS = 2_000;

let pool: RunningPool;
const logLines: { level: string; message: string }[] = [];
const unlimited = { capacity: 1e9, refillPerSecond: 1e9 };

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).trim().split('\n')) logLines.push(JSON.parse(line) as { level: string; message: string });
      done();
    },
  });
  // The flood limits have their own test (test/dos/pool-flood.test.ts); here every request must reach the API.
  pool = await startPool({ log: createLogger('pool', sink), floodLimits: { requestsPerSource: unlimited, newRelaysPerSource: unlimited } });
});

afterAll(async () => {
  // Still registering and serving a list signed with its key, and nothing was ever an internal error.
  const last = signDescriptor(relayFields(2), crypto.ed25519Keygen(), crypto);
  expect((await post({ path: '/v1/register', text: JSON.stringify(last), expect: 'ok' })).status).toBe(200);
  expect((await fetchRelayList({ url: pool.url, key: pool.poolKey }, { fetch, crypto })).map((r) => r.url)).toContain('ws://127.0.0.1:2');
  expect(logLines.filter((line) => line.level === 'error')).toEqual([]);
  await pool.close();
});

function relayFields(port: number) {
  return { onionKey: toBase64Url(crypto.x25519Keygen().publicKey), url: `ws://127.0.0.1:${port}`, outbound: [], exit: { allowPrivate: false } };
}

/** One relay that registers for real, so heartbeats and unregisters can be valid, replayed or forged. */
const member = { identity: crypto.ed25519Keygen(), registered: false };
/** Heartbeats the pool accepted (replays come from these), and those of the batch in flight. */
const sent: { path: string; text: string }[] = [];
const inFlight: { path: string; text: string }[] = [];

type Request = { path: string; text: string; contentType?: string; expect: 'ok' | 'refused' | 'either' };

function textEdit(text: string, at: number, char: string): string {
  const i = at % (text.length + 1);
  return text.slice(0, i) + char + text.slice(i + 1);
}

const PATHS = ['/v1/register', '/v1/heartbeat', '/v1/unregister'];
const envelopeRequest: fc.Arbitrary<() => Request> = fc.oneof(
  // Random JSON at a random endpoint.
  fc.tuple(fc.constantFrom(...PATHS, '/v1/relays', '/v1/health', '/v2/register', '/'), fc.jsonValue({ maxDepth: 3 })).map(([path, value]) => () => ({ path, text: JSON.stringify(value) ?? 'null', expect: 'refused' as const })),
  // Envelopes of the right shape holding junk.
  fc.tuple(fc.constantFrom(...PATHS), fc.constantFrom('descriptor', 'heartbeat'), fc.jsonValue({ maxDepth: 1 }), fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 }))).map(
    ([path, field, value, signature]) => () => ({ path, text: JSON.stringify({ [field]: typeof value === 'string' ? value : JSON.stringify(value), signature }), expect: 'refused' as const }),
  ),
  // A fresh, valid registration: 200.
  fc.integer({ min: 1, max: 65535 }).map((port) => () => ({ path: '/v1/register', text: JSON.stringify(signDescriptor(relayFields(port), crypto.ed25519Keygen(), crypto)), expect: 'ok' as const })),
  // A valid registration with one character changed (in the text or the signature): refused.
  fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.nat(), fc.constantFrom('"', '0', 'A', '\\', '}', ' '), fc.boolean()).map(([port, at, char, inSignature]) => () => {
    const signed: SignedDescriptor = signDescriptor(relayFields(port), crypto.ed25519Keygen(), crypto);
    const changed = inSignature ? { ...signed, signature: textEdit(signed.signature, at, char) } : { ...signed, descriptor: textEdit(signed.descriptor, at, char) };
    return { path: '/v1/register', text: JSON.stringify(changed), expect: JSON.stringify(changed) === JSON.stringify(signed) ? ('ok' as const) : ('refused' as const) };
  }),
  // The member's heartbeat: valid the first time (once it is registered), then replayed: refused.
  fc.constantFrom('heartbeat', 'replay', 'stale', 'other-domain').map((kind) => () => {
    if (!member.registered) {
      member.registered = true;
      return { path: '/v1/register', text: JSON.stringify(signDescriptor(relayFields(1), member.identity, crypto)), expect: 'ok' as const };
    }
    if (kind === 'replay' && sent.length > 0) return { ...sent[sent.length - 1], expect: 'refused' as const };
    const time = kind === 'stale' ? Date.now() - 10 * 60_000 : Date.now();
    const statement = signStatement(kind === 'other-domain' ? 'unregister' : 'heartbeat', member.identity, crypto, time);
    const request = { path: '/v1/heartbeat', text: JSON.stringify(statement) };
    inFlight.push(request);
    // A fresh heartbeat (also a "replay" with nothing accepted yet to replay) may be refused: two
    // signed in the same millisecond, or more than the pool allows a relay within its skew window.
    return { ...request, expect: kind === 'stale' || kind === 'other-domain' ? ('refused' as const) : ('either' as const) };
  }),
);

async function post(request: Request): Promise<{ status: number; body: unknown; contentType: string | null }> {
  const response = await fetch(pool.url + request.path, {
    method: 'POST',
    headers: request.contentType === undefined ? { 'content-type': 'application/json' } : request.contentType === '' ? {} : { 'content-type': request.contentType },
    body: request.text,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body, contentType: response.headers.get('content-type') };
}

function checkAnswer(request: Request, answer: { status: number; body: unknown; contentType: string | null }, statuses: Map<number, number>): void {
  statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  expect(answer.contentType).toMatch(/^application\/json/);
  if (request.expect === 'ok') expect(answer.status, request.text).toBe(200);
  if (answer.status === 200) {
    expect(request.expect, request.text).not.toBe('refused');
    return;
  }
  expect(answer.status, request.text).toBeGreaterThanOrEqual(400);
  expect(answer.status, request.text).toBeLessThan(500);
  expect(answer.body).toMatchObject({ error: expect.any(String), code: expect.stringMatching(/^[A-Z_]+$/) });
}

describe('a running pool fed hostile requests', () => {
  // Found by the raw-bytes target: a body cut short by the client was logged as an internal error
  // ("request failed", level error) and answered 500 — a free way to flood an operator's alerts.
  it('a client that leaves in the middle of a body is refused as a bad body, not logged as a failure', async () => {
    const before = logLines.length;
    const answer = await exchange(Number(new URL(pool.url).port), Buffer.from('POST /v1/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"descr'));
    expect(answer.text).not.toMatch(/^HTTP\/1\.1 5/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logLines.slice(before).filter((line) => line.level === 'error')).toEqual([]);
  });

  it(
    'arbitrary JSON envelopes: 200 only for a valid fresh signed request, else a 4xx JSON error',
    async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(fc.array(envelopeRequest, { minLength: 8, maxLength: 8 }), async (makers) => {
          const requests = makers.map((make) => make());
          const answers = await Promise.all(requests.map(post));
          for (const request of inFlight.splice(0)) if (answers[requests.findIndex((r) => r.text === request.text)]?.status === 200) sent.push(request);
          requests.forEach((request, i) => checkAnswer(request, answers[i], statuses));
        }),
        fuzzParameters(ENVELOPE_RUNS, 8),
      );
      expect(statuses.get(200)).toBeGreaterThan(0);
      recordFigure('fuzz pool API: JSON envelopes', { requests: 8 * fuzzRuns(ENVELOPE_RUNS, 8), statuses: Object.fromEntries(statuses), serverErrors: 0 });
    },
    fuzzTimeout(ENVELOPE_RUNS, 40, 8),
  );

  it(
    'arbitrary raw bodies and content types: a 4xx JSON error',
    async () => {
      const statuses = new Map<number, number>();
      const body = fc.oneof(
        bytes(2048).map((b) => Buffer.from(b).toString('latin1')),
        fc.string({ maxLength: 200 }),
        fc.constantFrom('', '{', '{"descriptor":', 'null', '"x"', '1e999', '{"descriptor":"\\ud800"}', '\ufeff{}', '[]'.repeat(3000)),
      );
      const contentType = fc.constantFrom(undefined, '', 'text/plain', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;', 'application/jsonx', 'multipart/form-data; boundary=x');
      const raw = fc.record({ path: fc.constantFrom(...PATHS), text: body, contentType }).map((r) => ({ ...r, expect: 'refused' as const }));
      await fc.assert(
        fc.asyncProperty(fc.array(raw, { minLength: 8, maxLength: 8 }), async (requests) => {
          const answers = await Promise.all(requests.map(post));
          requests.forEach((request, i) => checkAnswer(request, answers[i], statuses));
        }),
        fuzzParameters(RAW_BODY_RUNS, 8),
      );
      recordFigure('fuzz pool API: raw bodies', { requests: 8 * fuzzRuns(RAW_BODY_RUNS, 8), statuses: Object.fromEntries(statuses), serverErrors: 0 });
    },
    fuzzTimeout(RAW_BODY_RUNS, 40, 8),
  );

  it(
    'arbitrary bytes instead of HTTP: answered with a 4xx (or closed) within the request timeout, never a 5xx',
    async () => {
      const port = Number(new URL(pool.url).port);
      const statusLines = new Map<string, number>();
      const head = fc.oneof(
        bytes(600).map((b) => Buffer.from(b)),
        fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'G\0T', ''), fc.string({ maxLength: 40 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', 'HTTP/1.1\n', ''), fc.string({ maxLength: 80 })).map(
          ([method, path, version, headers]) => Buffer.from(`${method} /v1/${path} ${version}\r\n${headers}\r\n\r\n`, 'latin1'),
        ),
        fc.tuple(fc.constantFrom('/v1/register', '/v1/heartbeat'), fc.integer({ min: -5, max: 70_000 }), bytes(300)).map(([path, length, body]) =>
          Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`), Buffer.from(body)]),
        ),
        fc.constantFrom(
          Buffer.from('POST /v1/register HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n'),
          Buffer.from('POST /v1/register HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\nContent-Type: application/json\r\n\r\n{}'),
          Buffer.from(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\n\r\n`),
          Buffer.from(`GET /v1/health HTTP/1.1\r\n${'X: y\r\n'.repeat(3000)}\r\n`),
        ),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(head, { minLength: 4, maxLength: 4 }), async (inputs) => {
          const answers = await Promise.all(inputs.map((input) => exchange(port, input)));
          for (const answer of answers) {
            const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer.text)?.[1];
            statusLines.set(status ?? 'closed', (statusLines.get(status ?? 'closed') ?? 0) + 1);
            if (status) expect(Number(status), answer.text.slice(0, 200)).toBeLessThan(500);
            expect(answer.ms).toBeLessThan(5_000);
          }
        }),
        fuzzParameters(RAW_HTTP_RUNS / 4, 4),
      );
      recordFigure('fuzz pool API: raw bytes over TCP', { connections: fuzzRuns(RAW_HTTP_RUNS / 4, 4) * 4, statuses: Object.fromEntries(statusLines), serverErrors: 0 });
    },
    fuzzTimeout(RAW_HTTP_RUNS / 4, 40, 4),
  );
});

/** Writes bytes, half-closes, and reads whatever comes back until the pool closes the connection. */
function exchange(port: number, input: Buffer): Promise<{ text: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1', () => socket.end(input));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - started }));
    socket.setTimeout(10_000, () => socket.destroy());
  });
}
