// What a client can make an exit reach (TPDP §7), on relay processes without --allow-private:
// not the exit's own WebSocket port, not the pool, not another relay, not anything else on the
// host, in any spelling of a loopback, private, link-local or metadata address, by connect or by
// fetch. A canary server on loopback counts the connections that got through: none may.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientCircuit } from '../../shared/client/circuit.ts';
import { fetchOverStream } from '../../shared/client/fetch-over-stream.ts';
import type { DirectoryRelay } from '../../shared/directory.ts';
import type { TpdpError } from '../../shared/errors.ts';
import { recordFigure } from '../support/figures.ts';
import { startTestNetwork } from '../support/processes.ts';
import { circuitThrough, listedRelays, warmUp } from '../support/relay-circuits.ts';

let network: Awaited<ReturnType<typeof startTestNetwork>>;
let relays: DirectoryRelay[];
let circuit: ClientCircuit;
let canary: net.Server;
let canaryPort = 0;
let canaryHits = 0;

beforeAll(async () => {
  network = await startTestNetwork({ relays: 3, allowPrivate: false });
  relays = await listedRelays(network.poolRef);
  await warmUp(relays);
  circuit = (await circuitThrough(relays)).circuit;
  canary = net.createServer((socket) => {
    canaryHits++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => canary.listen(0, '::', resolve));
  canaryPort = (canary.address() as net.AddressInfo).port;
}, 30_000);

afterAll(async () => {
  circuit?.destroy();
  await new Promise((resolve) => canary?.close(resolve));
  await network?.stop();
});

/** Every way to write a loopback, private or link-local host that the BEGIN host syntax allows. */
const HOSTS = [
  '127.0.0.1', '127.1', '127.0.1', '2130706433', '017700000001', '0x7f000001', '0x7f.0.0.1', '0177.0.0.01', '127.0.0.2', '127.255.255.254',
  'localhost', '0', '0.0.0.0', '::1', '0:0:0:0:0:0:0:1', '::', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:7f00:1', '::ffff:0:127.0.0.1',
  '::127.0.0.1', '169.254.169.254', '0xa9fea9fe', '::ffff:169.254.169.254', '10.0.0.1', '172.16.0.1', '192.168.1.1', '100.64.0.1',
  '224.0.0.1', '255.255.255.255', 'fe80::1', 'fc00::1', 'fd00::1', 'ff02::1',
];
/** Names that do not resolve here: refused as resolve errors, never connected. */
const UNRESOLVABLE = ['foo.localhost', 'localhost.', '127.0.0.1.', 'metadata.google.internal'];

const outcome = (promise: Promise<unknown>) => promise.then(() => 'connected', (err: TpdpError) => err.code);

describe('an exit without --allow-private', () => {
  it('refuses connect streams to its own port, the pool, other relays and the host, in every spelling', async () => {
    const ports = [new URL(relays[2].url).port, new URL(network.pool.ready.pool).port, new URL(relays[0].url).port, String(canaryPort)].map(Number);
    const results = new Map<string, number>();
    for (const host of [...HOSTS, ...UNRESOLVABLE]) {
      for (const port of ports) {
        const code = await outcome(circuit.openStream({ kind: 'connect', host, port }));
        results.set(code, (results.get(code) ?? 0) + 1);
        expect(code, `${host}:${port}`).toBe(UNRESOLVABLE.includes(host) ? 'DESTINATION_RESOLVE_ERROR' : 'EXIT_POLICY_REFUSED');
      }
    }
    expect(canaryHits).toBe(0);
    expect(circuit.state).toBe('open');
    recordFigure('SSRF through a strict exit: connect streams', { attempts: (HOSTS.length + UNRESOLVABLE.length) * ports.length, outcomes: Object.fromEntries(results), connected: 0 });
  });

  it('refuses fetch streams to the same places, IP literals and URL-parser spellings included', async () => {
    const pool = new URL(network.pool.ready.pool).port;
    const own = new URL(relays[2].url).port;
    const urls = [
      `http://127.0.0.1:${pool}/v1/relays`, `http://localhost:${pool}/v1/health`, `http://[::1]:${own}/health`, `http://[::ffff:127.0.0.1]:${own}/health`,
      `http://[::ffff:7f00:1]:${canaryPort}/`, `http://2130706433:${canaryPort}/`, `http://0x7f.1:${canaryPort}/`, `http://0177.0.0.1:${canaryPort}/`,
      `http://127.1:${canaryPort}/`, `http://0:${canaryPort}/`, `http://[::]:${canaryPort}/`, `https://127.0.0.1:${canaryPort}/`,
      'http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://10.0.0.1/', 'http://192.168.0.1/', `http://127.0.0.1.:${canaryPort}/`,
      `http://foo.localhost:${canaryPort}/`, `http://user:pw@127.0.0.1:${canaryPort}/`, `http://%31%32%37.0.0.1:${canaryPort}/`,
    ];
    const results = new Map<string, number>();
    for (const url of urls) {
      const code = await outcome(circuit.openStream({ kind: 'fetch' }).then((stream) => fetchOverStream(stream, { method: 'GET', url, headers: [], body: null })));
      results.set(code, (results.get(code) ?? 0) + 1);
      expect(['EXIT_POLICY_REFUSED', 'DESTINATION_RESOLVE_ERROR'], url).toContain(code);
    }
    expect(canaryHits).toBe(0);
    recordFigure('SSRF through a strict exit: fetch streams', { attempts: urls.length, outcomes: Object.fromEntries(results), connected: 0 });
  });
});
