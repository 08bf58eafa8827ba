// Runs `allium` commands as real child processes (as operators and users run them) and waits
// for their --json ready line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = join(import.meta.dirname, '..', '..');
/**
 * The `allium` command from the TypeScript sources, as the tests run it (always the current
 * tree), or compiled by `npm run prepare`, as the package's bin runs it when deployed (about
 * 35 MiB less memory: no type stripping; lib/ must be built from the current sources first).
 */
const ENTRY_POINTS = { sources: join(ROOT, 'cli', 'allium.ts'), compiled: join(ROOT, 'lib', 'cli', 'allium.js') } as const;
export type EntryPoint = keyof typeof ENTRY_POINTS;

/** The Node flags of the bin's `#!/usr/bin/env -S node …` line, which every installed `allium` runs with. */
export const BIN_NODE_FLAGS = ((): string[] => {
  const shebang = readFileSync(ENTRY_POINTS.sources, 'utf8').split('\n', 1)[0];
  const match = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)$/.exec(shebang);
  if (!match) throw new Error(`cli/allium.ts does not start with a "#!/usr/bin/env -S node [--flag…]" line: ${shebang}`);
  return match[1].split(' ').filter(Boolean);
})();

/** Node's arguments to run `allium ARGS` as the installed command runs. */
const alliumArgv = (entry: EntryPoint, args: string[]) => [...BIN_NODE_FLAGS, ENTRY_POINTS[entry], ...args];

export interface Service<Ready> {
  ready: Ready;
  process: ChildProcess;
  stderr: () => string;
  /** Sends a signal and resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function tempDir(prefix = 'allium-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function startService<Ready>(args: string[], timeoutMs = 15_000, env: NodeJS.ProcessEnv = {}, entry: EntryPoint = 'sources'): Promise<Service<Ready>> {
  const child = spawn(process.execPath, alliumArgv(entry, args), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`allium ${args[0]} not ready within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    const earlyExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`allium ${args[0]} exited with ${code} before it was ready\n${stderr}`));
    };
    child.once('exit', earlyExit);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', earlyExit);
      let ready: Ready;
      try {
        ready = JSON.parse(line) as Ready;
      } catch {
        return reject(new Error(`allium ${args[0]} printed a ready line that is not JSON: ${line}`));
      }
      resolve({
        ready,
        process: child,
        stderr: () => stderr,
        stop(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/** Runs a command to completion. */
export function runCli(
  args: string[],
  input?: string,
  timeoutMs = 30_000,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const child = spawn(process.execPath, alliumArgv('sources', args), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`allium ${args[0]} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
  });
}

/** Resident memory of a process in bytes (Linux). */
export async function residentBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

export interface PoolReady {
  pool: string;
  poolKey: string;
}
/** The ready line of `allium demo --json` (DESIGN.md, "Fixed interfaces"). */
export interface DemoReady {
  pool: string;
  poolKey: string;
  relays: { id: string; url: string; outbound: string }[];
  site: string;
  user: { name: string; password: string };
}
export interface RelayReady {
  id: string;
  url: string;
  /** The metrics endpoint, when started with --metrics-port. */
  metrics?: string;
}

/** The metrics endpoint of every relay startRelayProcess started, by relay URL. */
const relayMetricsUrls = new Map<string, string>();

export function relayMetricsUrl(relayUrl: string): string {
  const url = relayMetricsUrls.get(relayUrl);
  if (url === undefined) throw new Error(`no metrics endpoint known for relay ${relayUrl}`);
  return url;
}

/** A pool and N relays, each its own process, with timings short enough for tests. */
export async function startTestNetwork(options: { relays: number; allowPrivate?: boolean; relayArgs?: string[] }) {
  const dir = tempDir();
  const pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(dir, 'pool.json'), '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5']);
  const relays = await Promise.all(
    Array.from({ length: options.relays }, (_, i) => startRelayProcess(pool.ready, dir, i, options.allowPrivate ?? true, options.relayArgs ?? [])),
  );
  return {
    dir,
    pool,
    relays,
    poolArgs: ['--pool', pool.ready.pool, '--pool-key', pool.ready.poolKey],
    poolRef: { url: pool.ready.pool, key: pool.ready.poolKey },
    async stop() {
      await Promise.all(relays.map((r) => r.stop()));
      await pool.stop();
    },
  };
}

export async function startRelayProcess(pool: PoolReady, dir: string, index: number, allowPrivate: boolean, extra: string[] = [], entry: EntryPoint = 'sources') {
  const outbound = `127.0.0.${index + 2}`;
  const args = ['relay', '--json', '--port', '0', '--pool', pool.pool, '--pool-key', pool.poolKey, '--key', join(dir, `relay-${index}.json`), '--outbound', outbound, '--metrics-port', '0', ...extra];
  if (allowPrivate) args.push('--allow-private');
  const service = await startService<RelayReady>(args, undefined, undefined, entry);
  relayMetricsUrls.set(service.ready.url, service.ready.metrics!);
  return Object.assign(service, { outbound });
}
