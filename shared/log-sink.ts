// The logging shape shared code writes to; node/log.ts and the extension both provide one.
export interface LogSink {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const silentLog: LogSink = { debug() {}, info() {}, warn() {}, error() {} };
