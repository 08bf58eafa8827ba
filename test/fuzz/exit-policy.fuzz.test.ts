// The exit policy (relay/exit-policy.ts, TPDP §7) against every spelling of an address: numbers
// in decimal, octal and hexadecimal, short dotted forms, IPv4-mapped and -translated IPv6 in
// dotted and hexadecimal notation, expanded and upper-case IPv6. The real system resolver reads
// them (getaddrinfo parses numeric hosts without DNS); an independent table of TPDP §7 says which
// must be refused. An injected resolver then shows that the exit connects to exactly the address
// it checked, for connect and fetch streams, whatever a second DNS answer would have been.
import fc from 'fast-check';
import http from 'node:http';
import net from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchOverStream } from '../../shared/client/fetch-over-stream.ts';
import { isTpdpError, type ReasonName } from '../../shared/errors.ts';
import { nodeCrypto } from '../../node/crypto.ts';
import { createLogger } from '../../node/log.ts';
import { openTcp } from '../../relay/exit-connect.ts';
import { createExitPolicy } from '../../relay/exit-policy.ts';
import { createExit } from '../../relay/exit.ts';
import { recordFigure } from '../support/figures.ts';
import { memoryNetwork } from '../support/memory-network.ts';
import { memoryCircuit } from '../support/memory-circuit.ts';
import { fuzzParameters, fuzzRuns, fuzzTimeout } from './runs.ts';

const RUNS = 20_000;

/** TPDP §7's IPv4 table, as [first address, prefix length]. */
const FORBIDDEN_V4: [string, number][] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const v4Number = (dotted: string) => dotted.split('.').reduce((n, part) => n * 256 + Number(part), 0);
const dotted = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const forbiddenV4 = (n: number) => FORBIDDEN_V4.some(([net, bits]) => Math.floor(n / 2 ** (32 - bits)) === Math.floor(v4Number(net) / 2 ** (32 - bits)));

const u32 = fc.tuple(fc.nat(0xffff), fc.nat(0xffff)).map(([high, low]) => high * 0x10000 + low);
/** Mostly addresses near the edges of forbidden ranges, where an off-by-one would show. */
const ipv4 = fc.oneof(
  u32,
  fc.tuple(fc.constantFrom(...FORBIDDEN_V4), fc.integer({ min: -2, max: 2 }), fc.boolean(), u32).map(([[net, bits], delta, end, noise]) => {
    const size = 2 ** (32 - bits);
    const start = v4Number(net);
    const inside = end ? start + size - 1 : start + (noise % size);
    return (inside + delta + 2 ** 32) % 2 ** 32;
  }),
);
const hex16 = (n: number, pad = false) => n.toString(16).padStart(pad ? 4 : 1, '0');
/** Ways to write one IPv4 address as a host name the exit would resolve. */
const SPELLINGS: Record<string, (n: number) => string> = {
  dotted,
  decimal: (n) => String(n),
  hex: (n) => `0x${n.toString(16)}`,
  octal: (n) => `0${n.toString(8)}`,
  'dotted hex': (n) => dotted(n).split('.').map((p) => `0x${Number(p).toString(16)}`).join('.'),
  'dotted octal': (n) => dotted(n).split('.').map((p) => `0${Number(p).toString(8)}`).join('.'),
  'a.b.c': (n) => `${n >>> 24}.${(n >>> 16) & 255}.${n & 0xffff}`,
  'a.b': (n) => `${n >>> 24}.${n & 0xffffff}`,
  'mapped dotted': (n) => `::ffff:${dotted(n)}`,
  'mapped hex': (n) => `::ffff:${hex16(n >>> 16)}:${hex16(n & 0xffff)}`,
  'mapped expanded': (n) => `0:0:0:0:0:ffff:${hex16(n >>> 16)}:${hex16(n & 0xffff)}`,
  'mapped zero-padded upper-case': (n) => `0000:0000:0000:0000:0000:FFFF:${hex16(n >>> 16, true)}:${hex16(n & 0xffff, true)}`.toUpperCase(),
  'translated dotted': (n) => `::ffff:0:${dotted(n)}`,
  'translated hex': (n) => `::ffff:0:${hex16(n >>> 16)}:${hex16(n & 0xffff)}`,
  'NAT64 dotted': (n) => `64:ff9b::${dotted(n)}`,
  'NAT64 hex': (n) => `64:ff9b::${hex16(n >>> 16)}:${hex16(n & 0xffff)}`,
};

