// What every `allium` sub-command shares: option parsing with --help and clear errors, and the
// lifecycle of long-running services (one --json ready line on stdout, clean stop on signals).
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';
import { FileTooLargeError, readBoundedFile } from '../node/bounded-file.ts';
import { errorMessage } from '../node/log.ts';
import { ConfigError, environmentName, layerSources, MAX_CONFIG_BYTES, parseConfigFile, parseEnvironment, type SourcedValues } from './config-sources.ts';

export interface Command<Options extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> {
  name: string;
  /** Full --help text: usage line, description, every option. */
  help: string;
  options: Options;
  allowPositionals?: boolean;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number | void>;
}

/** A user-facing error: printed without a stack trace, exit status 2 for usage, 1 otherwise. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

export function defineCommand<Options extends ParseArgsOptionsConfig>(command: Command<Options>): Command<Options> {
  return command;
}

/**
 * Joins each value-taking option with its value (`--pool-key -x…` → `--pool-key=-x…`): values such
 * as base64url keys may start with "-", which parseArgs would otherwise take for an option.
 */
function attachValues(argv: string[], options: ParseArgsOptionsConfig): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, option] of Object.entries(options)) {
    if (option.type !== 'string') continue;
    takesValue.set(`--${name}`, name);
    if (option.short) takesValue.set(`-${option.short}`, name);
  }
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = takesValue.get(argv[i]);
    if (argv[i] === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (name !== undefined && i + 1 < argv.length) out.push(`--${name}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

export async function runCommand(command: Command, argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: attachValues(argv, command.options),
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, config: { type: 'string' } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`allium ${command.name}: ${errorMessage(err)}\nRun 'allium ${command.name} --help' for usage.\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(command.help.trim() + '\n' + configurationHelp(command));
    return 0;
  }
  let sourced: SourcedValues;
  try {
    sourced = gatherValues(command, parsed.values, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`allium ${command.name}: ${err.message}\nRun 'allium ${command.name} --help' for usage.\n`);
    return 2;
  }
  try {
    return (await command.run(sourced.values, parsed.positionals)) ?? 0;
  } catch (err) {
    const code = err instanceof CliError ? err.exitCode : 1;
    process.stderr.write(`allium ${command.name}: ${errorMessage(err)}${code === 2 ? originOf(errorMessage(err), sourced.origins) : ''}\n`);
    if (code === 2) process.stderr.write(`Run 'allium ${command.name} --help' for usage.\n`);
    return code;
  }
}

/** Config file, then environment, then flags: each later source replaces an option whole. */
function gatherValues(command: Command, flags: Record<string, unknown>, env: Record<string, string | undefined>): SourcedValues {
  const { config: flagConfig, help: _help, ...given } = flags;
  const configVariable = environmentName(command.name, 'config');
  const configFile = (flagConfig as string | undefined) ?? env[configVariable];
  const fromFile = configFile === undefined ? { values: {}, origins: {} } : parseConfigFile(readConfigFile(configFile), configFile, command.options);
  const fromFlags: SourcedValues = { values: given as SourcedValues['values'], origins: {} };
  for (const name of Object.keys(given)) fromFlags.origins[name] = 'command line';
  return layerSources(fromFile, parseEnvironment(command.name, command.options, env), fromFlags);
}

function readConfigFile(file: string): string {
  try {
    return readBoundedFile(file, MAX_CONFIG_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof FileTooLargeError) throw new ConfigError(`config file ${file} is larger than ${MAX_CONFIG_BYTES / 1024} KiB`);
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`);
  }
}

/** " (set at relay.conf line 3)" when the option a usage error names came from a file or variable. */
function originOf(message: string, origins: Record<string, string>): string {
  const named = /--([a-z][a-z0-9-]*)/.exec(message)?.[1];
  const origin = named === undefined ? undefined : origins[named];
  return origin === undefined || origin === 'command line' ? '' : ` (set by ${origin})`;
}

function configurationHelp(command: Command): string {
  const example = Object.keys(command.options).find((name) => command.options[name].type === 'string') ?? 'json';
  return `
Configuration (docs/CONFIG.md):
  --config FILE             read options from FILE: one "option value" per line, e.g.
                            "${example} …"; lines starting with # are comments
                            (or set ${environmentName(command.name, 'config')})
  Every option can also be set in the environment, e.g. ${environmentName(command.name, example)};
  a repeatable option takes a comma-separated list there. Flags win over the environment, which
  wins over the config file, which wins over the defaults.
`;
}

export interface RunningService {
  /** What the --json ready line carries. */
  ready: Record<string, unknown>;
  /** Human-readable lines printed instead of the JSON when --json is absent. */
  describe: string[];
  stop(): Promise<void>;
}

/** A service asked to stop while starting gets this long to give up cleanly before we exit anyway. */
const ABANDON_START_MS = 10_000;

/**
 * Starts a long-running service, announces it once ready, and stops it cleanly on SIGINT/SIGTERM.
 * With --json exactly one JSON line goes to stdout; all logs go to stderr. A signal that arrives
 * while starting aborts `start` through its AbortSignal (a relay no pool lists yet must still stop
 * when systemd says so).
 */
export async function serve(json: boolean, start: (signal: AbortSignal) => Promise<RunningService>): Promise<number> {
  // Signals are caught from the start: one that arrives while starting, or in the instant after
  // the ready line (a supervisor may stop us as soon as it reads it), still stops us cleanly.
  let signalled: NodeJS.Signals | undefined;
  let onStop: ((signal: NodeJS.Signals) => void) | undefined;
  const starting = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      process.stderr.write(`allium: second ${signal}, exiting now\n`);
      process.exit(130);
    }
    signalled = signal;
    if (onStop) return onStop(signal);
    starting.abort(new Error(`stopped by ${signal} before it was ready`));
    setTimeout(() => {
      process.stderr.write(`allium: did not stop within ${ABANDON_START_MS / 1000} s of ${signal}, exiting now\n`);
      process.exit(1);
    }, ABANDON_START_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // SIGHUP asks for a reload (TLS files: node/tls-reload.ts listens for it too). With nothing to
  // reload it must not do Node's default, which is to exit: `systemctl reload` would kill us.
  process.on('SIGHUP', () => {
    if (process.listenerCount('SIGHUP') === 1) process.stderr.write('allium: SIGHUP: nothing to reload\n');
  });
  let service: RunningService;
  try {
    service = await start(starting.signal);
  } catch (err) {
    if (!starting.signal.aborted) throw err;
    process.stderr.write(`allium: ${errorMessage(starting.signal.reason)}\n`);
    return 0;
  }
  return new Promise<number>((resolve) => {
    onStop = () =>
      service.stop().then(
        () => resolve(0),
        (err) => {
          process.stderr.write(`allium: error while stopping: ${errorMessage(err)}\n`);
          resolve(1);
        },
      );
    if (json) process.stdout.write(JSON.stringify(service.ready) + '\n');
    else process.stdout.write(service.describe.join('\n') + '\n');
    if (signalled) onStop(signalled);
  });
}
