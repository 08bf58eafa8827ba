// The `allium` command as npm installs it: a link to lib/cli/allium.js, made executable, run by
// the kernel through its #! line, which carries the Node flags relays are measured with.
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN_NODE_FLAGS, ROOT, tempDir } from './support/processes.ts';

describe('the installed allium command', () => {
  it('runs through its #! line, with the Node flags the tests and the benchmark give it', async () => {
    expect(BIN_NODE_FLAGS).toContain('--max-semi-space-size=1');
    const compiled = join(ROOT, 'lib', 'cli', 'allium.js');
    expect(readFileSync(compiled, 'utf8').split('\n', 1)[0]).toBe(readFileSync(join(ROOT, 'cli', 'allium.ts'), 'utf8').split('\n', 1)[0]);
    chmodSync(compiled, 0o755); // as npm does to a package's bins when it installs them
    const bin = join(tempDir(), 'allium');
    symlinkSync(compiled, bin);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    // The Node 24 of the devDependencies first on PATH, as `npx allium` has it.
    const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}` };
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(bin, ['--version'], { env, timeout: 20_000 }, (err, out, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(out))),
    );
    expect(stdout.trim()).toContain(version);
  });
});
