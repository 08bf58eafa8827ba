// The live status view on a real terminal: `allium relay` run in a pseudo-terminal (util-linux
// `script`), stopped with Ctrl-C typed into it.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './support/relay-circuits.ts';
import { ROOT, startService, tempDir, type PoolReady, type Service } from './support/processes.ts';

const ENTER = '\x1b[?1049h';
const LEAVE = '\x1b[?25h\x1b[?1049l';

let dir: string;
let pool: Service<PoolReady>;

beforeAll(async () => {
  dir = tempDir();
  pool = await startService<PoolReady>(['pool', '--json', '--port', '0', '--key', join(dir, 'pool.json'), '--heartbeat-period', '0.3', '--deprecation-delay', '1', '--gc-interval', '0.5']);
});

afterAll(async () => {
  await pool?.stop();
});

describe('status view on a terminal', () => {
  it('redraws in place, keeps warnings inside the view, and leaves the terminal clean on Ctrl-C', async () => {
    const logFile = join(dir, 'relay.log');
    const relay = ['node', join(ROOT, 'cli', 'allium.ts'), 'relay', '--port', '0', '--key', join(dir, 'relay.json'), '--pool', pool.ready.pool, '--pool-key', pool.ready.poolKey, '--log-file', logFile];
    const child = spawn('script', ['-qfec', `stty cols 100 rows 30; exec ${relay.join(' ')}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      await eventually(() => screen.includes('listed by pools 1 of 1'), 15_000, 'the view shows the relay listed');
      const view = screen.slice(screen.indexOf(ENTER));
      expect(view).toContain('Allium relay');
      expect(view).toMatch(/up 00:00:0\d/);
      // Stopping the pool makes the relay warn; the warnings show in the view, not as a scroll.
      await pool.stop();
      await eventually(() => screen.slice(screen.lastIndexOf('\x1b[H')).includes('Recent warnings and errors'), 10_000, 'warnings in the view');
      const frames = screen.slice(screen.indexOf(ENTER)).split('\x1b[H').slice(1);
      expect(frames.length).toBeGreaterThanOrEqual(2);
      const last = frames.at(-1)!;
      expect(last).toMatch(/WARN  \[relay\/pools\] heartbeat to pool failed/);
      // Between frames, nothing but the frames: no log line written over the view.
      for (const frame of frames) {
        expect(frame.startsWith('\x1b[1mAllium relay')).toBe(true);
        expect(frame.endsWith('\x1b[J')).toBe(true);
      }
      expect(readFileSync(logFile, 'utf8')).toMatch(/WARN  \[relay\/pools\] heartbeat to pool failed/);

      child.stdin.write('\x03');
      expect(await exited).toBe(0);
      // The view is left (cursor shown, normal screen back) before the shutdown logs.
      const after = screen.slice(screen.lastIndexOf(LEAVE) + LEAVE.length);
      expect(screen.lastIndexOf(LEAVE)).toBeGreaterThan(screen.lastIndexOf('\x1b[H'));
      expect(after).toContain('could not unregister from pool');
    } finally {
      child.kill('SIGKILL');
    }
  }, 40_000);
});
