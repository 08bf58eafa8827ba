// The resource-limit options of `allium relay` and `allium pool` (docs/LIMITS.md): declared once
// with their --help lines, parsed and checked into the shapes the relay and pool take.
import { DEFAULT_RELAY_LIMITS, type RelayLimits } from '../shared/relay-node.ts';
import type { BandwidthSettings } from '../node/bandwidth-limiter.ts';
import type { BucketPolicy } from '../node/token-buckets.ts';
import { DEFAULT_SOURCE_LIMITS, type SourceLimits } from '../relay/source-limits.ts';
import { DEFAULT_POOL_FLOOD_LIMITS, type PoolFloodLimits } from '../pool/flood-limits.ts';
import { byteSizeOption, formatByteSize } from './byte-size.ts';
import { CliError } from './command.ts';
import { countOption, perSecondOption } from './option-values.ts';

/** Below this a relay would stop and go for seconds at a time on one read's debt (Tor's floor is 75 KB). */
export const MIN_BANDWIDTH_RATE = 64 * 1024;
export const DEFAULT_MAX_CONNECTIONS = 10_000;

const RL = DEFAULT_RELAY_LIMITS;
const SL = DEFAULT_SOURCE_LIMITS;

export const RELAY_LIMIT_OPTIONS = {
  'bandwidth-rate': { type: 'string' },
  'bandwidth-burst': { type: 'string' },
  'max-memory': { type: 'string' },
  'max-link-buffer': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-circuits': { type: 'string' },
  'max-circuits-per-link': { type: 'string' },
  'max-streams-per-circuit': { type: 'string' },
  'max-connections-per-source': { type: 'string' },
  'source-connection-rate': { type: 'string' },
  'source-connection-burst': { type: 'string' },
  'source-circuit-rate': { type: 'string' },
  'source-circuit-burst': { type: 'string' },
  'source-circuit-min-connections': { type: 'string' },
} as const;

export const RELAY_LIMIT_HELP = `
Limits (docs/LIMITS.md; sizes take K, KB, KiB, M, MB, MiB, G, GB, GiB):
  --bandwidth-rate RATE     bytes per second the relay reads, links and exit destinations
                            together (default unlimited; at least ${formatByteSize(MIN_BANDWIDTH_RATE)})
  --bandwidth-burst SIZE    bytes it may read at once after a quiet spell
                            (default twice --bandwidth-rate; at least --bandwidth-rate)
  --max-memory SIZE         cell bytes queued toward slow peers, all links together; past it
                            the circuits holding most are closed (default ${formatByteSize(RL.maxQueuedBytes)})
  --max-link-buffer SIZE    cell bytes queued toward one peer; past it the link is closed
                            (default ${formatByteSize(RL.maxLinkBufferedBytes)})
  --max-connections N       TCP connections held at once (default ${DEFAULT_MAX_CONNECTIONS})
  --max-circuits N          circuits through the relay at once (default ${RL.maxCircuits})
  --max-circuits-per-link N circuits on one link (default ${RL.maxCircuitsPerLink})
  --max-streams-per-circuit N
                            streams on one circuit at this exit (default ${RL.maxStreamsPerCircuit})
Per-source limits (one IPv4 address, or one IPv6 /64):
  --max-connections-per-source N
                            connections a source holds at once (default ${SL.maxConnectionsPerSource})
  --source-connection-rate R
                            new connections per second per source, after the burst (default ${SL.connectionRate.refillPerSecond})
  --source-connection-burst N
                            new connections a source may open at once (default ${SL.connectionRate.capacity})
  --source-circuit-rate R   circuits per second a source may create, after the burst, once it
                            holds --source-circuit-min-connections links (default ${SL.circuitRate.refillPerSecond})
  --source-circuit-burst N  circuits such a source may create at once (default ${SL.circuitRate.capacity})
  --source-circuit-min-connections N
                            links a source holds before its circuit rate applies (default ${SL.circuitRateMinConnections})`;

export interface RelayLimitSettings {
  limits: Partial<RelayLimits>;
  sourceLimits: SourceLimits;
  maxConnections: number;
  bandwidth?: BandwidthSettings;
}

