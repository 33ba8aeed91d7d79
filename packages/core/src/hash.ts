/**
 * @module hash
 * SHA-2 digests through @noble/hashes, so the same code runs in Node and browsers.
 */
import { sha256 as nobleSha256, sha384 as nobleSha384, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

export const sha256 = (b: Uint8Array): Uint8Array => nobleSha256(b);
export const sha384 = (b: Uint8Array): Uint8Array => nobleSha384(b);
export const sha512 = (b: Uint8Array): Uint8Array => nobleSha512(b);
