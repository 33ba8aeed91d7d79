/**
 * @module @veritee/console
 * The web console's server (static app + read-only API over bundles and keys).
 * The browser app itself lives in web/ and is built by Vite into dist-web/.
 */
export * from './server.js';
export { MAX_UPSTREAM_BYTES, UPSTREAM_TIMEOUT_MS, parseUpstreamUrl, relayTarget, relayGet, type ServiceName, type Upstream } from './relay.js';
