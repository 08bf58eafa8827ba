// What the status view shows for each command, read from the same counters as the metrics.
import type { AlliumClient } from '../shared/client/client.ts';
import type { RelayNode } from '../shared/relay-node.ts';
import { CIRCUIT_ERROR_CODES } from '../shared/relay-events.ts';
import type { RunningRelay } from '../relay/relay.ts';
import type { RunningPool } from '../pool/server.ts';
import type { RunningProxy } from '../proxy/server.ts';
import type { StatusReader } from './status-screen.ts';

type Tally = Record<string, number>;

function add(into: Tally, from: Readonly<Tally>): Tally {
  for (const [kind, count] of Object.entries(from)) into[kind] = (into[kind] ?? 0) + count;
  return into;
}

/** Links, circuits, streams, bytes and problems summed over relays (one for `allium relay`, all of `allium demo`'s). */
function relayFigures(nodes: RelayNode[]) {
  const totals = { links: 0, circuits: 0, streams: 0, received: 0, sent: 0 };
  const errors: Tally = {};
  const rejections: Tally = {};
  for (const node of nodes) {
    const stats = node.stats();
    totals.links += stats.links;
    totals.circuits += stats.circuits;
    totals.streams += stats.streams;
    totals.received += stats.bytesReceived;
    totals.sent += stats.bytesSent;
    for (const code of CIRCUIT_ERROR_CODES) errors[code] = (errors[code] ?? 0) + node.counters.circuitsClosed[code];
    add(rejections, node.counters.rejections);
    add(rejections, { handshake_failed: node.counters.handshakes.failed });
  }
  return {
    figures: [
      ['links', totals.links],
      ['circuits', totals.circuits],
      ['exit streams', totals.streams],
    ] as [string, number][],
    bytes: { received: totals.received, sent: totals.sent },
    problems: [
      { label: 'circuit errors', byKind: errors },
      { label: 'rejections', byKind: rejections },
    ],
  };
}

export function relayStatus(relay: RunningRelay, about: string[]): StatusReader {
  const startedAt = Date.now();
  return () => {
    const pools = relay.pools();
    const { figures, ...rest } = relayFigures([relay.node]);
    return {
      startedAt,
      title: `Allium relay ${relay.id.slice(0, 8)}`,
      about,
      figures: [['listed by pools', `${pools.filter((p) => p.listed).length} of ${pools.length}`], ...figures],
      ...rest,
    };
  };
}

export function demoStatus(pool: RunningPool, relays: RunningRelay[], about: string[]): StatusReader {
  const startedAt = Date.now();
  return () => {
    const { figures, ...rest } = relayFigures(relays.map((r) => r.node));
    return { startedAt, title: `Allium demo network: ${relays.length} relays`, about, figures: [['relays listed', pool.relaysListed()], ...figures], ...rest };
  };
}

/** Counts the client's circuits as its events report them: open now, and failures by code. */
export function proxyStatus(client: AlliumClient, proxy: RunningProxy, about: string[]): StatusReader {
  const startedAt = Date.now();
  let open = 0;
  let built = 0;
  const failures: Tally = {};
  client.onCircuitEvent((event) => {
    if (event.phase === 'open') {
      open++;
      built++;
    } else if (event.phase === 'closed') open--;
    if (event.error && event.phase !== 'building') add(failures, { [event.error.code]: 1 });
  });
  return () => {
    const { connections, received, sent } = proxy.stats();
    return {
      startedAt,
      title: 'Allium proxy',
      about,
      figures: [
        ['relays listed', client.relayCount],
        ['connections', connections],
        ['circuits open', open],
        ['circuits built', built],
      ],
      bytes: { received, sent },
      problems: [{ label: 'circuit failures', byKind: failures }],
    };
  };
}
