import { describe, expect, it } from 'vitest';
import { isolationKey, proxyAuthorizationCredentials as parse } from './isolation-key.ts';

const pair = (username: string, password: string) => ({ username: Buffer.from(username), password: Buffer.from(password) });

describe('isolationKey', () => {
  it('is the front end name without credentials', () => {
    expect(isolationKey('socks5')).toBe('socks5');
    expect(isolationKey('http')).toBe('http');
  });

  it('is a hash of the pair, per front end, never the credentials in clear', () => {
    const key = isolationKey('socks5', pair('alice', 'secret'));
    expect(key).toMatch(/^socks5:[0-9a-f]{64}$/);
    expect(key).toBe(isolationKey('socks5', pair('alice', 'secret')));
    expect(isolationKey('http', pair('alice', 'secret')).slice(5)).toBe(key.slice(7)); // same hash, other domain
  });

  it('keeps pairs apart that concatenate to the same bytes', () => {
    expect(isolationKey('socks5', pair('ab', 'c'))).not.toBe(isolationKey('socks5', pair('a', 'bc')));
    expect(isolationKey('socks5', pair('', ''))).not.toBe(isolationKey('socks5'));
  });
});

/** The parsed pair as text, for readable comparisons. */
function proxyAuthorizationCredentials(header: string | undefined): [string, string] | undefined {
  const credentials = parse(header);
  return credentials && [Buffer.from(credentials.username).toString(), Buffer.from(credentials.password).toString()];
}

describe('proxyAuthorizationCredentials', () => {
  it('decodes Basic (any case, password may hold colons)', () => {
    expect(proxyAuthorizationCredentials(`Basic ${Buffer.from('bob:a:b').toString('base64')}`)).toEqual(['bob', 'a:b']);
    expect(proxyAuthorizationCredentials(`bAsIc  ${Buffer.from('bob:').toString('base64')}`)).toEqual(['bob', '']);
    expect(proxyAuthorizationCredentials(`Basic ${Buffer.from('nocolon').toString('base64')}`)).toEqual(['nocolon', '']);
  });

  it('takes other schemes whole, and nothing when absent', () => {
    expect(proxyAuthorizationCredentials('Bearer abc')).toEqual(['Bearer abc', '']);
    expect(proxyAuthorizationCredentials('Basic not base64!')).toEqual(['Basic not base64!', '']);
    expect(proxyAuthorizationCredentials(undefined)).toBeUndefined();
  });
});
