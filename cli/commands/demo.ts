// `allium demo` (what `npm start` runs): a local network with the demo site, ready to use.
import { startDemoNetwork } from '../../demo/network.ts';
import { CliError, defineCommand, serve } from '../command.ts';
import { portOption } from '../option-values.ts';
import { LOG_OPTIONS, commandLogger, logHelp } from '../log-options.ts';
import { STATUS_HELP, STATUS_OPTIONS, StatusScreen } from '../status-screen.ts';
import { demoStatus } from '../status-sources.ts';

const DEFAULT_BASE_PORT = 7070;

export default defineCommand({
  name: 'demo',
  help: `
Usage: allium demo [options]

Starts a pool index, relays and the demo site on 127.0.0.1 (each relay's exit traffic leaves
from its own loopback address, 127.0.0.2, 127.0.0.3, …), seeds the site with a demo account,
then prints how to use them. Ctrl-C stops it all.
Keys are kept in $XDG_DATA_HOME/allium/demo, so the pool key stays the same across runs.

Options:
  --relays N                number of relays (default 5, at least 3)
  --base-port P             pool on P, relays on P+1…P+N, site on P+N+1; 0 picks free ports
                            (default ${DEFAULT_BASE_PORT})
  --json                    print one JSON line with the pool, relays, site and demo user once ready
${STATUS_HELP}
${logHelp()}
  -h, --help                show this help
`,
  options: {
    relays: { type: 'string' },
    'base-port': { type: 'string' },
    json: { type: 'boolean' },
    ...STATUS_OPTIONS,
    ...LOG_OPTIONS,
  },
  async run(values) {
    const relays = values.relays === undefined ? 5 : Number(values.relays);
    if (!Number.isInteger(relays) || relays < 3 || relays > 250) throw new CliError(`--relays must be a whole number from 3 to 250, got "${values.relays}"`, 2);
    const basePort = portOption(values['base-port'], 'base-port', DEFAULT_BASE_PORT);
    const screen = new StatusScreen(values);
    const log = commandLogger('demo', values, screen.sink);
    return serve(values.json === true, async () => {
      const started = Date.now();
      const network = await startDemoNetwork({ relays, basePort, log });
      const pool = `--pool ${network.pool.url} --pool-key ${network.pool.poolKey}`;
      const relayLines = network.relays.map((r, i) => `  relay ${i + 1}   ${r.id.slice(0, 8)}  ${r.url}  exits from ${r.outbound}`);
      const usage = [
        `  pool      ${network.pool.url}`,
        `  pool key  ${network.pool.poolKey}`,
        `  site      ${network.site.url}   (user "${network.user.name}", password "${network.user.password}")`,
        ``,
        `Fetch the demo site through a 3-hop circuit (it tells you it saw an Allium exit):`,
        `  npx allium fetch ${pool} ${network.site.url}/`,
        `Log in through the circuit (SCRAM-SHA-256: the password never leaves your machine):`,
        `  echo '${network.user.password}' | npx allium login ${pool} --site ${network.site.url} --user ${network.user.name}`,
        `Run a local SOCKS5/HTTP proxy for any program:`,
        `  npx allium proxy ${pool}`,
        `Anonymous tabs: \`npm run build\`, load dist/chrome unpacked at chrome://extensions (Firefox: dist/firefox, see README), put the pool URL and key in its options, tick "Anonymous tab" in its popup.`,
      ];
      // The view sums the relays' figures, so it leaves their list out and keeps what a user needs.
      screen.show(demoStatus(network.pool, network.relays.map((r) => r.relay), usage));
      return {
        ready: {
          pool: network.pool.url,
          poolKey: network.pool.poolKey,
          relays: network.relays.map(({ id, url, outbound }) => ({ id, url, outbound })),
          site: network.site.url,
          user: network.user,
        },
        describe: [`Allium demo network ready in ${Date.now() - started} ms.`, ``, ...usage.slice(0, 2), ...relayLines, ...usage.slice(2), ``, `Ctrl-C stops the network.`],
        stop: () => {
          screen.leave();
          return network.close();
        },
      };
    });
  },
});
