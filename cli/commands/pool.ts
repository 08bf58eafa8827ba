// `allium pool`: runs a pool index. The key file makes the pool key (which clients pin) survive
// restarts, so it defaults to a per-user data directory rather than being generated each run.
import { dataFile } from '../../node/data-dir.ts';
import { POOL_DEFAULTS, startPool } from '../../pool/server.ts';
import { defineCommand, serve } from '../command.ts';
import { countOption, portOption, secondsOption } from '../option-values.ts';
import { METRICS_HELP, METRICS_OPTIONS, metricsOption } from '../metrics-options.ts';
import { POOL_LIMIT_HELP, POOL_LIMIT_OPTIONS, poolFloodLimits } from '../limit-options.ts';
import { LOG_OPTIONS, commandLogger, logHelp } from '../log-options.ts';
import { TLS_SERVER_OPTIONS, tlsFilesOption, tlsServerHelp, trustedProxiesOption } from '../tls-options.ts';

const DEFAULT_PORT = 7070;

const seconds = (ms: number) => `${ms / 1000}`;

export default defineCommand({
  name: 'pool',
  help: `
Usage: allium pool [options]

Runs a pool index: relays register signed descriptors and send signed heartbeats; clients fetch
the list of live relays, signed with the pool key they pin (--pool-key). See docs/POOL.md.

Options:
  --host H                  address to listen on (default ${POOL_DEFAULTS.host})
  --port P                  TCP port, 0 for any free port (default ${DEFAULT_PORT})
  --key FILE                pool key file, created on first run
                            (default $XDG_DATA_HOME/allium/pool-key.json,
                            that is ~/.local/share/allium/pool-key.json)
  --heartbeat-period S      heartbeat period asked of relays, in seconds (default ${seconds(POOL_DEFAULTS.heartbeatPeriodMs)})
  --deprecation-delay S     a relay silent this long is no longer listed, in seconds (default ${seconds(POOL_DEFAULTS.deprecationDelayMs)})
  --gc-interval S           how often deprecated relays and expired nonces are freed, in seconds (default ${seconds(POOL_DEFAULTS.gcIntervalMs)})
  --max-relays N            most relays registered at once (default ${POOL_DEFAULTS.maxRelays})
${tlsServerHelp('https://')}
${METRICS_HELP}
  --json                    print {"pool":URL,"poolKey":KEY} on one line once listening; logs go to stderr
                            (with "metrics":URL when --metrics-port is given)
${logHelp()}
  -h, --help                show this help
${POOL_LIMIT_HELP}
`,
  options: {
    ...TLS_SERVER_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    key: { type: 'string' },
    'heartbeat-period': { type: 'string' },
    'deprecation-delay': { type: 'string' },
    'gc-interval': { type: 'string' },
    'max-relays': { type: 'string' },
    json: { type: 'boolean' },
    ...METRICS_OPTIONS,
    ...POOL_LIMIT_OPTIONS,
    ...LOG_OPTIONS,
  },
  async run(values) {
    const options = {
      host: (values.host as string | undefined) ?? POOL_DEFAULTS.host,
      port: portOption(values.port, 'port', DEFAULT_PORT),
      keyFile: (values.key as string | undefined) ?? dataFile('pool-key.json'),
      heartbeatPeriodMs: secondsOption(values['heartbeat-period'], 'heartbeat-period', POOL_DEFAULTS.heartbeatPeriodMs),
      deprecationDelayMs: secondsOption(values['deprecation-delay'], 'deprecation-delay', POOL_DEFAULTS.deprecationDelayMs),
      gcIntervalMs: secondsOption(values['gc-interval'], 'gc-interval', POOL_DEFAULTS.gcIntervalMs),
      maxRelays: countOption(values['max-relays'], 'max-relays', POOL_DEFAULTS.maxRelays),
      floodLimits: poolFloodLimits(values),
      log: commandLogger('pool', values),
      tls: tlsFilesOption(values),
      trustedProxies: trustedProxiesOption(values),
      metrics: metricsOption(values),
    };
    return serve(values.json === true, async () => {
      const pool = await startPool(options);
      return {
        ready: { pool: pool.url, poolKey: pool.poolKey, ...(pool.metricsUrl ? { metrics: pool.metricsUrl } : {}) },
        describe: [
          `Pool listening on ${pool.url}`,
          `Pool key (clients pass it as --pool-key): ${pool.poolKey}`,
          `Key file: ${options.keyFile}`,
          ...(pool.metricsUrl ? [`Metrics on ${pool.metricsUrl}/metrics, health on ${pool.metricsUrl}/health`] : []),
        ],
        stop: () => pool.close(),
      };
    });
  },
});
