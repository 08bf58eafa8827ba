// The slot for the extension's figures (page load in an anonymous tab vs a normal tab, circuit
// build inside the extension). They need the built extension in a browser; until that exists
// (`npm run build` writes dist/chrome/), the report says so and carries no number.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../test/support/processes.ts';

export function extensionFigures() {
  const built = existsSync(join(ROOT, 'dist', 'chrome', 'manifest.json'));
  return {
    status: built ? 'n/a (extension built, browser measurement not written yet)' : 'n/a (extension not built)',
    anonymousTabPageLoadMs: null,
    normalTabPageLoadMs: null,
    circuitBuildMs: null,
  };
}
