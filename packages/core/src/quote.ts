/**
 * @module quote
 * Echoing input back in an error message: bounded and escaped, so that a 50 MB line
 * does not become a 50 MB message and control bytes never reach a terminal or a log.
 */

/** Default longest excerpt of input an error message quotes (characters). */
export const QUOTE_MAX = 80;

/**
 * `s` as a double-quoted excerpt of at most `max` characters: control characters,
 * DEL, C1 controls, backslashes, quotes, lone surrogates and bidi overrides are
 * escaped; a longer input ends in `…` and says how much was left out.
 */
export function quoteInput(s: string, max = QUOTE_MAX): string {
  const str = String(s);
  const head = str.length > max ? str.slice(0, max) : str;
  let out = '';
  for (const ch of head) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || (c >= 0xd800 && c <= 0xdfff))
      out += c <= 0xff ? '\\x' + c.toString(16).padStart(2, '0') : '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  const rest = str.length - head.length;
  return `"${out}"${rest > 0 ? `… (${rest} more characters)` : ''}`;
}
