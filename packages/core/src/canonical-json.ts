/**
 * @module canonical-json
 * Canonical JSON (RFC 8785 subset): object keys sorted by UTF-16 code units, no
 * whitespace, numbers must be safe integers or finite JSON numbers. Used wherever
 * JSON is hashed or signed, so that two implementations produce the same bytes.
 */
import { VeriteeError } from './errors.js';
import { utf8 } from './bytes.js';

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new VeriteeError('INPUT_INVALID', 'canonical JSON cannot hold NaN or Infinity');
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      throw new VeriteeError('INPUT_INVALID', 'canonical JSON cannot hold a bigint: encode it as a decimal string');
    case 'object': {
      if (Array.isArray(value)) return '[' + value.map((v) => canonicalJson(v)).join(',') + ']';
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(obj[k])).join(',') + '}';
    }
    default:
      throw new VeriteeError('INPUT_INVALID', `canonical JSON cannot hold a ${typeof value}`);
  }
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}
