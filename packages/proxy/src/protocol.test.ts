/**
 * The exact bytes of the signed messages (a reimplementation in another language must
 * produce these), the Veritee-Signature header grammar, and the server's fast message
 * builder against the checked one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { bindingMessage, formatSignatureHeader, parseSignatureHeader, responseMessage } from './protocol.js';
import { responseMessageFast } from './server.js';

const exporter = Buffer.alloc(32, 0x11);
const nonce = Buffer.alloc(32, 0x22);
const pkh = Buffer.alloc(32, 0x33);
const h = (b: number) => b.toString(16).padStart(2, '0').repeat(32);

test('binding message: domain, exporter, nonce, key hash; hex, newline-separated', () => {
  assert.equal(bindingMessage(exporter, nonce, pkh).toString('utf8'), `veritee.proxy.binding/v1\n${h(0x11)}\n${h(0x22)}\n${h(0x33)}`);
  assert.throws(() => bindingMessage(Buffer.alloc(31), nonce, pkh), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'));
});

test('response message: exact bytes; inputs that could smuggle a newline are refused', () => {
  const facts = { exporter, method: 'POST', target: '/v1/prove?x=1', requestBodySha256: h(0xaa), status: 202, responseBodySha256: h(0xbb) };
  const expected = `veritee.proxy.response/v1\n${h(0x11)}\nPOST\n/v1/prove?x=1\n${h(0xaa)}\n202\n${h(0xbb)}`;
  assert.equal(responseMessage(facts).toString('utf8'), expected);
  assert.equal(responseMessageFast({ exporterHex: h(0x11) }, 'POST', '/v1/prove?x=1', h(0xaa), 202, h(0xbb)).toString('utf8'), expected);
  assert.equal(responseMessage({ ...facts, requestBodySha256: 'incomplete', status: 413 }).toString('utf8').split('\n')[4], 'incomplete');
  for (const bad of [{ method: 'GE\nT' }, { target: '/a\nb' }, { target: '/a b' }, { requestBodySha256: 'zz' }, { status: 42 }]) {
    assert.throws(() => responseMessage({ ...facts, ...bad }), (e: unknown) => isVeriteeError(e, 'INPUT_INVALID'), JSON.stringify(bad));
  }
});

test('Veritee-Signature: round trip; malformed values name what is wrong', () => {
  const value = formatSignatureHeader({ key: 'ab'.repeat(8), req: h(1), res: h(2), sig: 'A'.repeat(86) });
  assert.deepEqual(parseSignatureHeader(value), { v: 1, alg: 'ES256', key: 'ab'.repeat(8), req: h(1), res: h(2), sig: 'A'.repeat(86) });
  const cases: [string, RegExp][] = [
    [value.replace('v=1', 'v=2'), /version 2/],
    [value.replace('alg=ES256', 'alg=none'), /algorithm none/],
    [value.replace(/, res=[0-9a-f]+/, ''), /field res is missing/],
    [`${value}, res=${h(3)}`, /duplicate field res/],
    [value.replace('key=abab', 'key=ab;b'), /cannot read/],
  ];
  for (const [v, re] of cases) {
    assert.throws(() => parseSignatureHeader(v), (e: unknown) => isVeriteeError(e, 'PROXY_RESPONSE_SIGNATURE_INVALID') && re.test(e.message), v);
  }
});
