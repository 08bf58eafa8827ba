// The benchmark's own child processes (sink, bare WebSocket chain, CREATE load), started like the
// `allium` services of test/support/processes.ts (one JSON ready line on stdout), plus what a
// benchmark needs on top: every child, whoever started it, is stopped on any exit, Ctrl-C or
// crash.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';

/** Our live child processes, from /proc: includes those test/support/processes.ts started. */
function childPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid) pids.push(Number(entry));
    } catch {
      // The process ended while we were listing.
    }
  }
  return pids;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * Stops our children: first the `first` group (relays, which unregister from the pool and write
 * their CPU profiles on a clean exit), then every other child. SIGTERM, then SIGKILL for any
 * still alive after the grace period.
 */
export async function stopChildren(first: number[] = [], graceMs = 5000): Promise<void> {
  for (const group of [first, undefined]) {
    const pids = group ?? childPids();
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = performance.now() + graceMs;
    while (pids.some(alive) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const pid of pids) if (alive(pid)) signal(pid, 'SIGKILL');
  }
}

/** A child counts as gone once Node has reaped it (no /proc entry) or it is a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Last resort on any exit path: nothing may outlive the benchmark. */
process.once('exit', () => {
  for (const pid of childPids()) signal(pid, 'SIGKILL');
});

export interface Script<Ready> {
  ready: Ready;
  process: ChildProcess;
  /** Sends one JSON command on stdin and resolves with the next JSON line on stdout. */
  request<Reply>(command: unknown): Promise<Reply>;
}

/** Runs bench/<name>.ts (same Node binary, with `nodeFlags` before it) and waits for its JSON ready line. */
export async function startScript<Ready>(name: string, args: string[] = [], nodeFlags: string[] = [], timeoutMs = 15_000): Promise<Script<Ready>> {
  const child = spawn(process.execPath, [...nodeFlags, join(import.meta.dirname, `${name}.ts`), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const lines: Interface = createInterface({ input: child.stdout! });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench/${name}.ts exited with ${code}\n${stderr}`));
      child.once('exit', onExit);
      lines.once('line', (line) => {
        child.off('exit', onExit);
        resolve(line);
      });
    });
  const parse = <T>(line: string): T => {
    try {
      return JSON.parse(line) as T;
    } catch {
      throw new Error(`bench/${name}.ts printed a line that is not JSON: ${line}`);
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bench/${name}.ts not ready within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
  });
  const first = nextLine();
  first.catch(() => {}); // once the timeout has won, the exit it causes is no news
  try {
    const ready = parse<Ready>(await Promise.race([first, timeout]));
    return {
      ready,
      process: child,
      async request<Reply>(command: unknown) {
        const reply = nextLine();
        child.stdin!.write(JSON.stringify(command) + '\n');
        return parse<Reply>(await reply);
      },
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads one JSON command per stdin line and answers each with one JSON line (child side). */
export function serveCommands(handle: (command: any) => Promise<unknown>): void {
  createInterface({ input: process.stdin }).on('line', (line) => {
    handle(JSON.parse(line)).then(
      (reply) => process.stdout.write(JSON.stringify(reply) + '\n'),
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  });
  // The parent is gone (or closed our stdin): nothing left to serve.
  process.stdin.on('end', () => process.exit(0));
}
