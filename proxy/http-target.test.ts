import { describe, expect, it } from 'vitest';
import { absoluteTarget, connectTarget } from './http-target.ts';

describe('connectTarget', () => {
  it.each([
    ['example.com:443', 'example.com', 443],
    ['EXAMPLE.com:80', 'example.com', 80],
    ['10.0.0.1:8080', '10.0.0.1', 8080],
    ['[2001:DB8:0:0::1]:443', '2001:db8::1', 443],
  ])('%s → %s port %i', (authority, host, port) => {
    expect(connectTarget(authority)).toEqual({ host, port });
  });

  it.each(['example.com', 'example.com:', ':443', 'a:0', 'a:65536', 'a b:1', 'u@a:1', 'a:1/x', '[zz]:1', '[::1:1'])('refuses %s', (authority) => {
    expect(() => connectTarget(authority)).toThrow();
  });
});

describe('absoluteTarget', () => {
  it('keeps the path and query as written, drops the fragment, defaults the port to 80', () => {
    expect(absoluteTarget('http://Example.com/a/../b%7e?q=1#frag')).toEqual({ host: 'example.com', port: 80, path: '/a/../b%7e?q=1', authority: 'example.com' });
    expect(absoluteTarget('http://example.com:8080')).toEqual({ host: 'example.com', port: 8080, path: '/', authority: 'example.com:8080' });
    expect(absoluteTarget('HTTP://example.com?x')).toMatchObject({ path: '/?x' });
    expect(absoluteTarget('http://[::1]:81/')).toEqual({ host: '::1', port: 81, path: '/', authority: '[::1]:81' });
  });

  it('sends https:// to CONNECT and refuses what is no absolute http URI', () => {
    expect(() => absoluteTarget('https://example.com/')).toThrow(/CONNECT/);
    for (const target of ['/path', '*', 'http:example.com', 'ftp://example.com/', 'http://']) {
      expect(() => absoluteTarget(target)).toThrow(/absolute URI/);
    }
  });
});
