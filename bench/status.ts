// The progress line on stderr: rewritten in place on a terminal; in a log (not a terminal), one
// line per step, and counters within a step at most once a second.
const started = performance.now();
const tty = process.stderr.isTTY === true;
let lastStep = '';
let lastLineAt = -Infinity;

export function status(text: string): void {
  const now = performance.now();
  const line = `bench [${((now - started) / 1000).toFixed(0).padStart(3)} s] ${text}`;
  if (tty) return void process.stderr.write(`\r\x1b[K${line}`);
  const step = text.split(':')[0];
  if (step === lastStep && now - lastLineAt < 1000) return;
  lastStep = step;
  lastLineAt = now;
  process.stderr.write(`${line}\n`);
}

/** Ends the progress line so that what follows starts on a clean line. */
export function statusDone(): void {
  if (tty) process.stderr.write('\r\x1b[K');
}

export function elapsedSeconds(): number {
  return (performance.now() - started) / 1000;
}
