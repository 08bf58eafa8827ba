import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, scrubAddresses, sensitive } from './log.ts';

function capture(options: { sensitive?: boolean }) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: createLogger('test', sink, options), lines };
}

describe('log privacy', () => {
  it('scrubs wrapped values, fields named for user data, and addresses inside error text', () => {
    const { log, lines } = capture({ sensitive: false });
    log.child('exit').warn('something failed', {
      peer: '203.0.113.9',
      host: 'private.example',
      port: 8443,
      user: 'alice',
      note: sensitive('GET /private/path'),
      nested: { list: [sensitive('x'), 'kept'] },
      error: 'cannot connect to 203.0.113.9:8443: ECONNREFUSED',
      detail: 'request to https://private.example/a?b failed',
      reason: 'RESOURCE_LIMIT',
      circuits: 3,
      id: 'relay-id',
    });
    expect(lines[0]).toMatchObject({
      component: 'test/exit',
      message: 'something failed',
      peer: '[scrubbed]',
      host: '[scrubbed]',
      port: '[scrubbed]',
      user: '[scrubbed]',
      note: '[scrubbed]',
      nested: { list: ['[scrubbed]', 'kept'] },
      error: 'cannot connect to [scrubbed]: ECONNREFUSED',
      detail: 'request to [scrubbed] failed',
      reason: 'RESOURCE_LIMIT',
      circuits: 3,
      id: 'relay-id',
    });
  });

  it('shows everything when the operator asks, in children too', () => {
    const { log, lines } = capture({ sensitive: true });
    log.child('proxy').info('x', { client: '198.51.100.7:40000', note: sensitive({ a: 1 }), error: 'to 10.0.0.1:80' });
    expect(lines[0]).toMatchObject({ client: '198.51.100.7:40000', note: { a: 1 }, error: 'to 10.0.0.1:80' });
  });

  it('finds the address forms errors contain', () => {
    const cases: [string, string][] = [
      ['connect ECONNREFUSED 127.0.0.1:8080', 'connect ECONNREFUSED [scrubbed]'],
      ['connect ECONNREFUSED ::1:9', 'connect ECONNREFUSED [scrubbed]'],
      ['cannot connect to [2001:db8::1]:443: EHOSTUNREACH', 'cannot connect to [scrubbed]: EHOSTUNREACH'],
      ['getaddrinfo ENOTFOUND secret-host.invalid', 'getaddrinfo ENOTFOUND [scrubbed]'],
      ['cannot connect to localhost:8080', 'cannot connect to [scrubbed]'],
      ['peer ::ffff:192.0.2.1 left', 'peer [scrubbed] left'],
      ['no circuit created within 10000 ms', 'no circuit created within 10000 ms'],
      ['PROTOCOL_ERROR: CREATE for circuit id 3 already in use', 'PROTOCOL_ERROR: CREATE for circuit id 3 already in use'],
    ];
    for (const [text, scrubbed] of cases) expect(scrubAddresses(text), text).toBe(scrubbed);
  });

  it('keeps a wrapped value scrubbed even when it escapes into a string or JSON', () => {
    expect(`${sensitive('10.0.0.1')}`).toBe('[scrubbed]');
    expect(JSON.stringify({ a: sensitive('10.0.0.1') })).toBe('{"a":"[scrubbed]"}');
  });
});
