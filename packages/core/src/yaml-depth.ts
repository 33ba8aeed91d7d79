/**
 * @module yaml-depth
 * YAML parsers recurse on nesting: a policy of 5,000 nested `[` overflows the stack and
 * 60,000 of them exhaust memory inside the parser. {@link checkYamlNesting} bounds the
 * nesting of a YAML (or JSON) text before it reaches a parser, without recursing:
 * flow collections (`[`, `{`) outside quotes and comments, and the block indentation
 * (leading spaces plus `- `/`? ` indicators) of every line.
 */
import { VeriteeError, type ErrorCode } from './errors.js';

export interface YamlNestingLimits {
  /** Deepest nesting of flow collections (default 32). */
  readonly maxFlowDepth?: number;
  /** Widest block indentation, in columns, counting sequence/key indicators (default 128). */
  readonly maxIndent?: number;
  readonly what?: string;
  readonly code?: ErrorCode;
}

/** Throws `code` (default INPUT_INVALID) when `text` nests deeper than the limits. */
export function checkYamlNesting(text: string, limits: YamlNestingLimits = {}): void {
  const maxFlow = limits.maxFlowDepth ?? 32;
  const maxIndent = limits.maxIndent ?? 128;
  const fail = (why: string, line: number): never => {
    throw new VeriteeError(limits.code ?? 'INPUT_INVALID', `${limits.what ?? 'document'} is nested too deeply: ${why} (line ${line})`);
  };
  let depth = 0;
  let quote: '"' | "'" | null = null;
  let line = 1;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart) {
      if (c === ' ' || c === '\t' || ((c === '-' || c === '?' || c === ':') && (text[i + 1] === ' ' || text[i + 1] === '\t'))) {
        if (++indent > maxIndent) fail(`indentation wider than ${maxIndent} columns`, line);
        continue;
      }
      lineStart = false;
    }
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl - 1;
    } else if (c === '[' || c === '{') {
      if (++depth > maxFlow) fail(`more than ${maxFlow} nested [ or {`, line);
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
}
