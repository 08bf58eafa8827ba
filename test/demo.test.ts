// `npm start` as a user meets it: `allium demo` brings a network and the site up, `allium fetch`
// and `allium login` work through it, and Ctrl-C stops everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SECRET } from '../site/server.ts';
import { runCli, startService, tempDir, type DemoReady, type Service } from './support/processes.ts';

describe('allium demo', () => {
  let demo: Service<DemoReady>;
  let startedIn: number;
  const home = tempDir('allium-demo-home-');

  beforeAll(async () => {
    const started = Date.now();
    demo = await startService<DemoReady>(['demo', '--json', '--base-port', '0'], 10_000, { XDG_DATA_HOME: home });
    startedIn = Date.now() - started;
  }, 20_000);

  afterAll(async () => {
    if (demo && demo.process.exitCode === null) await demo.stop();
  });

  it('is ready within 10 s with a pool, five relays on their own outbound addresses, the site and a user', () => {
    expect(startedIn).toBeLessThan(10_000);
    const { ready } = demo;
    expect(ready.pool).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.poolKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(ready.relays).toHaveLength(5);
    expect(new Set(ready.relays.map((r) => r.outbound))).toEqual(new Set(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']));
    expect(ready.site).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.user.name).toBe('demo');
    expect(ready.user.password.length).toBeGreaterThanOrEqual(12);
  });

  it('serves the site through a circuit, and the site knows it came through an exit', async () => {
    const result = await runCli(['fetch', '--pool', demo.ready.pool, '--pool-key', demo.ready.poolKey, demo.ready.site + '/']);
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).toMatch(/You are using Allium: this request came from <code>127\.0\.0\.[2-6]<\/code>/);
  });

  it('`allium login` with the demo account prints the secret; the site logs the login as arriving through Allium', async () => {
    const { pool, poolKey, site, user } = demo.ready;
    const result = await runCli(['login', '--pool', pool, '--pool-key', poolKey, '--site', site, '--user', user.name], user.password + '\n');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.toString().trim()).toBe(DEFAULT_SECRET);
    const logins = demo
      .stderr()
      .split('\n')
      .filter((line) => line.includes('"login succeeded"'))
      .map((line) => JSON.parse(line) as { peer: string; user: string; arrival: string });
    expect(logins).toHaveLength(1);
    // "allium": the peer was a relay's outbound address; which one, and the user, are not logged
    // without --log-sensitive (docs/LIMITS.md).
    expect(logins[0].arrival).toBe('allium');
    expect(logins[0].peer).toBe('[scrubbed]');
    expect(logins[0].user).toBe('[scrubbed]');
  });

  it('refuses a wrong password through the circuit', async () => {
    const { pool, poolKey, site, user } = demo.ready;
    const result = await runCli(['login', '--pool', pool, '--pool-key', poolKey, '--site', site, '--user', user.name], 'not-the-password\n');
    expect(result.code).toBe(1);
    expect(result.stdout.toString()).toBe('');
    expect(result.stderr).toMatch(/allium login: .*(refused|REJECTED|rejected)/i);
  });

  it('stops cleanly on Ctrl-C (SIGINT)', async () => {
    const started = Date.now();
    const code = await demo.stop('SIGINT');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
