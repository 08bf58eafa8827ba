// A warning about something a hostile peer can repeat at will (a refused connection, a rate
// limit): logged at once, then at most once per interval with the count since the last line, so
// a flood never turns into a flood of log lines. Never takes addresses: relays and pools do not
// log who their clients are.
import type { LogFields, Logger } from '../node/log.ts';

export function throttledWarning(log: Logger, message: string, intervalMs = 10_000, now: () => number = Date.now): (fields?: LogFields) => void {
  let occurrences = 0;
  let lastLine = -Infinity;
  return (fields) => {
    occurrences++;
    const time = now();
    if (time - lastLine < intervalMs) return;
    log.warn(message, { ...fields, occurrences });
    occurrences = 0;
    lastLine = time;
  };
}
