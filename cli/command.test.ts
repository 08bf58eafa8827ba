import { describe, expect, it } from 'vitest';
import { defineCommand, runCommand } from './command.ts';

describe('command-line parsing', () => {
  it('takes option values that start with "-" (base64url keys do, one in 64)', async () => {
    let seen: Record<string, unknown> = {};
    const command = defineCommand({
      name: 'probe',
      help: 'probe',
      options: { 'pool-key': { type: 'string', multiple: true }, header: { type: 'string', short: 'H' }, json: { type: 'boolean' } },
      allowPositionals: true,
      async run(values, positionals) {
        seen = { ...values, positionals };
        return 0;
      },
    });
    const code = await runCommand(command, ['--pool-key', '-Xyz', '--pool-key=-abc', '-H', '-h: v', '--json', 'target', '--', '--pool-key']);
    expect(code).toBe(0);
    expect(seen).toEqual({ 'pool-key': ['-Xyz', '-abc'], header: '-h: v', json: true, positionals: ['target', '--pool-key'] });
  });
});
