// --max-memory (Tor's MaxMemInQueues): a client that asks for data on many circuits and then
// stops reading its link makes its first relay queue cells for it. Past the bound the relay
// closes the circuits holding the most queued bytes, with RESOURCE_LIMIT, and says so in its log
// (sizes only, nothing about the client); a circuit of another client through the same relay
// keeps exchanging data throughout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCircuit, hopTargetOf } from '../shared/client/circuit.ts';
import { openWebSocketLink, type WebSocketLike } from '../shared/websocket-link.ts';
import { dispatchByCircuit } from '../shared/link.ts';
import { nodeCrypto } from '../node/crypto.ts';
import { nodeWebSocketFactory } from '../node/websocket.ts';
import { startTestNetwork } from './support/processes.ts';
import { circuitThrough, eventually, listedRelays, startBystander, warmUp, withRetries } from './support/relay-circuits.ts';
import { startEndlessSource } from './support/tcp-source.ts';
import { startEchoServer } from '../proxy/test-harness.ts';

const HOG_CIRCUITS = 24;
const MAX_MEMORY = 1024 * 1024;

/** Circuits sharing one link whose WebSocket the test can stop reading. */
async function hogLink(relays: Awaited<ReturnType<typeof listedRelays>>, count: number) {
  let socket: WebSocketLike | undefined;
  const factory = nodeWebSocketFactory();
  const link = await openWebSocketLink((url, protocols) => (socket = factory(url, protocols)), relays[0].url, 5000);
  const circuits = new Map<number, ClientCircuit>();
  link.handlers = {
    onCells: (cells) => dispatchByCircuit(cells, (id) => circuits.get(id)),
    onClose: (reason, detail) => circuits.forEach((c) => c.linkClosed(reason, detail)),
  };
  for (let id = 1; id <= count; id++) {
    const circuit = new ClientCircuit({ crypto: nodeCrypto, link, circuitId: id, handshakeTimeoutMs: 5000, onClose: () => {} });
    circuits.set(id, circuit);
    await circuit.build(relays.map(hopTargetOf));
  }
  return { circuits: [...circuits.values()], stopReading: () => (socket as unknown as { pause(): void }).pause(), close: () => link.close('DONE', 'test over') };
}

describe('relay --max-memory', () => {
  let network: Awaited<ReturnType<typeof startTestNetwork>>;
  let relays: Awaited<ReturnType<typeof listedRelays>>;
  let source: Awaited<ReturnType<typeof startEndlessSource>>;
  let echo: Awaited<ReturnType<typeof startEchoServer>>;

  beforeAll(async () => {
    network = await startTestNetwork({ relays: 3, relayArgs: ['--max-memory', `${MAX_MEMORY}`] });
    source = await startEndlessSource();
    echo = await startEchoServer();
    const listed = await listedRelays(network.poolRef);
    relays = network.relays.map((r) => listed.find((l) => l.url === r.ready.url)!);
    await warmUp(relays);
  }, 30_000);

  afterAll(async () => {
    await source?.close();
    echo?.server.close();
    await network?.stop();
  });

  it('closes the circuits of a client that stops reading, and only those', async () => {
    const bystanderCircuit = await withRetries(() => circuitThrough(relays));
    const bystander = await startBystander(bystanderCircuit.circuit, echo.port);
    const hog = await withRetries(() => hogLink(relays, HOG_CIRCUITS));
    // The client asks for data on every circuit and stops reading at once: everything the exits
    // send (two streams fill a circuit's window, 480 cells) waits at its first relay.
    for (const circuit of hog.circuits) {
      for (let i = 0; i < 2; i++) circuit.openStream({ kind: 'connect', host: '127.0.0.1', port: source.port }).catch(() => {});
    }
    hog.stopReading();
    const guard = network.relays[0];
    await eventually(() => guard.stderr().includes('queued cells exceed the memory limit'), 20_000, 'the first relay closes hogging circuits');
    const line = guard.stderr().split('\n').find((l) => l.includes('queued cells exceed the memory limit'))!;
    const logged = JSON.parse(line) as { queuedBytes: number; unattributedBytes: number; limitBytes: number; circuits: number; freedBytes: number };
    console.log(`max-memory: ${logged.queuedBytes} bytes queued (${logged.unattributedBytes} to no circuit) > ${logged.limitBytes}; ${logged.circuits} circuit(s) closed, freeing ${logged.freedBytes}`);
    expect(logged.limitBytes).toBe(MAX_MEMORY);
    expect(logged.queuedBytes).toBeGreaterThan(MAX_MEMORY);
    expect(logged.circuits).toBeGreaterThan(0);
    // Enough of what circuits hold is shed for the rest to fit; bytes no circuit can be found for
    // (see the log field) leave as the peer reads, or with the link.
    expect(logged.queuedBytes - logged.unattributedBytes - logged.freedBytes).toBeLessThanOrEqual(MAX_MEMORY);
    // The bystander kept going through the same relay, and keeps going after. (Its cells share the
    // links with what the hogging circuits already sent, up to a circuit window each, which on a
    // loaded machine takes seconds to drain: a full suite beside a busy loop once took over 10 s.)
    const before = bystander.roundTrips;
    await eventually(() => bystander.roundTrips > before + 20, 30_000, 'the other circuit keeps exchanging data');
    const result = await bystander.stop();
    expect(result.error).toBeUndefined();
    expect(result.corrupt).toBe(0);
    hog.close();
  }, 60_000);
});
