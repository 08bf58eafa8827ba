// The repeatable --pool URL / --pool-key KEY pairs every client-side command takes.
import { decodeKey } from '../shared/bytes.ts';
import type { PoolRef } from '../shared/directory.ts';
import { CliError } from './command.ts';

export const POOL_OPTIONS = {
  pool: { type: 'string', multiple: true },
  'pool-key': { type: 'string', multiple: true },
} as const;

export const POOL_HELP = `  --pool URL                pool index to take relays from (repeatable)
  --pool-key KEY            the pool's public key, pinned (one per --pool, same order)`;

/** The pools given on the command line; at least one unless `optional`. */
export function poolRefs(values: Record<string, unknown>, optional = false): PoolRef[] {
  const urls = (values.pool as string[] | undefined) ?? [];
  const keys = (values['pool-key'] as string[] | undefined) ?? [];
  if (urls.length === 0 && !optional) throw new CliError('--pool URL and --pool-key KEY are required (run `allium demo` for a local network)', 2);
  if (urls.length !== keys.length) throw new CliError(`give one --pool-key per --pool (got ${urls.length} pools and ${keys.length} keys)`, 2);
  return urls.map((url, i) => {
    try {
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
    } catch {
      throw new CliError(`--pool "${url}" is not an http:// or https:// URL`, 2);
    }
    try {
      decodeKey(keys[i], 32, 'pool key');
    } catch (err) {
      throw new CliError(`--pool-key for ${url}: ${(err as Error).message}`, 2);
    }
    return { url, key: keys[i] };
  });
}
