// What the site's tests share: a real site on 127.0.0.1 port 0 over a real SQLite file in a temp
// dir, its logs captured, a fetch that can choose its source address (127.0.0.2 …), and the raw
// steps of the RFC 7804 exchange for tests that replay or tamper with them.
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createLogger } from '../node/log.ts';
import { toBase64Url } from '../shared/bytes.ts';
import type { ScramLoginOptions } from '../shared/scram-client.ts';
import { webCryptoScram, type ScramCrypto } from '../shared/scram-crypto.ts';
import { SCRAM_SCHEME, formatChallenge, parseChallenges } from '../shared/scram-http.ts';
import { clientFirstMessage, decodeData, encodeData, formatClientFirst, type ClientFirst } from '../shared/scram-messages.ts';
import { startSite, type SiteOptions } from './server.ts';
import { addUser } from './users.ts';

export const scramCrypto = webCryptoScram(globalThis.crypto);
/** The RFC 7677 minimum, so tests stay fast; the default stays 600,000. */
export const TEST_ITERATIONS = 4096;

export type Fetch = ScramLoginOptions['fetch'];

/**
 * A fetch over node:http(s) with a chosen local address (the global fetch cannot bind one) and an
 * extra trusted CA, returning a standard Response.
 */
export function fetchFrom(options: { localAddress?: string; ca?: string | Buffer } = {}): Fetch {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        target,
        { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, localAddress: options.localAddress, ca: options.ca, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
            resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers }));
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
}

export interface TestSite {
  url: string;
  db: string;
  /** The site's log lines, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts a site with the given accounts (name → password), created at TEST_ITERATIONS. */
export async function startTestSite(accounts: Record<string, string>, options: Partial<SiteOptions> = {}): Promise<TestSite> {
  const dir = mkdtempSync(join(tmpdir(), 'allium-site-'));
  const db = join(dir, 'site.db');
  for (const [name, password] of Object.entries(accounts)) await addUser(db, name, password, { iterations: TEST_ITERATIONS });
  const logs: Record<string, unknown>[] = [];
  const sink = new PassThrough();
  sink.setEncoding('utf8');
  sink.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  // Sensitive fields shown: these tests check who the site logs (the default scrubs them, node/log.ts).
  const site = await startSite({ db, iterations: TEST_ITERATIONS, logger: createLogger('site', sink, { sensitive: true }), ...options });
  return {
    url: site.url,
    db,
    logs,
    async close() {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Counts every call a site makes into its crypto, to show two paths do the same work. */
export function countingCrypto(inner: ScramCrypto): { crypto: ScramCrypto; calls: Record<string, number> } {
  const calls: Record<string, number> = { pbkdf2Sha256: 0, hmacSha256: 0, sha256: 0, randomBytes: 0 };
  const crypto: ScramCrypto = {
    pbkdf2Sha256: (...args) => (calls.pbkdf2Sha256++, inner.pbkdf2Sha256(...args)),
    hmacSha256: (...args) => (calls.hmacSha256++, inner.hmacSha256(...args)),
    sha256: (...args) => (calls.sha256++, inner.sha256(...args)),
    randomBytes: (...args) => (calls.randomBytes++, inner.randomBytes(...args)),
  };
  return { crypto, calls };
}

export interface Started {
  first: ClientFirst;
  response: Response;
  sid: string;
  serverFirst: string;
}

function authorization(params: Record<string, string>): Record<string, string> {
  return { authorization: formatChallenge(SCRAM_SCHEME, params) };
}

/** Sends client-first for `user` and reads the server-first challenge (sid, message). */
export async function sendClientFirst(fetch: Fetch, siteUrl: string, user: string): Promise<Started> {
  const first = formatClientFirst(user, toBase64Url(scramCrypto.randomBytes(12)));
  const response = await fetch(new URL('/secret', siteUrl).href, { headers: authorization({ realm: 'allium', data: encodeData(clientFirstMessage(first)) }) });
  const challenge = parseChallenges(response.headers.get('www-authenticate') ?? '')[0];
  return {
    first,
    response,
    sid: challenge?.params.get('sid') ?? '',
    serverFirst: challenge?.params.has('data') ? decodeData(challenge.params.get('data') as string) : '',
  };
}

export function sendClientFinal(fetch: Fetch, siteUrl: string, sid: string, clientFinal: string): Promise<Response> {
  return fetch(new URL('/secret', siteUrl).href, { headers: authorization({ sid, data: encodeData(clientFinal) }) });
}
