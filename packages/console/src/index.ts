/**
 * @module @veritee/console
 * The web console's server (static app + read-only API over bundles and keys).
 * The browser app itself lives in web/ and is built by Vite into dist-web/.
 */
export * from './server.js';
