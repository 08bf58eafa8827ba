// `allium proxy`: a local SOCKS5 and HTTP proxy so any program can use the network.
import { createNodeClient } from '../../node/client.ts';
import { dataFile } from '../../node/data-dir.ts';
import { startControl } from '../../proxy/control.ts';
import { loadControlToken } from '../../proxy/control-token.ts';
import { startProxy } from '../../proxy/server.ts';
import { CliError, defineCommand, serve } from '../command.ts';
import { portOption } from '../option-values.ts';
import { POOL_HELP, POOL_OPTIONS, poolRefs } from '../pool-options.ts';
import { STATUS_HELP, STATUS_OPTIONS, StatusScreen } from '../status-screen.ts';
import { proxyStatus } from '../status-sources.ts';
import { CA_HELP, CA_OPTIONS, caOption } from '../tls-options.ts';
import { LOG_OPTIONS, commandLogger, logHelp } from '../log-options.ts';

const DEFAULT_SOCKS_PORT = 9050;
const DEFAULT_HTTP_PORT = 8118;

export default defineCommand({
  name: 'proxy',
  help: `
Usage: allium proxy --pool URL --pool-key KEY [options]

Listens on 127.0.0.1 for SOCKS5 (RFC 1928; CONNECT, names resolved by the exit) and HTTP proxy
requests (CONNECT tunnels and absolute-URI requests), and carries each connection over a 3-hop
circuit. Different SOCKS5 username/password pairs (or HTTP Proxy-Authorization credentials) get
different circuits; the credentials are never checked, only used to keep activities apart.

  curl --socks5-hostname 127.0.0.1:${DEFAULT_SOCKS_PORT} https://example.org/
  curl -x http://127.0.0.1:${DEFAULT_HTTP_PORT} http://example.org/

Options:
${POOL_HELP}
${CA_HELP}
  --socks P                 SOCKS5 port, 0 for any free port (default ${DEFAULT_SOCKS_PORT})
  --http P                  HTTP proxy port, 0 for any free port (default ${DEFAULT_HTTP_PORT})
  --host H                  address to listen on (default 127.0.0.1; anything else lets others
                            use your circuits)
  --control P               also serve the control endpoint on 127.0.0.1:P (0 for any free
                            port): the Allium Firefox extension reads each tab's circuit there
                            (docs/FIREFOX.md)
  --control-token FILE      the control endpoint's bearer token, created (mode 0600) if missing
                            (default ${dataFile('proxy-control-token')})
  --json                    print {"socks":"127.0.0.1:P","http":"127.0.0.1:P"} once listening,
                            with "control":"http://127.0.0.1:P" when --control is given
${STATUS_HELP}
${logHelp()}
  -h, --help                show this help
`,
  options: {
    ...POOL_OPTIONS,
    ...CA_OPTIONS,
    socks: { type: 'string' },
    http: { type: 'string' },
    host: { type: 'string' },
    control: { type: 'string' },
    'control-token': { type: 'string' },
    json: { type: 'boolean' },
    ...STATUS_OPTIONS,
    ...LOG_OPTIONS,
  },
  async run(values) {
    const pools = poolRefs(values);
    const ca = caOption(values);
    const host = (values.host as string | undefined) ?? '127.0.0.1';
    const socksPort = portOption(values.socks, 'socks', DEFAULT_SOCKS_PORT);
    const httpPort = portOption(values.http, 'http', DEFAULT_HTTP_PORT);
    if (socksPort !== 0 && socksPort === httpPort) throw new CliError('--socks and --http need different ports', 2);
    const controlPort = values.control === undefined ? undefined : portOption(values.control, 'control', 0);
    if (controlPort === undefined && values['control-token'] !== undefined) throw new CliError('--control-token needs --control', 2);
    if (controlPort !== undefined && controlPort !== 0 && (controlPort === socksPort || controlPort === httpPort)) throw new CliError('--control needs a port of its own', 2);
    const token = controlPort === undefined ? undefined : controlToken((values['control-token'] as string | undefined) ?? dataFile('proxy-control-token'));
    const screen = new StatusScreen(values);
    const log = commandLogger('proxy', values, screen.sink);
    if (token?.exposed) log.warn('the control token file can be read by other users: chmod 600 it, or delete it for a new token', { file: token.file });
    return serve(values.json === true, async () => {
      const client = createNodeClient({ pools, ca, log: log.child('client') });
      client.onCircuitEvent((e) =>
        log.info(`circuit ${e.phase}`, { relays: e.relays.map((r) => r.id.slice(0, 8)), ...(e.error ? { error: e.error.code } : {}) }),
      );
      const proxy = await startProxy({ opener: client, socks: { host, port: socksPort }, http: { host, port: httpPort }, log });
      const control = token
        ? await startControl({ client, port: controlPort!, token: token.token, log: log.child('control'), socks: proxy.socks, http: proxy.http, pools: pools.map((p) => p.url) }).catch(async (err) => {
            await proxy.close();
            throw err;
          })
        : undefined;
      // Like Tor, build a circuit ahead of the first request so it does not wait for one.
      client.prepareCircuit().catch((err) => log.warn('could not build a first circuit yet', { error: (err as Error).message }));
      const describe = [
        `SOCKS5 proxy on ${proxy.socks}`,
        `HTTP proxy on ${proxy.http}`,
        ...(control && token ? [`Control endpoint on ${control.url}; its token is in ${token.file}${token.created ? ' (new: paste it in the extension\'s options)' : ''}`] : []),
        `Relays from ${pools.map((p) => p.url).join(', ')}. Ctrl-C to stop.`,
      ];
      screen.show(proxyStatus(client, proxy, describe));
      return {
        ready: { socks: proxy.socks, http: proxy.http, ...(control ? { control: control.url } : {}) },
        describe,
        async stop() {
          screen.leave();
          await control?.close();
          await proxy.close();
          client.close();
        },
      };
    });
  },
});

function controlToken(file: string) {
  try {
    return loadControlToken(file);
  } catch (err) {
    throw new CliError(`--control-token: ${(err as Error).message}`);
  }
}
