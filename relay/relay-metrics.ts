// The relay's metrics (docs/METRICS.md) and health, read from the RelayNode's counters and the
// pool memberships whenever they are scraped.
import type { RelayNode } from '../shared/relay-node.ts';
import { CIRCUIT_ERROR_CODES, REJECTION_LIMITS } from '../shared/relay-events.ts';
import type { HealthReport } from '../node/metrics-server.ts';
import { MetricsRegistry, registerProcessMetrics, samplesOf } from '../node/metrics.ts';
import type { PoolStatus } from './pool-client.ts';

export function relayMetrics(id: string, node: RelayNode, pools: () => PoolStatus[]): MetricsRegistry {
  const registry = new MetricsRegistry();
  const { counters } = node;
  registry.register('allium_relay_info', 'gauge', 'Always 1; labelled with the relay id.', () => [{ labels: { id }, value: 1 }]);
  registry.register('allium_relay_pool_listed', 'gauge', 'Whether each pool lists this relay (1) or not (0), as its last accepted heartbeat says.', () =>
    pools().map((p) => ({ labels: { pool: p.pool }, value: p.listed ? 1 : 0 })),
  );
  registry.register('allium_relay_links', 'gauge', 'Open TPDP links, inbound and outbound.', () => node.stats().links);
  registry.register('allium_relay_circuits', 'gauge', 'Circuits through this relay.', () => node.stats().circuits);
  registry.register('allium_relay_streams', 'gauge', 'Open exit streams.', () => node.stats().streams);
  registry.register('allium_relay_link_bytes_total', 'counter', 'Cell bytes received and sent on TPDP links.', () => {
    const { received, sent } = node.linkBytes();
    return samplesOf('direction', [['received', received], ['sent', sent]]);
  });
  registry.register('allium_relay_handshakes_total', 'counter', 'Circuit handshakes (CREATE) answered, by result.', () =>
    samplesOf('result', Object.entries(counters.handshakes)),
  );
  registry.register('allium_relay_streams_opened_total', 'counter', 'Streams the exit began for clients.', () => counters.streamsOpened);
  registry.register('allium_relay_circuit_errors_total', 'counter', 'Circuits that ended with an error, by TPDP reason code (docs/TPDP.md).', () =>
    CIRCUIT_ERROR_CODES.map((code) => ({ labels: { code }, value: counters.circuitsClosed[code] })),
  );
  registry.register('allium_relay_rejections_total', 'counter', 'Connections, circuits, streams and extends refused, by the limit that refused them.', () =>
    REJECTION_LIMITS.map((limit) => ({ labels: { limit }, value: counters.rejections[limit] })),
  );
  registerProcessMetrics(registry);
  return registry;
}

/** Healthy while the relay serves and every pool lists it. */
export function relayHealth(id: string, node: RelayNode, pools: PoolStatus[]): HealthReport {
  const { links, circuits, streams } = node.stats();
  const details = { id, pools, links, circuits, streams };
  const unlisted = pools.filter((p) => !p.listed);
  if (unlisted.length > 0) return { ok: false, reason: unlisted.map((p) => p.reason).join('; '), details };
  return { ok: true, details };
}
