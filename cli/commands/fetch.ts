// `allium fetch`: one request through a fresh 3-hop circuit, body to stdout (like curl).
import { isTpdpError } from '../../shared/errors.ts';
import { createNodeClient } from '../../node/client.ts';
import { createLogger } from '../../node/log.ts';
import { CliError, defineCommand } from '../command.ts';
import { POOL_HELP, POOL_OPTIONS, poolRefs } from '../pool-options.ts';
import { CA_HELP, CA_OPTIONS, caOption } from '../tls-options.ts';

export default defineCommand({
  name: 'fetch',
  allowPositionals: true,
  help: `
Usage: allium fetch --pool URL --pool-key KEY [options] TARGET_URL

Builds a 3-hop circuit from the pool's signed relay list and has the exit fetch TARGET_URL.
The response body goes to stdout; the destination sees the exit's address, never yours.

Options:
${POOL_HELP}
${CA_HELP}
  -X, --method M            HTTP method (default GET)
  -H, --header "N: V"       request header (repeatable)
  -d, --data TEXT           request body (default method becomes POST)
  -i, --include             print the status line and headers before the body
  -v, --verbose             show the circuit on stderr
  -h, --help                show this help
`,
  options: {
    ...POOL_OPTIONS,
    ...CA_OPTIONS,
    method: { type: 'string', short: 'X' },
    header: { type: 'string', short: 'H', multiple: true },
    data: { type: 'string', short: 'd' },
    include: { type: 'boolean', short: 'i' },
    verbose: { type: 'boolean', short: 'v' },
  },
  async run(values, positionals) {
    if (positionals.length !== 1) throw new CliError('give exactly one TARGET_URL', 2);
    const target = positionals[0];
    try {
      new URL(target);
    } catch {
      throw new CliError(`"${target}" is not a URL`, 2);
    }
    const headers = new Headers();
    for (const line of (values.header as string[] | undefined) ?? []) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new CliError(`--header "${line}" is not "Name: value"`, 2);
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const data = values.data as string | undefined;
    const method = (values.method as string | undefined) ?? (data === undefined ? 'GET' : 'POST');
    const log = createLogger('fetch');
    const client = createNodeClient({ pools: poolRefs(values), ca: caOption(values), log });
    if (values.verbose) {
      client.onCircuitEvent((e) => process.stderr.write(`circuit ${e.phase}: ${e.relays.map((r) => `${r.id.slice(0, 8)} ${r.url}`).join(' → ')}${e.error ? ` (${e.error.code}: ${e.error.message})` : ''}\n`));
    }
    try {
      const response = await client.fetch(target, { method, headers, body: data });
      if (values.include) {
        let head = `HTTP ${response.status} ${response.statusText}\r\n`;
        for (const [name, value] of response.headers) head += `${name}: ${value}\r\n`;
        process.stdout.write(head + '\r\n');
      }
      if (response.body) {
        for await (const chunk of response.body) {
          if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
        }
      }
      return 0;
    } catch (err) {
      throw new CliError(isTpdpError(err) ? `${err.code}: ${err.message}` : (err as Error).message);
    } finally {
      client.close();
    }
  },
});
