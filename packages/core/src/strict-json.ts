/**
 * @module strict-json
 * JSON parsing for documents that are verified or that carry records: `JSON.parse`
 * keeps the last of two equal keys (`{"compliant": false, "compliant": true}` reads
 * as `true`), recurses without bound on nesting and echoes input in its messages.
 * {@link parseJsonStrict} first scans the text without recursion, refusing
 * duplicate keys and nesting deeper than `maxDepth`, then hands the checked text to
 * `JSON.parse`. Errors are `INPUT_JSON_INVALID` (or the caller's code) and quote at
 * most a short, escaped excerpt of the input.
 */
import { VeriteeError, type ErrorCode } from './errors.js';
import { quoteInput } from './quote.js';

export interface StrictJsonOptions {
  /** Deepest allowed nesting of arrays and objects (default 64). */
  readonly maxDepth?: number;
  /** What the document is, for messages ("proof bundle", "record 12"). */
  readonly what?: string;
  /** Error code to throw (default `INPUT_JSON_INVALID`). */
  readonly code?: ErrorCode;
}

const DEFAULT_MAX_DEPTH = 64;

/** Parses JSON, refusing duplicate object keys and nesting deeper than `maxDepth`. */
export function parseJsonStrict(text: string, options: StrictJsonOptions = {}): unknown {
  checkJsonText(text, options);
  return JSON.parse(text) as unknown;
}

/**
 * Scans `text` as JSON (RFC 8259) without recursion. Throws on a syntax error, a
 * duplicate key in one object or nesting deeper than the limit.
 */
export function checkJsonText(text: string, options: StrictJsonOptions = {}): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  const what = options.what ?? 'document';
  const code = options.code ?? 'INPUT_JSON_INVALID';
  const fail = (msg: string, at: number): never => {
    throw new VeriteeError(code, `${what} is not valid JSON: ${msg} at offset ${at} (near ${quoteInput(text.slice(Math.max(0, at - 10), at + 20), 40)})`, { offset: at });
  };
  // Stack of open containers: for objects, the set of keys seen so far.
  const stack: Array<Set<string> | null> = [];
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = (): string => {
    const start = i;
    i++; // opening quote
    let simple = true;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        const raw = text.slice(start, i);
        return simple ? raw.slice(1, -1) : (JSON.parse(raw) as string);
      }
      if (c === 0x5c) {
        simple = false;
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape', i);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('bad escape', i);
        continue;
      }
      if (c < 0x20) fail('control character in string', i);
      i++;
    }
    return fail('unterminated string', start);
  };
  const num = (): void => {
    const m = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) fail('bad number', i);
    i += r![0].length;
  };
  // expect: 'value' | 'key' | 'after' (after a value: , ] } or end)
  let expect: 'value' | 'key-or-close' | 'key' | 'colon' | 'value-or-close' | 'after' = 'value';
  ws();
  if (i >= n) fail('empty input', 0);
  while (true) {
    ws();
    if (i >= n) break;
    const ch = text[i]!;
    switch (expect) {
      case 'value':
      case 'value-or-close': {
        if (expect === 'value-or-close' && ch === ']') {
          stack.pop();
          i++;
          expect = 'after';
          break;
        }
        if (ch === '{' || ch === '[') {
          if (stack.length >= maxDepth) fail(`nesting deeper than ${maxDepth} levels`, i);
          stack.push(ch === '{' ? new Set<string>() : null);
          i++;
          expect = ch === '{' ? 'key-or-close' : 'value-or-close';
        } else if (ch === '"') {
          str();
          expect = 'after';
        } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
          num();
          expect = 'after';
        } else if (text.startsWith('true', i)) {
          i += 4;
          expect = 'after';
        } else if (text.startsWith('false', i)) {
          i += 5;
          expect = 'after';
        } else if (text.startsWith('null', i)) {
          i += 4;
          expect = 'after';
        } else fail(`unexpected ${quoteInput(ch, 8)}`, i);
        break;
      }
      case 'key-or-close':
      case 'key': {
        if (expect === 'key-or-close' && ch === '}') {
          stack.pop();
          i++;
          expect = 'after';
          break;
        }
        if (ch !== '"') fail('expected a string key', i);
        const at = i;
        const key = str();
        const keys = stack[stack.length - 1]!;
        if (keys.has(key)) fail(`duplicate key ${quoteInput(key, 40)}`, at);
        keys.add(key);
        expect = 'colon';
        break;
      }
      case 'colon':
        if (ch !== ':') fail("expected ':'", i);
        i++;
        expect = 'value';
        break;
      case 'after': {
        if (stack.length === 0) fail('unexpected data after the document', i);
        const top = stack[stack.length - 1];
        if (ch === ',') {
          i++;
          expect = top ? 'key' : 'value';
        } else if (ch === '}' && top) {
          stack.pop();
          i++;
        } else if (ch === ']' && top === null) {
          stack.pop();
          i++;
        } else fail(`unexpected ${quoteInput(ch, 8)}`, i);
        break;
      }
    }
  }
  if (expect !== 'after' || stack.length) fail('unexpected end of input', n);
}
