// The live status view of `allium relay`, `allium proxy` and `allium demo`: a pure function from
// a snapshot of the service (and the one before it, for rates) to the lines of one screen.
// cli/status-screen.ts draws it on the terminal once a second.

export interface StatusSnapshot {
  /** When the snapshot was taken (ms since the epoch). */
  at: number;
  startedAt: number;
  /** What runs, e.g. "Allium relay 0c696a0f". */
  title: string;
  /** Where it serves and how to use it: URLs, ports, keys, commands. */
  about: string[];
  /** Current figures, e.g. ["relays listed", 5], ["circuits", 12]. */
  figures: [string, number | string][];
  bytes: { received: number; sent: number };
  /** Counts by kind, e.g. circuit errors by reason code; kinds at zero are not shown. */
  problems: { label: string; byKind: Readonly<Record<string, number>> }[];
  /** The latest warning and error log lines, oldest first. */
  logs: string[];
}

export interface ScreenSize {
  columns: number;
  rows: number;
}

const BOLD = '\x1b[1m';
const PLAIN = '\x1b[0m';
/** Kinds shown after a problem's total; the rest are summed up as "…". */
const MAX_KINDS = 4;

export function renderStatus(now: StatusSnapshot, previous: StatusSnapshot | undefined, size: ScreenSize): string[] {
  const width = Math.max(20, size.columns);
  const fit = (line: string) => (line.length > width ? line.slice(0, width - 1) + '…' : line.trimEnd());
  const uptime = `up ${formatDuration(now.at - now.startedAt)}`;
  const gap = Math.max(1, width - now.title.length - uptime.length);
  const head = [`${BOLD}${fit(now.title + ' '.repeat(gap) + uptime)}${PLAIN}`, '─'.repeat(width)];

  const body: string[] = [...now.about.flatMap((line) => wrap(line, width)), ''];
  const label = (text: string) => text.padEnd(16);
  for (let i = 0; i < now.figures.length; i += 2) {
    const pair = now.figures.slice(i, i + 2).map(([name, value]) => label(name) + String(value).padEnd(12));
    body.push(fit(pair.join('  ').trimEnd()));
  }
  const seconds = previous ? (now.at - previous.at) / 1000 : 0;
  const rate = (key: 'received' | 'sent') => (previous && seconds > 0 ? `  ${formatBytes(Math.max(0, now.bytes[key] - previous.bytes[key]) / seconds)}/s` : '');
  body.push(fit(label('received') + formatBytes(now.bytes.received).padEnd(12) + rate('received')));
  body.push(fit(label('sent') + formatBytes(now.bytes.sent).padEnd(12) + rate('sent')));
  for (const problem of now.problems) {
    const kinds = Object.entries(problem.byKind).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
    const total = kinds.reduce((sum, [, count]) => sum + count, 0);
    const shown = kinds.slice(0, MAX_KINDS).map(([kind, count]) => `${kind} ${count}`);
    if (kinds.length > MAX_KINDS) shown.push('…');
    body.push(fit(label(problem.label) + String(total).padEnd(12) + shown.join(' · ')));
  }

  const foot = ['', 'Ctrl-C to stop'];
  const logTitle = ['', 'Recent warnings and errors'];
  // The log lines take whatever room is left, newest kept; the rest is cut to the screen.
  const room = size.rows - head.length - body.length - foot.length - logTitle.length;
  const logs = room > 0 ? now.logs.slice(-room).map(fit) : [];
  const lines = [...head, ...body, ...(logs.length > 0 ? [...logTitle, ...logs] : []), ...foot];
  return lines.slice(0, Math.max(1, size.rows));
}

/**
 * Wraps at spaces. An indented line is a command to copy: its continuations end in " \\" and are
 * indented further, so the wrapped text still pastes into a shell as one command. A word longer
 * than the width is split where it must be.
 */
function wrap(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const indent = /^ */.exec(line)![0];
  const command = indent.length > 0;
  const continuation = command ? indent + '    ' : '';
  const room = width - (command ? 2 : 0);
  const out: string[] = [];
  let current = indent;
  for (const word of line.trim().split(/ +/)) {
    const empty = current.trim() === '';
    if (empty || current.length + 1 + word.length <= room) current = empty ? current + word : `${current} ${word}`;
    else {
      out.push(command ? `${current} \\` : current);
      current = continuation + word;
    }
  }
  out.push(current);
  return out.flatMap((part) => {
    const pieces: string[] = [];
    for (let at = 0; at < part.length; at += width) pieces.push(part.slice(at, at + width));
    return pieces;
  });
}

/** 1 234 567 bytes → "1.2 MB" (powers of 1000, as network rates are given). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 93 784 000 ms → "1d 02:03:04". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(total / 86_400);
  const clock = [Math.floor(total / 3600) % 24, Math.floor(total / 60) % 60, total % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return days > 0 ? `${days}d ${clock}` : clock;
}
