// Structured logs on stderr: one JSON object per line when stderr is not a terminal (for
// collectors), a short readable line when it is. stdout stays free for --json ready lines.
//
// Logs never record users unless the operator asks (--log-sensitive, ALLIUM_LOG_SENSITIVE=1):
// client addresses, destinations, URLs, user names and payload are written as "[scrubbed]". Three
// rules make that structural rather than a matter of each call's care:
// - a value wrapped in sensitive() is scrubbed wherever it sits in the fields;
// - a field whose name says it holds user data (SENSITIVE_FIELDS: peer, host, port, target…) is
//   scrubbed whatever its value, so a new call site cannot forget the wrapper;
// - free-text fields that carry error messages (FREE_TEXT_FIELDS: error, detail, reason) have
//   every URL, IP address, host:port and domain name in them replaced, since errors from sockets
//   and the exit embed the destination ("cannot connect to 10.1.2.3:8080: ECONNREFUSED").
// Messages themselves are constant strings: what varies goes in fields.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export const SCRUBBED = '[scrubbed]';

/** A logged value that would identify a user or what they do: scrubbed unless the operator asked. */
export class Sensitive {
  readonly value: unknown;
  constructor(value: unknown) {
    this.value = value;
  }
  // Wherever one escapes into a string or JSON without the logger, it stays scrubbed.
  toString(): string {
    return SCRUBBED;
  }
  toJSON(): string {
    return SCRUBBED;
  }
}

export function sensitive(value: unknown): Sensitive {
  return new Sensitive(value);
}

/** Field names that only ever hold user data: client addresses, destinations, requests, accounts. */
export const SENSITIVE_FIELDS: ReadonlySet<string> = new Set(['peer', 'client', 'clientAddress', 'source', 'host', 'port', 'target', 'destination', 'path', 'query', 'user', 'username', 'payload', 'body']);
/** Fields that carry error text, which often embeds a destination. */
const FREE_TEXT_FIELDS: ReadonlySet<string> = new Set(['error', 'detail', 'reason']);

const ADDRESS_PATTERNS = [
  // URLs, whole.
  /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi,
  // Bracketed IPv6, with a port or not.
  /\[[0-9a-f:.]*:[0-9a-f:.]*\](?::\d+)?/gi,
  // IPv4, with a port or not (also inside ::ffff:a.b.c.d).
  /(?:::ffff:)?\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b/gi,
  // Bare IPv6: hex groups joined by at least two colons.
  /(?:\b[0-9a-f]{1,4})?(?::[0-9a-f]{0,4}){2,7}(?:\b|(?<=:))/gi,
  // Domain names and single-label hosts followed by a port.
  /\b(?:[a-z0-9-]+\.)+[a-z][a-z0-9-]*\.?(?::\d+)?\b/gi,
  /\b[a-z0-9-]+:\d{1,5}\b/gi,
];

/** `text` with every URL, IP address, domain name and host:port replaced by [scrubbed]. */
export function scrubAddresses(text: string): string {
  let out = text;
  for (const pattern of ADDRESS_PATTERNS) out = out.replace(pattern, SCRUBBED);
  return out;
}

function scrubValue(value: unknown, depth: number): unknown {
  if (value instanceof Sensitive) return SCRUBBED;
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  return scrubFields(value as LogFields, depth + 1);
}

/** The fields as they may be logged without --log-sensitive. */
export function scrubFields(fields: LogFields, depth = 0): LogFields {
  const out: LogFields = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (SENSITIVE_FIELDS.has(name)) out[name] = SCRUBBED;
    else if (FREE_TEXT_FIELDS.has(name) && typeof value === 'string') out[name] = scrubAddresses(value);
    else out[name] = scrubValue(value, depth);
  }
  return out;
}

function revealValue(value: unknown, depth: number): unknown {
  if (value instanceof Sensitive) return value.value;
  if (value === null || typeof value !== 'object' || depth > 4) return value;
  if (Array.isArray(value)) return value.map((item) => revealValue(item, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, revealValue(item, depth + 1)]));
}

/** Whether ALLIUM_LOG_SENSITIVE asks for user data in logs. */
function sensitiveFromEnvironment(): boolean {
  return /^(1|true|yes|on)$/i.test(process.env.ALLIUM_LOG_SENSITIVE ?? '');
}

export interface LoggerOptions {
  /** Log client addresses, destinations and payload as they are (default: ALLIUM_LOG_SENSITIVE). */
  sensitive?: boolean;
}

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

export function createLogger(component: string, sink: NodeJS.WritableStream = process.stderr, options: LoggerOptions = {}): Logger {
  const min = threshold();
  const pretty = (sink as { isTTY?: boolean }).isTTY === true && process.env.ALLIUM_LOG_FORMAT !== 'json';
  const showSensitive = options.sensitive ?? sensitiveFromEnvironment();
  const write = (level: LogLevel, message: string, given?: LogFields) => {
    if (LEVELS[level] < min) return;
    const fields = given === undefined ? undefined : showSensitive ? (revealValue(given, 0) as LogFields) : scrubFields(given);
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
    child: (name) => createLogger(`${component}/${name}`, sink, { sensitive: showSensitive }),
  };
}

/** The message of anything thrown, for logs and CLI errors. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
