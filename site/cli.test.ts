import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { scramLogin } from '../shared/scram-client.ts';
import { TEST_ITERATIONS, scramCrypto } from './test-support.ts';

const CLI = join(import.meta.dirname, '..', 'cli', 'allium.ts');
const dir = mkdtempSync(join(tmpdir(), 'allium-site-cli-'));
const db = join(dir, 'users', 'site.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function addUser(name: string, input: string) {
  return spawnSync(process.execPath, [CLI, 'site', 'add-user', name, '--db', db, '--iterations', String(TEST_ITERATIONS)], { input, encoding: 'utf8' });
}

describe('allium site (CLI)', () => {
  it('add-user reads the password from stdin and creates the database', () => {
    const added = addUser('carol', 'a password with spaces\n');
    expect(added.stderr).toContain('Added user carol');
    expect(added.status).toBe(0);
    expect(added.stdout).toBe('');
    expect(statSync(db).mode & 0o777).toBe(0o600);
    const updated = addUser('carol', 'the new password\r\n');
    expect(updated.status).toBe(0);
    expect(updated.stderr).toContain('Updated the password of user carol');
    expect(addUser('dave', '').status).toBe(1);
    expect(spawnSync(process.execPath, [CLI, 'site', 'add-user', 'x', '--db', db, '--port', '1'], { input: 'pw' }).status).toBe(2);
  });

  it('--json prints exactly one ready line, serves logins, and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'site', '--json', '--port', '0', '--db', db, '--iterations', String(TEST_ITERATIONS), '--secret', 'cli secret'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const stdout: string[] = [];
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<string>((resolve) => lines.once('line', resolve));
    lines.on('line', (line) => stdout.push(line));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const { site } = JSON.parse(await ready) as { site: string };
      expect(site).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const result = await scramLogin({ fetch, siteUrl: site, user: 'carol', password: 'the new password', crypto: scramCrypto });
      expect(result.secret).toBe('cli secret');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stdout).toHaveLength(1);
    // Logs went to stderr, as JSON lines, including the login, its user and peer address scrubbed.
    const logs = stderr.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs).toContainEqual(expect.objectContaining({ message: 'login succeeded', user: '[scrubbed]', peer: '[scrubbed]' }));
  });
});
