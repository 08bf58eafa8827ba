// `allium site`: runs the authentication server and demo site; `allium site add-user` creates an
// account. The database defaults to a per-user data directory so accounts survive restarts.
import { readFileSync } from 'node:fs';
import { nodeCrypto } from '../../node/crypto.ts';
import { dataFile } from '../../node/data-dir.ts';
import { POOL_OPTIONS, poolRefs } from '../pool-options.ts';
import { MIN_ITERATIONS } from '../../shared/scram-crypto.ts';
import { DEFAULT_MAX_ITERATIONS } from '../../shared/scram-client.ts';
import { poolExitAddresses } from '../../site/exit-addresses.ts';
import { DEFAULT_SECRET, startSite } from '../../site/server.ts';
import { DEFAULT_ITERATIONS, addUser } from '../../site/users.ts';
import { CliError, defineCommand, serve } from '../command.ts';
import { portOption } from '../option-values.ts';
import { LOG_OPTIONS, commandLogger, logHelp } from '../log-options.ts';

const DEFAULT_PORT = 8080;
const DEFAULT_HOST = '127.0.0.1';
/** Longer input on stdin is refused rather than buffered without bound. */
const MAX_PASSWORD_LENGTH = 1024;

const defaultDb = () => dataFile('site.db');

function iterationsOption(value: unknown): number {
  if (value === undefined) return DEFAULT_ITERATIONS;
  const count = Number(value);
  if (!Number.isInteger(count) || count < MIN_ITERATIONS || count > DEFAULT_MAX_ITERATIONS) {
    throw new CliError(`--iterations must be an integer from ${MIN_ITERATIONS} to ${DEFAULT_MAX_ITERATIONS}, got "${value}"`, 2);
  }
  return count;
}

/** Reads one line from a terminal without echoing it; Ctrl-C cancels. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (error?: CliError) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish();
        if (char === '\u0003') return finish(new CliError('cancelled', 130));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (typed.length < MAX_PASSWORD_LENGTH) typed += char;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * The password for `user`: typed twice without echo on a terminal, otherwise the whole of stdin
 * minus one trailing newline (so `echo pw | allium site add-user …` works).
 */
export async function readPassword(user: string): Promise<string> {
  if (process.stdin.isTTY) {
    const password = await promptHidden(`Password for ${user}: `);
    if ((await promptHidden('Repeat the password: ')) !== password) throw new CliError('the passwords differ');
    return password;
  }
  const input = readFileSync(0, 'utf8');
  if (input.length > MAX_PASSWORD_LENGTH + 2) throw new CliError(`the password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  return input.replace(/\r?\n$/, '');
}

async function addUserCommand(values: Record<string, unknown>, names: string[]): Promise<number> {
  if (names.length !== 1) throw new CliError('add-user takes exactly one user name', 2);
  const ignored = Object.keys(values).filter((name) => name !== 'db' && name !== 'iterations');
  if (ignored.length > 0) throw new CliError(`add-user does not take --${ignored[0]}`, 2);
  const db = (values.db as string | undefined) ?? defaultDb();
  const iterations = iterationsOption(values.iterations);
  const password = await readPassword(names[0]);
  if (password.length === 0) throw new CliError('the password is empty');
  let result: 'added' | 'updated';
  try {
    result = await addUser(db, names[0], password, { iterations });
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  process.stderr.write(`${result === 'added' ? 'Added' : 'Updated the password of'} user ${names[0]} in ${db}\n`);
  return 0;
}

export default defineCommand({
  name: 'site',
  help: `
Usage: allium site [options]
       allium site add-user NAME [--db FILE] [--iterations N]

Runs the demo site: / tells visitors whether they came through an Allium exit, /login logs in with
SCRAM-SHA-256 in the browser, and GET /secret requires SCRAM-SHA-256 HTTP authentication
(RFC 7804) or the session cookie a login sets. See docs/SITE.md.

add-user reads the password from stdin (or asks for it, without echo, on a terminal) and stores
only its SCRAM verifier; an existing user gets the new password.

Options:
  --host H              address to listen on (default ${DEFAULT_HOST})
  --port P              TCP port, 0 for any free port (default ${DEFAULT_PORT})
  --db FILE             user database, created on first run
                        (default $XDG_DATA_HOME/allium/site.db, that is ~/.local/share/allium/site.db)
  --secret TEXT         the text /secret reveals (default "${DEFAULT_SECRET}")
  --iterations N        PBKDF2 iterations: for new accounts (add-user), and shown for unknown
                        names (site) so they look like real ones (default ${DEFAULT_ITERATIONS})
  --pool URL            a pool whose relays' outbound addresses mark Allium exits on /;
                        repeat with one --pool-key each
  --pool-key KEY        the Ed25519 key pinned for the matching --pool
  --tls-cert FILE       serve HTTPS with this certificate (PEM); needs --tls-key
  --tls-key FILE        the certificate's private key (PEM)
  --json                print {"site":URL} on one line once listening; logs go to stderr
${logHelp(24)}
  -h, --help            show this help
`,
  options: {
    host: { type: 'string' },
    port: { type: 'string' },
    db: { type: 'string' },
    secret: { type: 'string' },
    iterations: { type: 'string' },
    ...POOL_OPTIONS,
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    json: { type: 'boolean' },
    ...LOG_OPTIONS,
  },
  allowPositionals: true,
  async run(values, positionals) {
    if (positionals[0] === 'add-user') return addUserCommand(values, positionals.slice(1));
    if (positionals.length > 0) throw new CliError(`unknown argument "${positionals[0]}"`, 2);
    const poolList = poolRefs(values, true);
    const certFile = values['tls-cert'] as string | undefined;
    const keyFile = values['tls-key'] as string | undefined;
    if ((certFile === undefined) !== (keyFile === undefined)) throw new CliError('--tls-cert and --tls-key go together', 2);
    const options = {
      host: (values.host as string | undefined) ?? DEFAULT_HOST,
      port: portOption(values.port, 'port', DEFAULT_PORT),
      db: (values.db as string | undefined) ?? defaultDb(),
      secret: values.secret as string | undefined,
      iterations: iterationsOption(values.iterations),
      exitAddresses: poolList.length > 0 ? poolExitAddresses(poolList, { fetch, crypto: nodeCrypto }) : undefined,
      tls: certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined,
      logger: commandLogger('site', values),
    };
    return serve(values.json === true, async () => {
      const site = await startSite(options);
      return {
        ready: { site: site.url },
        describe: [`Site listening on ${site.url}`, `User database: ${options.db}`],
        stop: () => site.close(),
      };
    });
  },
});
