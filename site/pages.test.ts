import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scramLogin } from '../shared/scram-client.ts';
import { normalizeAddress, sourceKey } from '../node/peer-address.ts';
import { fetchFrom, scramCrypto, startTestSite, type TestSite } from './test-support.ts';

describe('peer addresses', () => {
  it('normalises IPv4-mapped IPv6 and keys IPv6 sources by /64', () => {
    expect(normalizeAddress('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(normalizeAddress('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(sourceKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(sourceKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2::7')).toBe(sourceKey('2001:db8:1:2:ffff::1'));
    expect(sourceKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('pages', () => {
  let site: TestSite;
  let lookups = 0;
  beforeAll(async () => {
    // Listening on :: (dual stack), IPv4 peers arrive as ::ffff:a.b.c.d and must still match.
    site = await startTestSite(
      {},
      {
        host: '::',
        exitAddresses: async () => {
          lookups++;
          return new Set(['127.0.0.2', '127.0.0.3']);
        },
      },
    );
  });
  afterAll(() => site.close());
  const port = () => new URL(site.url).port;

  it('tells a visitor arriving from a relay outbound address that it came through Allium', async () => {
    const viaExit = await fetchFrom({ localAddress: '127.0.0.2' })(`http://127.0.0.1:${port()}/`, {});
    expect(viaExit.status).toBe(200);
    const page = await viaExit.text();
    expect(page).toContain('You are using Allium');
    expect(page).toContain('127.0.0.2');
    expect(page).not.toContain('::ffff:');
    const direct = await (await fetchFrom({ localAddress: '127.0.0.9' })(`http://127.0.0.1:${port()}/`, {})).text();
    expect(direct).toContain('You are not using Allium');
    expect(lookups).toBe(2);
  });

  it('serves every page with a strict CSP, and the login script as JavaScript from the site itself', async () => {
    const login = await fetch(`http://127.0.0.1:${port()}/login`);
    const csp = login.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(login.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await login.text();
    expect(html).not.toMatch(/<script>|<style>| on\w+=|https?:\/\//);
    const script = /<script type="module" src="([^"]+)"><\/script>/.exec(html)?.[1];
    expect(script).toBeDefined();
    // Follow the module graph the browser would load: every import resolves, all type-stripped.
    const seen = new Set<string>();
    const load = async (url: URL): Promise<void> => {
      if (seen.has(url.pathname)) return;
      seen.add(url.pathname);
      const response = await fetch(url);
      expect(response.status, url.pathname).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const code = await response.text();
      // Plain JavaScript: a JS parser (Node's, with TypeScript off) accepts it.
      const check = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: code, encoding: 'utf8' });
      expect(check.stderr, url.pathname).toBe('');
      for (const [, specifier] of code.matchAll(/from '(\.[^']+)'/g)) await load(new URL(specifier, url));
    };
    await load(new URL(script as string, `http://127.0.0.1:${port()}`));
    expect([...seen]).toEqual(expect.arrayContaining(['/js/site/static/login.ts', '/js/shared/scram-client.ts', '/js/shared/scram-crypto.ts']));
    expect((await fetch(`http://127.0.0.1:${port()}/style.css`)).headers.get('content-type')).toContain('text/css');
  });

  it('answers unknown paths with 404, other methods with 405, and serves no file outside the list', async () => {
    expect((await fetch(`http://127.0.0.1:${port()}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port()}/js/site/users.ts`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port()}/js/../package.json`)).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${port()}/secret`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('sends a browser without a session to the login page, with the SCRAM challenge', async () => {
    const response = await fetch(`http://127.0.0.1:${port()}/secret`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('SCRAM-SHA-256 realm="allium"');
    expect(await response.text()).toContain('href="/login"');
  });
});

describe('over TLS', () => {
  it('marks the session cookie Secure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'allium-tls-'));
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const tls = { key: readFileSync(key), cert: readFileSync(cert) };
    const site = await startTestSite({ alice: 'pencil' }, { tls });
    try {
      expect(site.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const result = await scramLogin({ fetch: fetchFrom({ ca: tls.cert }), siteUrl: site.url, user: 'alice', password: 'pencil', crypto: scramCrypto });
      expect((result.setCookie ?? '').split('; ')).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Secure']));
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
