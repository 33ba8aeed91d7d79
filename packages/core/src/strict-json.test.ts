import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseJsonStrict } from './strict-json.js';
import { quoteInput } from './quote.js';
import { isVeriteeError } from './errors.js';

const bad = (text: string, re: RegExp, opts = {}): void =>
  assert.throws(() => parseJsonStrict(text, opts), (e: unknown) => isVeriteeError(e, 'INPUT_JSON_INVALID') && re.test(e.message));

test('parseJsonStrict reads what JSON.parse reads', () => {
  for (const t of ['{}', '[]', '0', '-1.5e3', '"a\\u00e9\\n"', 'true', 'null', ' {"a":[1,{"b":null}],"c":"\\""} ', '{"__proto__":1}'])
    assert.deepEqual(parseJsonStrict(t), JSON.parse(t));
});

test('parseJsonStrict refuses duplicate keys, also when spelled with escapes, but not in sibling objects', () => {
  bad('{"compliant": false, "compliant": true}', /duplicate key "compliant"/);
  bad('{"a":1,"\\u0061":2}', /duplicate key "a"/);
  bad('{"x":{"a":1,"b":{"a":2},"a":3}}', /duplicate key "a"/);
  assert.deepEqual(parseJsonStrict('[{"a":1},{"a":2}]'), [{ a: 1 }, { a: 2 }]);
});

test('parseJsonStrict bounds nesting without recursing', () => {
  bad('['.repeat(100000) + ']'.repeat(100000), /nesting deeper than 64/);
  assert.ok(Array.isArray(parseJsonStrict('['.repeat(64) + ']'.repeat(64))));
  bad('['.repeat(65) + ']'.repeat(65), /nesting/);
  bad('{"a":'.repeat(10) + '1' + '}'.repeat(10), /nesting deeper than 5/, { maxDepth: 5 });
});

test('parseJsonStrict refuses malformed JSON and quotes only a short escaped excerpt', () => {
  for (const t of ['', '{', '{"a"}', '{"a":1,}', '[1,]', '01', '1 2', '"\u0001"', "{'a':1}", 'tru', '"\\x"', '{"a":1}}', 'NaN'])
    bad(t, /not valid JSON/);
  try {
    parseJsonStrict('{"a":' + 'x'.repeat(1_000_000) + '\u001b[31m}');
    assert.fail('accepted');
  } catch (e) {
    assert.ok((e as Error).message.length < 300, 'message is bounded');
  }
});

test('quoteInput truncates and escapes control characters', () => {
  assert.equal(quoteInput('ab'), '"ab"');
  assert.equal(quoteInput('a\u001b[2Jb\r\n\u0000'), '"a\\x1b[2Jb\\r\\n\\x00"');
  assert.equal(quoteInput('x'.repeat(100), 10), '"xxxxxxxxxx"… (90 more characters)');
  assert.equal(quoteInput('\u202eevil'), '"\\u202eevil"');
});

test('checkYamlNesting bounds flow nesting and block indentation, ignoring quotes and comments', async () => {
  const { checkYamlNesting } = await import('./yaml-depth.js');
  const nested = (e: unknown) => isVeriteeError(e, 'INPUT_INVALID') && /nested too deeply/.test((e as Error).message);
  assert.throws(() => checkYamlNesting('a: ' + '['.repeat(60000) + ']'.repeat(60000)), nested);
  assert.throws(() => checkYamlNesting('a: ' + '{b: '.repeat(33) + '1' + '}'.repeat(33)), nested);
  checkYamlNesting('a: ' + '['.repeat(32) + ']'.repeat(32));
  assert.throws(() => checkYamlNesting('a:\n' + Array.from({ length: 200 }, (_, i) => ' '.repeat(i + 1) + 'b:').join('\n')), nested);
  assert.throws(() => checkYamlNesting('- '.repeat(100)), nested);
  checkYamlNesting('a: "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["\nb: \'{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\' # [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n');
});
