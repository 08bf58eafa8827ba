// Draws the live status view (cli/status-view.ts) on the terminal, about once a second, on the
// terminal's alternate screen: nothing scrolls, and on exit the terminal is as it was (cursor
// shown, the lines printed before the view still there). While it is shown, log lines that would
// scroll over it are kept for the view instead (its last warnings and errors), and with
// --log-file every line also goes to a file.
import { openSync, writeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { errorMessage } from '../node/log.ts';
import { CliError } from './command.ts';
import { renderStatus, type StatusSnapshot } from './status-view.ts';

export const STATUS_OPTIONS = {
  'no-status': { type: 'boolean' },
  'log-file': { type: 'string' },
} as const;

export const STATUS_HELP = `  --no-status               on a terminal, print log lines instead of the live status view
  --log-file FILE           also append every log line to FILE (the status view itself shows
                            only the latest warnings and errors)`;

const REDRAW_MS = 1_000;
const KEPT_LOG_LINES = 50;
const WARNING = /^[\d:.]+ (WARN|ERROR) |"level":"(warn|error)"/;

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

export type StatusReader = () => Omit<StatusSnapshot, 'at' | 'logs'>;

export class StatusScreen {
  /** Where the command's logger writes (createLogger's sink). */
  readonly sink: NodeJS.WritableStream;
  private readonly enabled: boolean;
  private readonly logFd?: number;
  private readonly recent: string[] = [];
  private showing = false;
  private timer?: ReturnType<typeof setInterval>;
  private previous?: StatusSnapshot;
  private redraw?: () => void;
  private readonly restore = () => this.leave();

  /** The view is shown when stdout is a terminal, unless --json or --no-status. */
  constructor(values: Record<string, unknown>) {
    this.enabled = process.stdout.isTTY === true && values.json !== true && values['no-status'] !== true;
    const file = values['log-file'] as string | undefined;
    if (file !== undefined) {
      try {
        this.logFd = openSync(file, 'a', 0o600);
      } catch (err) {
        throw new CliError(`--log-file: cannot open "${file}": ${errorMessage(err)}`, 2);
      }
    }
    if (!this.enabled && this.logFd === undefined) {
      this.sink = process.stderr;
      return;
    }
    // Logs that go to the terminal stay readable; a file gets the same lines.
    this.sink = Object.assign(new Writable({ write: (chunk, _encoding, done) => done(this.log(String(chunk))) }), { isTTY: process.stderr.isTTY === true });
  }

  /** Starts drawing once the current tick is over (after the command's own start-up lines). */
  show(read: StatusReader): void {
    if (!this.enabled) return;
    setImmediate(() => {
      this.showing = true;
      process.stdout.write(ENTER);
      process.once('exit', this.restore);
      const draw = (this.redraw = () => this.draw(read));
      process.stdout.on('resize', draw);
      this.timer = setInterval(draw, REDRAW_MS);
      draw();
    });
  }

  /** Leaves the view (cursor shown, screen as before): logs go to the terminal again, for the shutdown. */
  leave(): void {
    clearInterval(this.timer);
    if (!this.showing) return;
    this.showing = false;
    process.off('exit', this.restore);
    if (this.redraw) process.stdout.off('resize', this.redraw);
    process.stdout.write(LEAVE);
  }

  private draw(read: StatusReader): void {
    if (!this.showing) return;
    const snapshot = { ...read(), at: Date.now(), logs: this.recent };
    const lines = renderStatus(snapshot, this.previous, { columns: process.stdout.columns || 80, rows: process.stdout.rows || 24 });
    this.previous = snapshot;
    process.stdout.write(HOME + lines.map((line) => line + CLEAR_LINE).join('\n') + CLEAR_BELOW);
  }

  private log(text: string): undefined {
    if (this.logFd !== undefined) writeSync(this.logFd, text);
    for (const line of text.split('\n')) {
      if (!WARNING.test(line)) continue;
      this.recent.push(line);
      if (this.recent.length > KEPT_LOG_LINES) this.recent.shift();
    }
    // On a terminal, lines would scroll over the view; elsewhere (a file, a pipe) they go on as usual.
    if (!(this.showing && process.stderr.isTTY)) process.stderr.write(text);
    return undefined;
  }
}
