// Configuration as an operator meets it: `allium pool` started from a config file, overridden by
// the environment and by flags, and refused with the option and its origin named when invalid.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startService, tempDir, type PoolReady, type Service } from './support/processes.ts';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const portOf = (ready: PoolReady) => Number(new URL(ready.pool).port);

describe('configuration: file, environment and flags', () => {
  const services: Service<unknown>[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });

  async function startPool(args: string[], env: NodeJS.ProcessEnv = {}) {
    const pool = await startService<PoolReady>(['pool', '--json', ...args], 15_000, env);
    services.push(pool);
    return pool;
  }

  it('takes options from the file, the environment over the file, and flags over both', async () => {
    const dir = tempDir();
    const [filePort, envPort, flagPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir, 'pool.conf');
    writeFileSync(config, `# test pool\nhost 127.0.0.1\nport ${filePort}\nkey ${join(dir, 'pool-key.json')}\nheartbeat-period 0.5\n`);

    expect(portOf((await startPool(['--config', config])).ready)).toBe(filePort);
    await Promise.all(services.splice(0).map((s) => s.stop()));
    expect(portOf((await startPool(['--config', config], { ALLIUM_POOL_PORT: String(envPort) })).ready)).toBe(envPort);
    await Promise.all(services.splice(0).map((s) => s.stop()));
    const both = await startPool(['--config', config, '--port', String(flagPort)], { ALLIUM_POOL_PORT: String(envPort) });
    expect(portOf(both.ready)).toBe(flagPort);
    // The key file came from the config file in all three runs: one pool key.
    const again = await startPool(['--port', '0'], { ALLIUM_POOL_CONFIG: config });
    expect(again.ready.poolKey).toBe(both.ready.poolKey);
  });

  it('names the bad option and where it was set', async () => {
    const dir = tempDir();
    const config = join(dir, 'pool.conf');
    writeFileSync(config, 'host 127.0.0.1\nport banana\n');
    const fromFile = await runCli(['pool', '--config', config]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr).toContain(`--port must be a port number (0-65535), got "banana" (set by ${config} line 2)`);

    const fromEnv = await runCli(['pool', '--config', config], undefined, 30_000, { ALLIUM_POOL_PORT: '70000' });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('--port must be a port number (0-65535), got "70000" (set by environment variable ALLIUM_POOL_PORT)');

    writeFileSync(config, 'host 127.0.0.1\nmax-relay 5\n');
    const typo = await runCli(['pool', '--config', config]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`${config} line 2: unknown option "max-relay"`);

    const envTypo = await runCli(['pool', '--port', '0'], undefined, 30_000, { ALLIUM_POOL_MAX_RELAY: '5' });
    expect(envTypo.code).toBe(2);
    expect(envTypo.stderr).toContain('environment variable ALLIUM_POOL_MAX_RELAY names no option of allium pool');

    const missing = await runCli(['pool', '--config', join(dir, 'nope.conf')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`cannot read config file ${join(dir, 'nope.conf')}: ENOENT`);
  });

  it('documents the configuration sources in --help', async () => {
    const help = await runCli(['relay', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain('--config FILE');
    expect(help.stdout.toString()).toContain('ALLIUM_RELAY_POOL');
  });
});
