// How services answer a supervisor's signals: SIGHUP (systemctl reload) never kills one that has
// nothing to reload, and SIGTERM stops one that is still starting.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startService, tempDir, type PoolReady } from './support/processes.ts';

describe('signals', () => {
  it('SIGHUP without TLS files leaves a pool serving', async () => {
    const pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(tempDir(), 'pool.json')]);
    try {
      pool.process.kill('SIGHUP');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(pool.process.exitCode).toBeNull();
      expect((await fetch(`${pool.ready.pool}/v1/relays`)).status).toBe(200);
      expect(pool.stderr()).toContain('SIGHUP: nothing to reload');
    } finally {
      expect(await pool.stop()).toBe(0);
    }
  });

  it('SIGTERM stops a relay that no pool lists yet, with status 0', async () => {
    const dir = tempDir();
    // A pool that is not there: the relay retries registering and never becomes ready.
    const child = spawn(process.execPath, [join(ROOT, 'cli', 'allium.ts'), 'relay', '--json', '--port', '0', '--key', join(dir, 'relay.json'), '--pool', 'http://127.0.0.1:9', '--pool-key', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(child.exitCode).toBeNull();
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toContain('stopped by SIGTERM before it was ready');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
