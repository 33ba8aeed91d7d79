// Runs before any verifier module (main.ts imports it first; ES modules evaluate in import order):
// 1. the Buffer subset the verifiers use (../../src/shims/buffer.ts);
// 2. zod without its `new Function` fast paths: the console's CSP forbids eval, and
//    some schemas are parsed while modules load (e.g. the default attestation policy).
import { z } from 'zod';
import { BrowserBuffer } from '../../src/shims/buffer.js';

(globalThis as unknown as { Buffer: unknown }).Buffer ??= BrowserBuffer;
z.config({ jitless: true });
