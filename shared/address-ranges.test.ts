import { describe, expect, it } from 'vitest';
import { isForbiddenIp, isPrivateDestination, parseHost } from './address-ranges.ts';

describe('address ranges', () => {
  it('private destinations: literals in every spelling and loopback names, never name prefixes', () => {
    for (const host of [
      'localhost', 'a.localhost', 'LOCALHOST', '127.0.0.1', '2130706433', '0x7f.1', '017700000001', '10.1.2.3', '172.16.0.1',
      '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '[::1]', '::', 'fd00::1',
      'fe80::1', '::ffff:127.0.0.1', '[::ffff:7f00:1]', '::ffff:0:a00:1', '::2', '::7f00:1', '64:ff9b::a9fe:a9fe',
      '0064:ff9b:0000:0000:0000:0000:0a00:0001', '64:ff9b:1::1', 'ff02::1', '2001:db8::1',
    ]) {
      expect(isPrivateDestination(host), host).toBe(true);
    }
    for (const host of ['example.org', 'fdic.gov', 'fcbarcelona.com', 'fe80.example', '8.8.8.8', '172.32.0.1', '2001:4860::8888', '::ffff:8.8.8.8', '64:ff9b::808:808', 'localhost.example.org', 'fc::1', 'fe8::1']) {
      expect(isPrivateDestination(host), host).toBe(false);
    }
  });

  it('parses hosts as the URL parser does, and refuses what is not a host', () => {
    expect(parseHost('0x7f.0.0.1')).toEqual({ kind: 'ipv4', octets: [127, 0, 0, 1] });
    expect(parseHost('[::ffff:127.0.0.1]')).toEqual({ kind: 'ipv6', groups: [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1] });
    expect(parseHost('Example.ORG')).toEqual({ kind: 'name', name: 'example.org' });
    expect(parseHost('a b')).toBeUndefined();
    expect(parseHost('1.2.3.256')).toBeUndefined();
    expect(isForbiddenIp({ kind: 'name', name: 'localhost' })).toBe(false);
  });
});