export function relayLimitSettings(values: Record<string, unknown>): RelayLimitSettings {
  return {
    limits: {
      maxQueuedBytes: byteSizeOption(values['max-memory'], 'max-memory', RL.maxQueuedBytes, 1024 * 1024),
      maxLinkBufferedBytes: byteSizeOption(values['max-link-buffer'], 'max-link-buffer', RL.maxLinkBufferedBytes, 64 * 1024),
      maxCircuits: countOption(values['max-circuits'], 'max-circuits', RL.maxCircuits),
      maxCircuitsPerLink: countOption(values['max-circuits-per-link'], 'max-circuits-per-link', RL.maxCircuitsPerLink),
      maxStreamsPerCircuit: countOption(values['max-streams-per-circuit'], 'max-streams-per-circuit', RL.maxStreamsPerCircuit),
    },
    sourceLimits: {
      maxConnectionsPerSource: countOption(values['max-connections-per-source'], 'max-connections-per-source', SL.maxConnectionsPerSource),
      connectionRate: bucketOptions(values, 'source-connection', SL.connectionRate),
      circuitRate: bucketOptions(values, 'source-circuit', SL.circuitRate),
      circuitRateMinConnections: countOption(values['source-circuit-min-connections'], 'source-circuit-min-connections', SL.circuitRateMinConnections),
      maxSources: SL.maxSources,
    },
    maxConnections: countOption(values['max-connections'], 'max-connections', DEFAULT_MAX_CONNECTIONS),
    bandwidth: bandwidthSettings(values),
  };
}

/** A token bucket from its `--PREFIX-rate` and `--PREFIX-burst` options. */
function bucketOptions(values: Record<string, unknown>, prefix: string, defaults: BucketPolicy): BucketPolicy {
  return {
    refillPerSecond: perSecondOption(values[`${prefix}-rate`], `${prefix}-rate`, defaults.refillPerSecond),
    capacity: countOption(values[`${prefix}-burst`], `${prefix}-burst`, defaults.capacity),
  };
}

function bandwidthSettings(values: Record<string, unknown>): BandwidthSettings | undefined {
  if (values['bandwidth-rate'] === undefined) {
    if (values['bandwidth-burst'] !== undefined) throw new CliError('--bandwidth-burst needs --bandwidth-rate', 2);
    return undefined;
  }
  const rate = byteSizeOption(values['bandwidth-rate'], 'bandwidth-rate', 0, MIN_BANDWIDTH_RATE);
  const burst = byteSizeOption(values['bandwidth-burst'], 'bandwidth-burst', 2 * rate);
  if (burst < rate) throw new CliError(`--bandwidth-burst must be at least --bandwidth-rate (${formatByteSize(rate)}), got "${values['bandwidth-burst']}"`, 2);
  return { rate, burst };
}

const PL = DEFAULT_POOL_FLOOD_LIMITS;

export const POOL_LIMIT_OPTIONS = {
  'source-request-rate': { type: 'string' },
  'source-request-burst': { type: 'string' },
  'source-new-relay-rate': { type: 'string' },
  'source-new-relay-burst': { type: 'string' },
} as const;

export const POOL_LIMIT_HELP = `
Per-source limits on signed requests (one IPv4 address, or one IPv6 /64; docs/LIMITS.md):
  --source-request-rate R   registrations, heartbeats and unregistrations per second per source,
                            after the burst (default ${PL.requestsPerSource.refillPerSecond})
  --source-request-burst N  such requests a source may send at once (default ${PL.requestsPerSource.capacity})
  --source-new-relay-rate R registrations of relays not listed yet, per second per source, after
                            the burst (default ${PL.newRelaysPerSource.refillPerSecond}: one every ${1 / PL.newRelaysPerSource.refillPerSecond} s)
  --source-new-relay-burst N
                            new relays a source may register at once (default ${PL.newRelaysPerSource.capacity})`;

export function poolFloodLimits(values: Record<string, unknown>): PoolFloodLimits {
  return {
    requestsPerSource: bucketOptions(values, 'source-request', PL.requestsPerSource),
    newRelaysPerSource: bucketOptions(values, 'source-new-relay', PL.newRelaysPerSource),
    maxSources: PL.maxSources,
  };
}
