/**
 * @module shims/node-unavailable
 * The browser build's `node:fs`, `node:path`, `node:util`, `node:os` and
 * `@veritee/core/node-fs`: modules the verifiers import for features the browser
 * does not have (reading policy files, making simulated keys). Each function
 * throws, naming itself; nothing on the verification path calls them.
 */
function unavailable(name: string): () => never {
  return () => {
    throw new Error(`${name} is not available in the browser build of veritee`);
  };
}

export const readdirSync = unavailable('fs.readdirSync');
export const statSync = unavailable('fs.statSync');
export const existsSync = unavailable('fs.existsSync');
export const readFileSync = unavailable('fs.readFileSync');
export const writeFileSync = unavailable('fs.writeFileSync');
export const openSync = unavailable('fs.openSync');
export const closeSync = unavailable('fs.closeSync');
export const fstatSync = unavailable('fs.fstatSync');
export const readSync = unavailable('fs.readSync');
export const mkdirSync = unavailable('fs.mkdirSync');
export const readFileBounded = unavailable('readFileBounded');
export const readTextFileBounded = unavailable('readTextFileBounded');
export const writeFileChecked = unavailable('writeFileChecked');
export const formatByteLimit = (n: number): string => `${n} bytes`;
/** Called at module load by the simulated TEE (promisify(generateKeyPair)): returns a function that throws when used. */
export const promisify = (fn: { name?: string }): (() => never) => unavailable(`util.promisify(${fn?.name ?? 'function'})`);
export const homedir = unavailable('os.homedir');
export const join = (...parts: string[]): string => parts.join('/').replace(/\/+/g, '/');
export const basename = (p: string, ext?: string): string => {
  const b = p.slice(p.lastIndexOf('/') + 1);
  return ext && b.endsWith(ext) ? b.slice(0, -ext.length) : b;
};
export const extname = (p: string): string => {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i > 0 ? b.slice(i) : '';
};
export const dirname = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) || '/' : '.');

export default { readdirSync, statSync, existsSync, readFileSync, writeFileSync, promisify, homedir, join, basename, extname, dirname };
