// `allium login`: SCRAM-SHA-256 login (RFC 7804) to a site through a circuit; the password never
// leaves this machine, and the site must prove it knows the verifier before the secret is shown.
import { isTpdpError } from '../../shared/errors.ts';
import { scramLogin } from '../../shared/scram-client.ts';
import { webCryptoScram } from '../../shared/scram-crypto.ts';
import { createNodeClient } from '../../node/client.ts';
import { createLogger } from '../../node/log.ts';
import { CliError, defineCommand } from '../command.ts';
import { POOL_HELP, POOL_OPTIONS, poolRefs } from '../pool-options.ts';
import { CA_HELP, CA_OPTIONS, caOption } from '../tls-options.ts';
import { readPassword } from './site.ts';

export default defineCommand({
  name: 'login',
  help: `
Usage: allium login --pool URL --pool-key KEY --site URL --user NAME

Reads the password from stdin (or asks for it without echo on a terminal), performs the
SCRAM-SHA-256 HTTP authentication exchange (RFC 7804) with the site over a 3-hop circuit,
checks the site's signature, and prints the secret the site reveals to logged-in users.

Options:
${POOL_HELP}
${CA_HELP}
  --site URL                the site, e.g. the demo's http://127.0.0.1:7076
  --user NAME               the account name
  -h, --help                show this help
`,
  options: {
    ...POOL_OPTIONS,
    ...CA_OPTIONS,
    site: { type: 'string' },
    user: { type: 'string' },
  },
  async run(values) {
    const pools = poolRefs(values);
    const ca = caOption(values);
    const site = values.site as string | undefined;
    const user = values.user as string | undefined;
    if (!site) throw new CliError('--site URL is required', 2);
    if (!user) throw new CliError('--user NAME is required', 2);
    try {
      new URL(site);
    } catch {
      throw new CliError(`--site "${site}" is not a URL`, 2);
    }
    const password = await readPassword(user);
    const client = createNodeClient({ pools, ca, log: createLogger('login') });
    try {
      const result = await scramLogin({
        fetch: (input, init) => client.fetch(input as string, init),
        siteUrl: site,
        user,
        password,
        crypto: webCryptoScram(globalThis.crypto),
      });
      process.stdout.write(result.secret + '\n');
      return 0;
    } catch (err) {
      throw new CliError(isTpdpError(err) ? `${err.code}: ${err.message}` : (err as Error).message);
    } finally {
      client.close();
    }
  },
});
