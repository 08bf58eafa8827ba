// The directory holding the site's TypeScript sources and static files. From the sources it is
// the project root; from the compiled library (lib/site/…) it is the same root one level further
// up, since the browser code is served from the .ts sources, not from compiled output.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findSourceRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'site', 'static', 'login.ts'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the site's sources above ${from}`);
  }
}

export const SOURCE_ROOT = findSourceRoot(import.meta.dirname);
