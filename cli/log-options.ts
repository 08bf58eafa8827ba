// --log-sensitive, shared by every long-running command: by default logs never hold client
// addresses, destinations, URLs or user names (node/log.ts); this flag is for debugging only.
import { createLogger, type Logger } from '../node/log.ts';

export const LOG_OPTIONS = { 'log-sensitive': { type: 'boolean' } } as const;

/** The option's --help lines, descriptions starting at `column` (28 in most commands). */
export function logHelp(column = 28): string {
  const pad = ' '.repeat(column);
  return `${'  --log-sensitive'.padEnd(column)}write client addresses, destinations, URLs and user names in logs
${pad}(default: "[scrubbed]"; also ALLIUM_LOG_SENSITIVE=1); debugging only`;
}

/**
 * The command's logger, showing sensitive fields only when --log-sensitive (or the environment) says
 * so; `sink` is stderr, or the status screen's (cli/status-screen.ts).
 */
export function commandLogger(component: string, values: Record<string, unknown>, sink: NodeJS.WritableStream = process.stderr): Logger {
  return createLogger(component, sink, { sensitive: values['log-sensitive'] === true ? true : undefined });
}
