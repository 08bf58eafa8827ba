// Structured logs on stderr: one JSON object per line when stderr is not a terminal (for
// collectors), a short readable line when it is. stdout stays free for --json ready lines.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const wanted = (process.env.ALLIUM_LOG ?? 'info').toLowerCase() as LogLevel;
  return LEVELS[wanted] ?? LEVELS.info;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

export function createLogger(component: string, sink: NodeJS.WritableStream = process.stderr): Logger {
  const min = threshold();
  const pretty = (sink as { isTTY?: boolean }).isTTY === true && process.env.ALLIUM_LOG_FORMAT !== 'json';
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    const time = new Date().toISOString();
    if (pretty) {
      const extra = fields && Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : '';
      sink.write(`${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} [${component}] ${message}${extra}\n`);
    } else {
      sink.write(JSON.stringify({ time, level, component, message, ...fields }) + '\n');
    }
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (name) => createLogger(`${component}/${name}`, sink),
  };
}

/** The message of anything thrown, for logs and CLI errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
