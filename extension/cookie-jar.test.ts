import { describe, expect, it } from 'vitest';
import { CookieJar } from './cookie-jar.ts';

const NOW = Date.parse('2026-11-21T12:00:00Z');

describe('CookieJar (RFC 6265 §5)', () => {
  it('sends a host-only cookie back to its host and path only', () => {
    const jar = new CookieJar();
    jar.store('http://a.example/app/login', ['sid=1; Path=/app; HttpOnly'], NOW);
    expect(jar.header('http://a.example/app/x', NOW)).toBe('sid=1');
    expect(jar.header('http://a.example/application', NOW)).toBeUndefined();
    expect(jar.header('http://b.a.example/app/x', NOW)).toBeUndefined();
    expect(jar.header('http://other.example/app/x', NOW)).toBeUndefined();
  });

  it('uses the default path, domain cookies for subdomains, and rejects foreign or TLD domains', () => {
    const jar = new CookieJar();
    jar.store('http://www.a.example/dir/page', ['p=1', 'd=2; Domain=.a.example; Path=/', 'x=3; Domain=b.example', 't=4; Domain=example'], NOW);
    expect(jar.header('http://www.a.example/dir/other', NOW)).toBe('p=1; d=2');
    expect(jar.header('http://www.a.example/', NOW)).toBe('d=2');
    expect(jar.header('http://api.a.example/dir/', NOW)).toBe('d=2');
  });

  it('orders longer paths first, replaces by name/domain/path, and expires', () => {
    const jar = new CookieJar();
    jar.store('http://a.example/', ['a=1; Path=/', 'b=2; Path=/x'], NOW);
    jar.store('http://a.example/', ['c=3; Max-Age=60'], NOW + 1);
    jar.store('http://a.example/', ['a=9; Path=/'], NOW + 2);
    expect(jar.header('http://a.example/x/y', NOW + 2)).toBe('b=2; a=9; c=3');
    expect(jar.header('http://a.example/x/y', NOW + 61_000)).toBe('b=2; a=9');
    jar.store('http://a.example/', ['a=; Max-Age=0', 'b=; Path=/x; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], NOW + 62_000);
    expect(jar.header('http://a.example/x/y', NOW + 62_000)).toBeUndefined();
  });

  it('keeps Secure cookies off plain HTTP except on loopback', () => {
    const jar = new CookieJar();
    jar.store('http://a.example/', ['s=1; Secure'], NOW);
    jar.store('https://a.example/', ['s=2; Secure'], NOW);
    expect(jar.header('http://a.example/', NOW)).toBeUndefined();
    expect(jar.header('https://a.example/', NOW)).toBe('s=2');
    jar.store('http://127.0.0.1:8080/', ['l=1; Secure'], NOW);
    expect(jar.header('http://127.0.0.1:9090/', NOW)).toBe('l=1');
  });

  it('survives a round trip through JSON (session storage)', () => {
    const jar = new CookieJar();
    jar.store('http://a.example/', ['a=1'], NOW);
    const copy = new CookieJar(JSON.parse(JSON.stringify(jar)));
    expect(copy.header('http://a.example/', NOW)).toBe('a=1');
  });
});
