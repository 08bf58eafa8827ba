// `allium relay`: runs a relay and keeps it registered with its pools.
import { dataFile } from '../../node/data-dir.ts';
import { isIP } from 'node:net';
import { startRelay } from '../../relay/relay.ts';
import { CliError, defineCommand, serve } from '../command.ts';
import { portOption, secondsOption } from '../option-values.ts';
import { POOL_HELP, POOL_OPTIONS, poolRefs } from '../pool-options.ts';
import { METRICS_HELP, METRICS_OPTIONS, metricsOption } from '../metrics-options.ts';
import { STATUS_HELP, STATUS_OPTIONS, StatusScreen } from '../status-screen.ts';
import { relayStatus } from '../status-sources.ts';
import { CA_HELP, CA_OPTIONS, caOption, TLS_SERVER_OPTIONS, tlsFilesOption, tlsServerHelp, trustedProxiesOption } from '../tls-options.ts';
import { RELAY_LIMIT_HELP, RELAY_LIMIT_OPTIONS, relayLimitSettings } from '../limit-options.ts';
import { RELAY_METADATA_HELP, RELAY_METADATA_OPTIONS, relayMetadataSettings } from '../relay-metadata-options.ts';
import { LOG_OPTIONS, commandLogger, logHelp } from '../log-options.ts';

const DEFAULT_PORT = 9001;

export default defineCommand({
  name: 'relay',
  help: `
Usage: allium relay --pool URL --pool-key KEY [options]

Runs a TPDP relay: it accepts WebSocket links, builds circuits, forwards cells and, as the last
hop, opens TCP connections and performs HTTP requests for clients. It registers a signed
descriptor with every pool and heartbeats until stopped (SIGINT/SIGTERM unregisters it).

Options:
${POOL_HELP}
  --host H                  address to listen on (default 127.0.0.1; 0.0.0.0 on a server)
  --port P                  TCP port, 0 for any free port (default ${DEFAULT_PORT})
  --public-url URL          ws:// or wss:// URL clients reach this relay at
                            (default ws://HOST:PORT, wss:// with --tls-cert; set it behind
                            a proxy or NAT)
${tlsServerHelp('wss://')}
${CA_HELP}
  --key FILE                identity and onion key file, created on first run
                            (default $XDG_DATA_HOME/allium/relay-key.json)
  --outbound IP             source address for exit traffic and links to other relays
  --allow-private           let the exit reach private, loopback and link-local addresses
                            (only for local test networks)
  --nickname NAME           a name for this relay in pool lists (letters, digits, _ and -)
${RELAY_METADATA_HELP}
  --handshake-timeout S     bound on link and circuit handshakes, in seconds (default 10)
${METRICS_HELP}
${STATUS_HELP}
  --json                    print {"id":ID,"url":URL} on one line once listed by every pool
                            (with "metrics":URL when --metrics-port is given)
${logHelp()}
  -h, --help                show this help
${RELAY_LIMIT_HELP}
`,
  options: {
    ...POOL_OPTIONS,
    ...TLS_SERVER_OPTIONS,
    ...CA_OPTIONS,
    host: { type: 'string' },
    port: { type: 'string' },
    'public-url': { type: 'string' },
    key: { type: 'string' },
    outbound: { type: 'string' },
    'allow-private': { type: 'boolean' },
    nickname: { type: 'string' },
    ...RELAY_METADATA_OPTIONS,
    'handshake-timeout': { type: 'string' },
    json: { type: 'boolean' },
    ...METRICS_OPTIONS,
    ...STATUS_OPTIONS,
    ...RELAY_LIMIT_OPTIONS,
    ...LOG_OPTIONS,
  },
  async run(values) {
    const pools = poolRefs(values);
    const outbound = values.outbound as string | undefined;
    if (outbound !== undefined && isIP(outbound) === 0) throw new CliError(`--outbound must be an IP address, got "${outbound}"`, 2);
    const publicUrl = values['public-url'] as string | undefined;
    if (publicUrl !== undefined && !/^wss?:\/\/[^\s/]+/.test(publicUrl)) throw new CliError(`--public-url must be a ws:// or wss:// URL, got "${publicUrl}"`, 2);
    const { limits, sourceLimits, maxConnections, bandwidth } = relayLimitSettings(values);
    const tls = tlsFilesOption(values);
    const ca = caOption(values);
    const trustedProxies = trustedProxiesOption(values);
    const metrics = metricsOption(values);
    const metadata = relayMetadataSettings(values);
    const screen = new StatusScreen(values);
    const log = commandLogger('relay', values, screen.sink);
    return serve(values.json === true, async (signal) => {
      const relay = await startRelay({
        signal,
        pools,
        keyFile: (values.key as string | undefined) ?? dataFile('relay-key.json'),
        host: (values.host as string | undefined) ?? '127.0.0.1',
        port: portOption(values.port, 'port', DEFAULT_PORT),
        publicUrl,
        tls,
        ca,
        trustedProxies,
        outbound,
        allowPrivate: values['allow-private'] === true,
        nickname: values.nickname as string | undefined,
        ...metadata,
        limits: { ...limits, handshakeTimeoutMs: secondsOption(values['handshake-timeout'], 'handshake-timeout', 10_000) },
        sourceLimits,
        maxConnections,
        bandwidth,
        metrics,
        log,
      });
      const describe = [
        `Relay ${relay.id} listening on ${relay.url}`,
        ...(relay.metricsUrl ? [`Metrics on ${relay.metricsUrl}/metrics, health on ${relay.metricsUrl}/health`] : []),
        `Listed by ${pools.length} pool(s). Ctrl-C to stop.`,
      ];
      screen.show(relayStatus(relay, describe.slice(0, -1)));
      return {
        ready: { id: relay.id, url: relay.url, ...(relay.metricsUrl ? { metrics: relay.metricsUrl } : {}) },
        describe,
        stop: () => {
          screen.leave();
          return relay.close();
        },
      };
    });
  },
});
