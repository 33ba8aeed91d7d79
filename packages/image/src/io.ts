/**
 * @module io
 * Bounded reads of user-named files with coded errors.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { quoteInput, VeriteeError } from '@veritee/core';

/** Firmware volumes are a few MiB; kernels and initrds tens of MiB. */
export const MAX_IMAGE_INPUT_BYTES = 512 * 1024 * 1024;

/** Reads a whole regular file, refusing more than `maxBytes`. */
export function readBoundedFile(path: string, what: string, maxBytes = MAX_IMAGE_INPUT_BYTES): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(path, 200)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(path, 200)} is not a regular file`);
    if (st.size > maxBytes) throw new VeriteeError('INPUT_TOO_LARGE', `${what} ${quoteInput(path, 200)} is ${st.size} bytes, over the ${maxBytes} byte limit`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, buf, off, st.size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off !== st.size) throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(path, 200)} changed while it was read`);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  } catch (e) {
    if (e instanceof VeriteeError) throw e;
    throw new VeriteeError('INPUT_FILE_UNREADABLE', `${what} ${quoteInput(path, 200)} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
