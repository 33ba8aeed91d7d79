/**
 * @module shims/node-zlib
 * The browser build's `node:zlib`: `gunzipSync` with Node's `maxOutputLength`
 * bound (fflate, streaming, so an oversized output is refused while inflating).
 */
import { Gunzip } from 'fflate';

export function gunzipSync(data: Uint8Array, opts: { maxOutputLength?: number } = {}): Uint8Array {
  const max = opts.maxOutputLength ?? 2 ** 31;
  const chunks: Uint8Array[] = [];
  let total = 0;
  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > max) throw Object.assign(new RangeError(`Cannot create a Buffer larger than ${max} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' });
    chunks.push(chunk);
  });
  g.push(data, true);
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export default { gunzipSync };