async function outcome(host: string, resolver?: Parameters<typeof createExitPolicy>[1]): Promise<{ address: string } | { refused: ReasonName }> {
  try {
    return await createExitPolicy(false, resolver).resolve(host);
  } catch (err) {
    if (!isTpdpError(err)) throw err;
    return { refused: err.code };
  }
}

/** A resolver whose answer changes on every call, counting the calls. */
function rebindingResolver(answers: string[][]) {
  const calls: string[] = [];
  const resolver = (async (host: string) => {
    calls.push(host);
    const answer = answers[Math.min(calls.length - 1, answers.length - 1)];
    return answer.map((address) => ({ address, family: net.isIP(address) }));
  }) as unknown as Parameters<typeof createExitPolicy>[1];
  return { resolver, calls };
}

describe('exit policy: every spelling of a forbidden address is refused', () => {
  it(
    'IPv4 in decimal, octal, hex, short and IPv6-embedded spellings: refused exactly when TPDP §7 forbids it',
    async () => {
      const tried = new Map<string, { refused: number; allowed: number }>();
      await fc.assert(
        fc.asyncProperty(ipv4, fc.constantFrom(...Object.keys(SPELLINGS)), async (n, spelling) => {
          const host = SPELLINGS[spelling](n);
          const result = await outcome(host);
          const counts = tried.get(spelling) ?? { refused: 0, allowed: 0 };
          tried.set(spelling, counts);
          if (forbiddenV4(n)) {
            counts.refused++;
            expect(result, `${host} (${dotted(n)})`).toEqual({ refused: 'EXIT_POLICY_REFUSED' });
          } else {
            counts.allowed++;
            // Allowed: the exit will connect to the address it read, which is that same address.
            expect('address' in result, `${host} (${dotted(n)})`).toBe(true);
            if ('address' in result) expect(net.isIPv4(result.address) ? result.address : host).toBe(net.isIPv4(result.address) ? dotted(n) : host);
          }
        }),
        fuzzParameters(RUNS),
      );
      recordFigure('SSRF spellings fuzzed against the exit policy', { cases: fuzzRuns(RUNS), spellings: Object.fromEntries(tried), bypasses: 0 });
    },
    fuzzTimeout(RUNS, 1),
  );

  it('named spellings of loopback and metadata addresses', async () => {
    const refused = [
      'localhost', '127.0.0.1', '127.1', '127.0.1', '2130706433', '017700000001', '0x7f000001', '0x7F.1', '0177.0.0.1', '0', '0.0.0.0',
      '::1', '0:0:0:0:0:0:0:1', '::', '[::1]', '::ffff:127.0.0.1', '::FFFF:7F00:1', '::ffff:0:7f00:1', '::127.0.0.1', '169.254.169.254',
      '0xa9fea9fe', '::ffff:a9fe:a9fe', 'fe80::1', 'FE80::1%1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '224.0.0.1', '255.255.255.255', '100.64.0.1',
    ];
    for (const host of refused) expect(await outcome(host), host).toEqual({ refused: 'EXIT_POLICY_REFUSED' });
    // Names the resolver does not know are refused before any connection, as resolve errors.
    for (const host of ['foo.localhost', 'localhost.', '127.0.0.1.', 'metadata.google.internal']) {
      expect(await outcome(host), host).toEqual({ refused: 'DESTINATION_RESOLVE_ERROR' });
    }
    recordFigure('SSRF named spellings refused by the exit policy', { refused: refused.length, unresolvable: 4 });
  });

  // Regression: the NAT64 and IPv4-compatible forms were recognised only in their compressed spelling.
  it('NAT64 addresses written out in full are refused like their compressed spelling', async () => {
    for (const host of ['64:ff9b:0:0:0:0:a9fe:a9fe', '64:ff9b:0:0:0:0:7f00:1', '0064:ff9b::127.0.0.1', '64:ff9b:0::10.0.0.1', '64:FF9B::A9FE:A9FE']) {
      expect(await outcome(host), host).toEqual({ refused: 'EXIT_POLICY_REFUSED' });
    }
  });
});

