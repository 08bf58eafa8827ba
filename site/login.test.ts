import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScramLoginError, answerServerFirst, scramLogin } from '../shared/scram-client.ts';
import { encodeData, parseServerFirst, toBase64 } from '../shared/scram-messages.ts';
import {
  TEST_ITERATIONS,
  countingCrypto,
  fetchFrom,
  scramCrypto,
  sendClientFinal,
  sendClientFirst,
  startTestSite,
  type TestSite,
} from './test-support.ts';

const PASSWORD = 'correct horse battery staple';
const accounts = { alice: PASSWORD, 'bob,the=builder': 'pencil' };
const login = (site: TestSite, user: string, password: string) =>
  scramLogin({ fetch, siteUrl: site.url, user, password, crypto: scramCrypto });
const failureCode = (promise: Promise<unknown>) => promise.then(() => 'logged in', (err: ScramLoginError) => err.code);

describe('SCRAM login against a running site', () => {
  let site: TestSite;
  let counted: ReturnType<typeof countingCrypto>;
  beforeAll(async () => {
    counted = countingCrypto(scramCrypto);
    site = await startTestSite(accounts, { crypto: counted.crypto, secret: 'the eagle lands at dawn' });
  });
  afterAll(() => site.close());

  it('logs in, verifies the server signature and returns the secret', async () => {
    const result = await login(site, 'alice', PASSWORD);
    expect(result.secret).toBe('the eagle lands at dawn');
    expect(result.user).toBe('alice');
    expect((await login(site, 'bob,the=builder', 'pencil')).secret).toBe('the eagle lands at dawn');
    expect(site.logs).toContainEqual(expect.objectContaining({ message: 'login succeeded', user: 'alice', peer: '127.0.0.1' }));
  });

  it('offers SCRAM-SHA-256 with a realm to an unauthenticated request', async () => {
    const response = await fetch(`${site.url}/secret`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('SCRAM-SHA-256 realm="allium"');
  });

  it('refuses a wrong password', async () => {
    expect(await failureCode(login(site, 'alice', 'Correct horse battery staple'))).toBe('REJECTED');
    expect(site.logs).toContainEqual(expect.objectContaining({ message: 'login failed', user: 'alice', peer: '127.0.0.1' }));
  });

  it('answers an unknown user exactly like a known one, through the same work', async () => {
    const delta = (since: Record<string, number>) => Object.fromEntries(Object.entries(counted.calls).map(([name, n]) => [name, n - since[name]]));
    const attempt = async (user: string) => {
      const atStart = { ...counted.calls };
      const started = await sendClientFirst(fetch, site.url, user);
      const challenge = parseServerFirst(started.serverFirst);
      const step = await answerServerFirst(scramCrypto, started.first, started.serverFirst, 'wrong password');
      const beforeFinal = { ...counted.calls };
      const final = await sendClientFinal(fetch, site.url, started.sid, step.clientFinal);
      const finalWork = delta(beforeFinal);
      return {
        first: { status: started.response.status, headers: [...started.response.headers.keys()], body: await started.response.text() },
        salt: challenge.salt,
        iterations: challenge.iterations,
        final: { status: final.status, headers: [...final.headers.keys()], body: await final.text() },
        finalWork,
        work: delta(atStart),
      };
    };
    const known = await attempt('alice');
    const unknown = await attempt('mallory');
    const unknownAgain = await attempt('mallory');
    const otherUnknown = await attempt('trudy');

    expect(unknown.first).toEqual(known.first);
    expect(unknown.final).toEqual(known.final);
    expect(unknown.salt.length).toBe(known.salt.length);
    expect(unknown.iterations).toBe(known.iterations);
    expect(unknown.iterations).toBe(TEST_ITERATIONS);
    // The fake salt is stable, as a real account's is, and differs from name to name.
    expect(unknownAgain.salt).toEqual(unknown.salt);
    expect(otherUnknown.salt).not.toEqual(unknown.salt);
    // The same crypto calls, for the whole attempt and for the verification step; no PBKDF2 ever.
    expect(unknown.work).toEqual(known.work);
    expect(unknown.finalWork).toEqual(known.finalWork);
    expect(known.finalWork.hmacSha256).toBeGreaterThan(0);
    expect(counted.calls.pbkdf2Sha256).toBe(0);
  });

  it('refuses a replayed client-final', async () => {
    const started = await sendClientFirst(fetch, site.url, 'alice');
    const step = await answerServerFirst(scramCrypto, started.first, started.serverFirst, PASSWORD);
    const first = await sendClientFinal(fetch, site.url, started.sid, step.clientFinal);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('the eagle lands at dawn');
    const replay = await sendClientFinal(fetch, site.url, started.sid, step.clientFinal);
    expect(replay.status).toBe(401);
    expect(replay.headers.get('authentication-info')).toBeNull();
    expect(await replay.text()).not.toContain('eagle');
  });

  it('refuses a second login that reuses an earlier server nonce', async () => {
    const earlier = await sendClientFirst(fetch, site.url, 'alice');
    const earlierStep = await answerServerFirst(scramCrypto, earlier.first, earlier.serverFirst, PASSWORD);
    expect((await sendClientFinal(fetch, site.url, earlier.sid, earlierStep.clientFinal)).status).toBe(200);
    // A new exchange, answered with the proof (and nonce) of the earlier one.
    const later = await sendClientFirst(fetch, site.url, 'alice');
    expect(parseServerFirst(later.serverFirst).nonce).not.toBe(parseServerFirst(earlier.serverFirst).nonce);
    expect((await sendClientFinal(fetch, site.url, later.sid, earlierStep.clientFinal)).status).toBe(401);
    // Even a correct proof computed over the earlier server-first does not fit the new exchange.
    const mixed = await answerServerFirst(scramCrypto, later.first, earlier.serverFirst.replace(earlier.first.nonce, later.first.nonce), PASSWORD);
    const third = await sendClientFirst(fetch, site.url, 'alice');
    expect((await sendClientFinal(fetch, site.url, third.sid, mixed.clientFinal)).status).toBe(401);
  });

  it('refuses a client-final whose sid the server never issued', async () => {
    const started = await sendClientFirst(fetch, site.url, 'alice');
    const step = await answerServerFirst(scramCrypto, started.first, started.serverFirst, PASSWORD);
    expect((await sendClientFinal(fetch, site.url, 'AAAABBBBCCCCDDDD', step.clientFinal)).status).toBe(401);
  });

  it('refuses the secret from a site that cannot prove it holds the verifier', async () => {
    // An impostor relays the exchange to the real site but cannot forge the server signature.
    const impostor = (tamper: (info: string) => string | undefined) =>
      createServer((req, res) => {
        const authorization = req.headers.authorization;
        fetch(`${site.url}${req.url}`, { headers: authorization ? { authorization } : {} }).then(async (upstream) => {
          const headers: Record<string, string> = {};
          const challenge = upstream.headers.get('www-authenticate');
          const info = upstream.headers.get('authentication-info');
          if (challenge) headers['www-authenticate'] = challenge;
          const forged = info === null ? undefined : tamper(info);
          if (forged !== undefined) headers['authentication-info'] = forged;
          res.writeHead(upstream.status, headers).end(await upstream.text());
        });
      });
    const wrongSignature = (info: string) => info.replace(/data=\S+/, `data=${encodeData(`v=${toBase64(new Uint8Array(32))}`)}`);
    for (const [tamper, expected] of [
      [wrongSignature, 'SERVER_NOT_AUTHENTICATED'],
      [() => undefined, 'SERVER_NOT_AUTHENTICATED'],
      [(info: string) => info.replace(/sid=[^,]+/, 'sid=other'), 'SERVER_NOT_AUTHENTICATED'],
    ] as const) {
      const server = impostor(tamper);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const siteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        expect(await failureCode(scramLogin({ fetch, siteUrl, user: 'alice', password: PASSWORD, crypto: scramCrypto }))).toBe(expected);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });

  it('sets a session cookie that opens /secret afterwards, with the right attributes', async () => {
    const { setCookie } = await login(site, 'alice', PASSWORD);
    expect(setCookie).toMatch(/^allium_session=[A-Za-z0-9_-]{43}; /);
    const attributes = (setCookie ?? '').split('; ').slice(1);
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict']));
    expect(attributes).not.toContain('Secure'); // plain HTTP here; see pages.test.ts for TLS
    const cookie = (setCookie ?? '').split(';')[0];
    const page = await fetch(`${site.url}/secret`, { headers: { cookie, accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('the eagle lands at dawn');
    const plain = await fetch(`${site.url}/secret`, { headers: { cookie } });
    expect(await plain.text()).toBe('the eagle lands at dawn');
    const forged = await fetch(`${site.url}/secret`, { headers: { cookie: `allium_session=${'A'.repeat(43)}` } });
    expect(forged.status).toBe(401);
  });

  it('keeps no password bytes, nor a plain hash of them, in the database file', async () => {
    const raw = readFileSync(site.db);
    for (const password of Object.values(accounts)) {
      const bytes = Buffer.from(password, 'utf8');
      const sha256 = createHash('sha256').update(bytes).digest();
      for (const needle of [bytes, Buffer.from(password, 'utf16le'), sha256, Buffer.from(sha256.toString('hex')), Buffer.from(sha256.toString('base64'))]) {
        expect(raw.includes(needle), `found ${needle.toString('hex')}`).toBe(false);
      }
    }
    // It does hold the accounts: the names are there.
    expect(raw.includes(Buffer.from('alice'))).toBe(true);
  });
});

describe('nonce lifetime', () => {
  it('refuses a client-final once its server nonce has expired', async () => {
    const site = await startTestSite(accounts, { nonceTtlMs: 100 });
    try {
      const started = await sendClientFirst(fetchFrom(), site.url, 'alice');
      const step = await answerServerFirst(scramCrypto, started.first, started.serverFirst, PASSWORD);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await sendClientFinal(fetchFrom(), site.url, started.sid, step.clientFinal)).status).toBe(401);
    } finally {
      await site.close();
    }
  });
});
