// Operator metadata end to end (docs/RELAY-METADATA.md): relays started with --contact, --family
// and --exit-policy publish them, clients respect the family and the policies, exits enforce
// their policy.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCircuit, hopTargetOf } from '../shared/client/circuit.ts';
import type { AlliumClient } from '../shared/client/client.ts';
import { fetchDirectory, type DirectoryRelay } from '../shared/directory.ts';
import { relayIdOf } from '../shared/descriptor.ts';
import { openWebSocketLink } from '../shared/websocket-link.ts';
import { createNodeClient } from '../node/client.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { loadOrCreateKeys } from '../node/key-file.ts';
import { nodeWebSocketFactory } from '../node/websocket.ts';
import { startRelayProcess, startService, tempDir, type PoolReady } from './support/processes.ts';

async function echoServer() {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('relays with operator metadata', () => {
  const dir = tempDir();
  let pool: Awaited<ReturnType<typeof startService<PoolReady>>>;
  let relays: Awaited<ReturnType<typeof startRelayProcess>>[] = [];
  let allowed: Awaited<ReturnType<typeof echoServer>>;
  let refused: Awaited<ReturnType<typeof echoServer>>;
  let client: AlliumClient;
  const ids: string[] = [];

  beforeAll(async () => {
    [allowed, refused] = [await echoServer(), await echoServer()];
    // Key files made beforehand, so each relay can name the others of its family at start.
    for (let i = 0; i < 4; i++) ids.push(relayIdOf(loadOrCreateKeys(join(dir, `relay-${i}.json`), { identity: 'ed25519' }, nodeCrypto).identity.publicKey, nodeCrypto));
    pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5']);
    const exitArgs = ['--exit-policy', `accept ${allowed.port}`, '--contact', 'ops@example.org'];
    // Relays 0 and 1: one operator's two exits, each listing both ids (its own is dropped).
    const family = [ids[0], ids[1]].flatMap((id) => ['--family', id.toUpperCase()]);
    relays = await Promise.all([
      startRelayProcess(pool.ready, dir, 0, true, [...exitArgs, ...family]),
      startRelayProcess(pool.ready, dir, 1, true, [...exitArgs, ...family]),
      startRelayProcess(pool.ready, dir, 2, true, ['--exit-policy', 'reject *']),
      startRelayProcess(pool.ready, dir, 3, true, ['--exit-policy', 'reject *']),
    ]);
    client = createNodeClient({ pools: [{ url: pool.ready.pool, key: pool.ready.poolKey }] });
  }, 30_000);

  afterAll(async () => {
    client?.close();
    await Promise.all(relays.map((r) => r.stop()));
    await pool?.stop();
    allowed?.server.close();
    refused?.server.close();
  });

  const list = async () => (await fetchDirectory([{ url: pool.ready.pool, key: pool.ready.poolKey }], { fetch, crypto: nodeCrypto })).relays;
  const byId = (relays: DirectoryRelay[], id: string) => relays.find((r) => r.id === id)!;

  it('publishes contact, family, exit policy and bandwidth in the signed descriptors', async () => {
    const relays = await list();
    expect(byId(relays, ids[0])).toMatchObject({ contact: 'ops@example.org', family: [ids[1]], exit: { allowPrivate: true, policy: `accept ${allowed.port}` }, bandwidth: 0 });
    expect(byId(relays, ids[1]).family).toEqual([ids[0]]);
    expect(byId(relays, ids[2])).toMatchObject({ exit: { policy: 'reject 1-65535' } });
    expect(byId(relays, ids[2]).family).toBeUndefined();
    expect(byId(relays, ids[2]).contact).toBeUndefined();
  });

  it('builds every path with one exit accepting the port and never both relays of the family', async () => {
    for (let i = 0; i < 8; i++) {
      const stream = await client.connect('127.0.0.1', allowed.port, { isolationKey: `k${i}` });
      const path = client.circuitFor(`k${i}`)!.relays.map((r) => r.id);
      expect([ids[0], ids[1]]).toContain(path[2]);
      // The other family member cannot be on the path: the two hops before the exit are 2 and 3.
      expect(path.slice(0, 2).sort()).toEqual([ids[2], ids[3]].sort());
      await stream.close();
    }
    // No relay accepts the other port: the client says so without building anything.
    await expect(client.connect('127.0.0.1', refused.port, { isolationKey: 'other' })).rejects.toThrow(new RegExp(`exit policy accepting port ${refused.port}`));
  });

  it('has the exit refuse a stream to a port outside its policy with EXIT_POLICY_REFUSED', async () => {
    const relays = await list();
    const path = [byId(relays, ids[2]), byId(relays, ids[3]), byId(relays, ids[0])];
    const link = await openWebSocketLink(nodeWebSocketFactory(), path[0].url, 5000);
    const circuit = new ClientCircuit({ crypto: nodeCrypto, link, circuitId: 1, handshakeTimeoutMs: 5000, onClose: () => link.close('DONE', 'test over') });
    link.handlers = { onCells: (cells) => circuit.handleCells(cells), onClose: (r, d) => circuit.linkClosed(r, d) };
    await circuit.build(path.map(hopTargetOf));
    await expect(circuit.openStream({ kind: 'connect', host: '127.0.0.1', port: refused.port })).rejects.toMatchObject({ code: 'EXIT_POLICY_REFUSED' });
    // The refusal ends that stream only: the port the policy accepts still opens on the circuit.
    await expect(circuit.openStream({ kind: 'connect', host: '127.0.0.1', port: allowed.port })).resolves.toBeDefined();
    circuit.destroy();
  });
});
