// A relay checks every EXTEND against the relay list of its pools (TPDP §4.4). It reads that list
// at start and every 60 s; an EXTEND to a relay missing from it waits for the next refresh (at most
// one per second), so a relay that registered just after another read its list is still reachable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TpdpError } from '../../shared/errors.ts';
import { startRelayProcess, startTestNetwork } from '../support/processes.ts';
import { circuitThrough, listedRelays } from '../support/relay-circuits.ts';

let network: Awaited<ReturnType<typeof startTestNetwork>>;

beforeAll(async () => {
  network = await startTestNetwork({ relays: 1 });
}, 30_000);

afterAll(async () => {
  await network?.stop();
});

describe('extend checks against the relay list', () => {
  it('a relay extends to one that was listed after it read its list', async () => {
    const first = network.relays[0];
    const second = await startRelayProcess(network.pool.ready, network.dir, 1, true);
    try {
      const relays = await listedRelays(network.poolRef);
      const path = [relays.find((r) => r.id === first.ready.id)!, relays.find((r) => r.id === second.ready.id)!];
      const outcome = await circuitThrough(path).then(({ circuit }) => (circuit.destroy(), 'built'), (err: TpdpError) => `${err.code}: ${err.message}`);
      expect(outcome).toBe('built');
    } finally {
      await second.stop();
    }
  });
});
