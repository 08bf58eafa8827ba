// Builds the extension (`npm run build`): extension/ → dist/chrome (service worker) and
// dist/firefox (event page). One bundle serves both; only the manifest differs, derived here
// from the Chrome manifest at the repository root.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

const ROOT = import.meta.dirname;
const SOURCE = join(ROOT, 'extension');
export const CHROME_DIR = join(ROOT, 'dist', 'chrome');
export const FIREFOX_DIR = join(ROOT, 'dist', 'firefox');
/** A fixed add-on id keeps storage and the moz-extension host stable across reinstalls. */
const GECKO_ID = 'allium@allium.invalid';

type Manifest = Record<string, unknown> & { permissions: string[] };

/** Chrome-only permissions: Firefox routes tabs with containers and proxy.onRequest instead (docs/FIREFOX.md). */
const CHROME_ROUTING = ['debugger', 'declarativeNetRequest', 'webNavigation'];
const FIREFOX_ROUTING = ['proxy', 'contextualIdentities', 'cookies'];

/**
 * Firefox runs an event page, routes anonymous tabs through the local `allium proxy` by container
 * (`cookies` lets tabs be opened in one), and upgrades ws:// and http:// to loopback under its
 * default extension CSP (the control endpoint is plain http on 127.0.0.1).
 */
export function firefoxManifest(chrome: Manifest): Manifest {
  const { minimum_chrome_version: _, background: __, ...common } = chrome;
  return {
    ...common,
    background: { scripts: ['background.js'], type: 'module' },
    permissions: [...chrome.permissions.filter((p) => !CHROME_ROUTING.includes(p)), ...FIREFOX_ROUTING],
    content_security_policy: { extension_pages: "script-src 'self'" },
    browser_specific_settings: {
      gecko: {
        id: GECKO_ID,
        // The first to know data_collection_permissions (Firefox for Android: 142).
        strict_min_version: '142.0',
        // It sends nothing anywhere but to the local proxy and the pages the user opens.
        data_collection_permissions: { required: ['none'] },
      },
    },
  };
}

function extensionManifests(): Plugin {
  return {
    name: 'allium-extension-manifests',
    closeBundle() {
      const chrome = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')) as Manifest;
      writeFileSync(join(CHROME_DIR, 'manifest.json'), JSON.stringify(chrome, null, 2) + '\n');
      rmSync(FIREFOX_DIR, { recursive: true, force: true });
      mkdirSync(FIREFOX_DIR, { recursive: true });
      cpSync(CHROME_DIR, FIREFOX_DIR, { recursive: true });
      writeFileSync(join(FIREFOX_DIR, 'manifest.json'), JSON.stringify(firefoxManifest(chrome), null, 2) + '\n');
    },
  };
}

export default defineConfig({
  root: SOURCE,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  plugins: [extensionManifests()],
  build: {
    outDir: CHROME_DIR,
    emptyOutDir: true,
    // Extension pages and the worker run in current browsers only; readable output helps review.
    target: 'es2023',
    minify: false,
    modulePreload: false,
    rollupOptions: {
      input: {
        background: resolve(SOURCE, 'background.ts'),
        popup: resolve(SOURCE, 'popup.html'),
        options: resolve(SOURCE, 'options.html'),
      },
      output: {
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name].js',
        assetFileNames: 'assets/[name][extname]',
      },
    },
  },
});
