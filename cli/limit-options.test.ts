import { describe, expect, it } from 'vitest';
import { DEFAULT_RELAY_LIMITS } from '../shared/relay-node.ts';
import { DEFAULT_SOURCE_LIMITS } from '../relay/source-limits.ts';
import { DEFAULT_POOL_FLOOD_LIMITS } from '../pool/flood-limits.ts';
import { runCli } from '../test/support/processes.ts';
import { poolFloodLimits, relayLimitSettings } from './limit-options.ts';

const POOL_ARGS = ['--pool', 'http://127.0.0.1:1', '--pool-key', 'A'.repeat(43)];

describe('relay limit options', () => {
  it('defaults to the built-in limits, with no bandwidth limit', () => {
    const settings = relayLimitSettings({});
    expect(settings.bandwidth).toBeUndefined();
    expect(settings.limits).toMatchObject({ maxQueuedBytes: DEFAULT_RELAY_LIMITS.maxQueuedBytes, maxCircuits: DEFAULT_RELAY_LIMITS.maxCircuits });
    expect(settings.sourceLimits).toEqual(DEFAULT_SOURCE_LIMITS);
    expect(settings.maxConnections).toBe(10_000);
  });

  it('reads every limit, with the burst defaulting to twice the rate', () => {
    const settings = relayLimitSettings({
      'bandwidth-rate': '2MB',
      'max-memory': '64MiB',
      'max-link-buffer': '8 MiB',
      'max-connections': '500',
      'max-circuits': '1000',
      'max-circuits-per-link': '100',
      'max-streams-per-circuit': '16',
      'max-connections-per-source': '5',
      'source-connection-rate': '0.5',
      'source-connection-burst': '10',
      'source-circuit-rate': '2',
      'source-circuit-burst': '30',
      'source-circuit-min-connections': '2',
    });
    expect(settings.bandwidth).toEqual({ rate: 2_000_000, burst: 4_000_000 });
    expect(settings.limits).toEqual({ maxQueuedBytes: 64 * 1024 ** 2, maxLinkBufferedBytes: 8 * 1024 ** 2, maxCircuits: 1000, maxCircuitsPerLink: 100, maxStreamsPerCircuit: 16 });
    expect(settings.maxConnections).toBe(500);
    expect(settings.sourceLimits).toEqual({
      maxConnectionsPerSource: 5,
      connectionRate: { refillPerSecond: 0.5, capacity: 10 },
      circuitRate: { refillPerSecond: 2, capacity: 30 },
      circuitRateMinConnections: 2,
      maxSources: DEFAULT_SOURCE_LIMITS.maxSources,
    });
  });

  it('names the option in every error', () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'bandwidth-rate': 'fast' }, '--bandwidth-rate must be a size in bytes'],
      [{ 'bandwidth-rate': '10KB' }, '--bandwidth-rate must be at least 64 KiB, got "10KB"'],
      [{ 'bandwidth-rate': '2MB', 'bandwidth-burst': '1MB' }, '--bandwidth-burst must be at least --bandwidth-rate'],
      [{ 'bandwidth-burst': '1MB' }, '--bandwidth-burst needs --bandwidth-rate'],
      [{ 'max-memory': '12 bananas' }, '--max-memory must be a size in bytes'],
      [{ 'max-memory': '1000' }, '--max-memory must be at least 1 MiB'],
      [{ 'max-circuits': '0' }, '--max-circuits must be a whole number of at least 1, got "0"'],
      [{ 'max-circuits-per-link': '2.5' }, '--max-circuits-per-link must be a whole number'],
      [{ 'max-streams-per-circuit': '' }, '--max-streams-per-circuit must be a whole number'],
      [{ 'max-connections': '-3' }, '--max-connections must be a whole number'],
      [{ 'source-connection-rate': '0' }, '--source-connection-rate must be a positive number per second, got "0"'],
      [{ 'source-circuit-burst': 'many' }, '--source-circuit-burst must be a whole number'],
    ];
    for (const [values, message] of cases) expect(() => relayLimitSettings(values), JSON.stringify(values)).toThrow(message);
  });
});

describe('pool limit options', () => {
  it('defaults to the built-in flood limits and reads each one', () => {
    expect(poolFloodLimits({})).toEqual(DEFAULT_POOL_FLOOD_LIMITS);
    expect(poolFloodLimits({ 'source-request-rate': '5', 'source-request-burst': '20', 'source-new-relay-rate': '0.01', 'source-new-relay-burst': '3' })).toEqual({
      requestsPerSource: { refillPerSecond: 5, capacity: 20 },
      newRelaysPerSource: { refillPerSecond: 0.01, capacity: 3 },
      maxSources: DEFAULT_POOL_FLOOD_LIMITS.maxSources,
    });
    expect(() => poolFloodLimits({ 'source-new-relay-rate': 'never' })).toThrow('--source-new-relay-rate must be a positive number per second, got "never"');
  });
});

describe('limit options on the command line', () => {
  it('refuse a bad value at start-up with status 2 and the option named', async () => {
    const relay = await runCli(['relay', ...POOL_ARGS, '--bandwidth-rate', '2MB', '--bandwidth-burst', '1MB']);
    expect(relay.code).toBe(2);
    expect(relay.stderr).toContain('--bandwidth-burst must be at least --bandwidth-rate (2 MB)');
    const pool = await runCli(['pool', '--port', '0', '--source-request-burst', 'lots']);
    expect(pool.code).toBe(2);
    expect(pool.stderr).toContain('--source-request-burst must be a whole number of at least 1, got "lots"');
  }, 20_000);
});