describe('exit policy: DNS answers that change between check and connect', () => {
  it('refuses a name with any forbidden answer, asks the resolver once, and never asks again', async () => {
    const mixed = rebindingResolver([['93.184.215.14', '127.0.0.1']]);
    expect(await outcome('mixed.test', mixed.resolver)).toEqual({ refused: 'EXIT_POLICY_REFUSED' });
    const flip = rebindingResolver([['127.0.0.1'], ['93.184.215.14']]);
    expect(await outcome('flip.test', flip.resolver)).toEqual({ refused: 'EXIT_POLICY_REFUSED' });
    expect(await outcome('flip.test', flip.resolver)).toEqual({ address: '93.184.215.14', family: 4 });
    expect(flip.calls).toEqual(['flip.test', 'flip.test']);
    const empty = rebindingResolver([[]]);
    expect(await outcome('empty.test', empty.resolver)).toEqual({ refused: 'DESTINATION_RESOLVE_ERROR' });
  });

  describe('the exit connects to the address it checked', () => {
    // Two servers on the same port of two loopback addresses: the first DNS answer names one,
    // any later answer the other. Only the first may ever see a connection.
    const seen = { checked: [] as string[], rebound: [] as string[] };
    let checkedServer: http.Server;
    let reboundServer: http.Server;
    let port = 0;

    beforeAll(async () => {
      const serve = (log: string[]) =>
        http.createServer((req, res) => {
          log.push(`${req.method} ${req.headers.host}`);
          res.end('ok');
        });
      checkedServer = serve(seen.checked);
      reboundServer = serve(seen.rebound);
      await new Promise<void>((resolve) => checkedServer.listen(0, '127.0.0.2', resolve));
      port = (checkedServer.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => reboundServer.listen(port, '127.0.0.3', resolve));
    });

    afterAll(async () => {
      checkedServer.closeAllConnections();
      reboundServer.closeAllConnections();
      await Promise.all([new Promise((r) => checkedServer.close(r)), new Promise((r) => reboundServer.close(r))]);
    });

    // The check itself is off here (loopback addresses are private); what is under test is that the
    // exit uses the answer of its one resolution and never resolves the name a second time.
    it('connect streams', async () => {
      const dns = rebindingResolver([['127.0.0.2'], ['127.0.0.3']]);
      const socket = await openTcp({ policy: createExitPolicy(true, dns.resolver), connectTimeoutMs: 2000 }, 'rebind.test', port);
      expect(socket.remoteAddress).toBe('127.0.0.2');
      socket.destroy();
      expect(dns.calls).toEqual(['rebind.test']);
    });

    it('fetch streams (Node would otherwise resolve the URL host itself)', async () => {
      const quiet = createLogger('exit', new Writable({ write: (_chunk, _encoding, done) => done() }));
      for (let i = 0; i < 3; i++) {
        const dns = rebindingResolver([['127.0.0.2'], ['127.0.0.3']]);
        const network = memoryNetwork(['exit'], { crypto: nodeCrypto, exit: createExit({ policy: createExitPolicy(true, dns.resolver), connectTimeoutMs: 2000 }, quiet) });
        const { circuit } = await memoryCircuit(network, ['exit']);
        const stream = await circuit.openStream({ kind: 'fetch' });
        const response = await fetchOverStream(stream, { method: 'GET', url: `http://rebind.test:${port}/`, headers: [], body: null });
        expect(await response.text()).toBe('ok');
        // One resolution per request, and the request went where that answer said.
        expect(dns.calls).toEqual(['rebind.test']);
        circuit.destroy();
      }
      expect(seen.checked).toEqual(Array.from({ length: 3 }, () => `GET rebind.test:${port}`));
      expect(seen.rebound).toEqual([]);
    });
  });
});
