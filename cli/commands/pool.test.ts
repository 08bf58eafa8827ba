import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';

const NODE = 'node_modules/.bin/node';
const dataHome = mkdtempSync(join(tmpdir(), 'allium-cli-pool-'));
afterAll(() => rmSync(dataHome, { recursive: true, force: true }));

/** Starts `allium pool` and resolves with its ready line, plus what it printed once it exits. */
async function startCli(args: string[]) {
  const child: ChildProcess = spawn(NODE, ['cli/allium.ts', 'pool', ...args], {
    env: { ...process.env, XDG_DATA_HOME: dataHome },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdoutLines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      stdoutLines.push(line);
      resolve(line);
    });
    void exited.then((code) => reject(new Error(`allium pool exited with ${code}: ${stderr}`)));
  });
  return { child, ready, stdoutLines, exited, stderr: () => stderr };
}

describe('allium pool', () => {
  it('prints one JSON ready line, serves, keeps its key, and exits cleanly on SIGTERM', async () => {
    const first = await startCli(['--json', '--port', '0']);
    const ready = JSON.parse(first.ready) as Record<string, unknown>;
    expect(Object.keys(ready)).toEqual(['pool', 'poolKey']);
    expect(ready.pool).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.poolKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const health = await (await fetch(`${ready.pool}/v1/health`)).json();
    expect(health).toMatchObject({ status: 'ok', poolKey: ready.poolKey });

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.stdoutLines).toEqual([first.ready]);
    expect(first.stderr()).toContain('pool listening');
    expect(statSync(join(dataHome, 'allium', 'pool-key.json')).mode & 0o777).toBe(0o600);

    const second = await startCli(['--json', '--port', '0']);
    expect(JSON.parse(second.ready).poolKey).toBe(ready.poolKey);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('documents every option with its default, and refuses bad ones', () => {
    const help = spawnSync(NODE, ['cli/allium.ts', 'pool', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    for (const option of ['--host', '--port', '--key', '--heartbeat-period', '--deprecation-delay', '--gc-interval', '--max-relays', '--json']) {
      expect(help.stdout).toContain(option);
    }
    expect(help.stdout).toMatch(/--heartbeat-period S .*\(default 10\)/);
    expect(help.stdout).toMatch(/--deprecation-delay S .*\(default 30\)/);
    expect(help.stdout).toMatch(/--gc-interval S .*\(default 60\)/);

    const bad = spawnSync(NODE, ['cli/allium.ts', 'pool', '--heartbeat-period', 'soon'], { encoding: 'utf8', env: { ...process.env, XDG_DATA_HOME: dataHome } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--heartbeat-period must be a positive number of seconds');
  });
});
