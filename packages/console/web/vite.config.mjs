// Vite build of the console's browser app (packages/console/web -> packages/console/dist-web).
//
// The verifiers (@veritee/zk, @veritee/attestation) are shared with Node. A few of
// their modules import Node built-ins; the browser gets the implementations in
// ../src/shims (tested against Node's answers in crypto-shim.test.ts), and the
// Node-only parts of the packages (services, the prover pool, file loaders) are
// never imported: `@veritee/attestation` resolves to web/src/attestation-entry.ts,
// which re-exports the verification modules alone. The build fails if any Node
// built-in is left (see nodeBuiltinGuard).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(here, '..');
const packages = join(pkg, '..');
const shim = (f) => join(pkg, 'src', 'shims', f);
const unavailable = shim('node-unavailable.ts');

const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Fails the build when a Node built-in reaches the browser bundle. */
function nodeBuiltinGuard() {
  return {
    name: 'veritee-node-builtin-guard',
    enforce: 'pre',
    resolveId(id, importer) {
      if (builtins.has(id)) this.error(`Node built-in "${id}" imported by ${importer ?? '?'} reached the browser build: add a shim in vite.config.mjs`);
      return null;
    },
  };
}

export default defineConfig({
  root: here,
  base: '/',
  logLevel: 'warn',
  publicDir: false,
  resolve: {
    alias: [
      { find: /^@veritee\/attestation$/, replacement: join(here, 'src', 'attestation-entry.ts') },
      { find: /^@veritee-dist\/(.*)$/, replacement: join(packages, '$1') },
      { find: /^@veritee\/zk\/attested$/, replacement: join(packages, 'zk', 'dist', 'attested.js') },
      { find: /^@veritee\/core\/node-fs$/, replacement: unavailable },
      { find: /^(node:)?crypto$/, replacement: shim('node-crypto.ts') },
      { find: /^(node:)?zlib$/, replacement: shim('node-zlib.ts') },
      { find: /^(node:)?(fs|path|util|os)$/, replacement: unavailable },
    ],
  },
  plugins: [nodeBuiltinGuard()],
  build: {
    outDir: join(pkg, 'dist-web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 2048,
    reportCompressedSize: false,
    rollupOptions: {
      // zod ships /* @__PURE__ */ comments in places Rollup cannot use; harmless, and noisy on every install.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && /node_modules[\\/]zod/.test(warning.id ?? '')) return;
        warn(warning);
      },
    },
  },
});
