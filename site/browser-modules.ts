// Serves the login script and the shared modules it imports to the browser as JavaScript: the
// browser runs the very SCRAM client the Node side runs, without a build step. Node strips the
// (erasable-only) TypeScript types; the set of files is fixed at startup by following imports.
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { SOURCE_ROOT } from './source-root.ts';

const ROOT = SOURCE_ROOT;
// Static imports and re-exports of relative .ts modules, as this project writes them.
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"]*?['"](\.{1,2}\/[^'"]+\.ts)['"]/g;

function strip(source: string): string {
  // Node 24 still flags stripTypeScriptTypes experimental and says so once on stderr; the site
  // only calls it at startup on its own files, so that line would merely break the JSON log.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return stripTypeScriptTypes(source);
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Returns JavaScript for `entry` (a path relative to the repository root) and everything it
 * imports, keyed by repository-relative path: the URL path under /js/ that keeps relative
 * imports resolving in the browser.
 */
export function browserModules(entry: string): Map<string, string> {
  const modules = new Map<string, string>();
  const visit = (path: string) => {
    if (modules.has(path)) return;
    const absolute = resolve(ROOT, path);
    if (!absolute.startsWith(ROOT + sep)) throw new Error(`browser module outside the project: ${path}`);
    const code = strip(readFileSync(absolute, 'utf8'));
    modules.set(path, code);
    for (const [, specifier] of code.matchAll(IMPORT)) {
      visit(relative(ROOT, resolve(dirname(absolute), specifier)).split(sep).join('/'));
    }
  };
  visit(entry);
  return modules;
}
