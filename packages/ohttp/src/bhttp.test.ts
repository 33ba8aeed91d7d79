import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, isVeriteeError, toHex } from '@veritee/core';
import { decodeMessage, decodeRequest, decodeResponse, encodeRequest, encodeResponse, type BhttpRequest, type BhttpResponse } from './bhttp.js';

const invalid = (e: unknown) => isVeriteeError(e, 'OHTTP_BHTTP_INVALID');
const hex = (s: string) => fromHex(s.replace(/\s+/g, ''));

// ---- RFC 9292 §5 examples, byte for byte --------------------------------------------------------------

const UA = 'curl/7.16.3 libcurl/7.16.3 OpenSSL/0.9.7l zlib/1.2.3';
const RFC_REQUEST: BhttpRequest = {
  method: 'GET',
  scheme: 'https',
  authority: '',
  path: '/hello.txt',
  headers: [
    ['user-agent', UA],
    ['host', 'www.example.com'],
    ['accept-language', 'en, mi'],
  ],
  content: new Uint8Array(0),
  trailers: [],
};

/** Figure "Known-Length Binary Encoding of Request". */
const RFC_KNOWN_LENGTH_REQUEST = hex(`
00034745 54056874 74707300 0a2f6865 6c6c6f2e 74787440 6c0a7573 65722d61
67656e74 34637572 6c2f372e 31362e33 206c6962 6375726c 2f372e31 362e3320
4f70656e 53534c2f 302e392e 376c207a 6c69622f 312e322e 3304686f 73740f77
77772e65 78616d70 6c652e63 6f6d0f61 63636570 742d6c61 6e677561 67650665
6e2c206d 690000`);

/** Figure "Indeterminate-Length Binary Encoding of Request" (with 10 bytes of padding). */
const RFC_INDETERMINATE_REQUEST = hex(`
02034745 54056874 74707300 0a2f6865 6c6c6f2e 7478740a 75736572 2d616765
6e743463 75726c2f 372e3136 2e33206c 69626375 726c2f37 2e31362e 33204f70
656e5353 4c2f302e 392e376c 207a6c69 622f312e 322e3304 686f7374 0f777777
2e657861 6d706c65 2e636f6d 0f616363 6570742d 6c616e67 75616765 06656e2c
206d6900 00000000 00000000 00000000`);

const RFC_RESPONSE: BhttpResponse = {
  informational: [
    { status: 102, headers: [['running', '"sleep 15"']] },
    {
      status: 103,
      headers: [
        ['link', '</style.css>; rel=preload; as=style'],
        ['link', '</script.js>; rel=preload; as=script'],
      ],
    },
  ],
  status: 200,
  headers: [
    ['date', 'Mon, 27 Jul 2009 12:28:53 GMT'],
    ['server', 'Apache'],
    ['last-modified', 'Wed, 22 Jul 2009 19:15:56 GMT'],
    ['etag', '"34aa387-d-1568eb00"'],
    ['accept-ranges', 'bytes'],
    ['content-length', '51'],
    ['vary', 'Accept-Encoding'],
    ['content-type', 'text/plain'],
  ],
  content: new TextEncoder().encode('Hello World! My content includes a trailing CRLF.\r\n'),
  trailers: [],
};

/** Figure "Binary Response, including Informational Responses" (indeterminate length). */
const RFC_INDETERMINATE_RESPONSE = hex(`
03406607 72756e6e 696e670a 22736c65 65702031 35220040 67046c69 6e6b233c
2f737479 6c652e63 73733e3b 2072656c 3d707265 6c6f6164 3b206173 3d737479
6c65046c 696e6b24 3c2f7363 72697074 2e6a733e 3b207265 6c3d7072 656c6f61
643b2061 733d7363 72697074 0040c804 64617465 1d4d6f6e 2c203237 204a756c
20323030 39203132 3a32383a 35332047 4d540673 65727665 72064170 61636865
0d6c6173 742d6d6f 64696669 65641d57 65642c20 3232204a 756c2032 30303920
31393a31 353a3536 20474d54 04657461 67142233 34616133 38372d64 2d313536
38656230 30220d61 63636570 742d7261 6e676573 05627974 65730e63 6f6e7465
6e742d6c 656e6774 68023531 04766172 790f4163 63657074 2d456e63 6f64696e
670c636f 6e74656e 742d7479 70650a74 6578742f 706c6169 6e003348 656c6c6f
20576f72 6c642120 4d792063 6f6e7465 6e742069 6e636c75 64657320 61207472
61696c69 6e672043 524c462e 0d0a0000`);

/** Figure "Known-Length Encoding of Response" (chunked response with a trailer). */
const RFC_KNOWN_LENGTH_RESPONSE = hex(`
0140c800 1d546869 7320636f 6e74656e 7420636f 6e746169 6e732043 524c462e
0d0a0d07 74726169 6c657204 74657874`);

const strip = <T extends object>(m: T) => {
  const { mode: _m, padding: _p, truncated: _t, ...rest } = m as T & { mode?: unknown; padding?: unknown; truncated?: unknown };
  return rest;
};

test('RFC 9292 known-length request: decoded and re-encoded byte for byte', () => {
  const d = decodeRequest(RFC_KNOWN_LENGTH_REQUEST);
  assert.equal(d.mode, 'known-length');
  assert.equal(d.padding, 0);
  assert.deepEqual(strip(d), RFC_REQUEST);
  assert.equal(toHex(encodeRequest(d)), toHex(RFC_KNOWN_LENGTH_REQUEST));
  // "the last two bytes -- corresponding to content and a trailer section -- can each be removed"
  for (const cut of [1, 2]) {
    const t = decodeRequest(RFC_KNOWN_LENGTH_REQUEST.subarray(0, RFC_KNOWN_LENGTH_REQUEST.length - cut));
    assert.equal(t.truncated, true);
    assert.deepEqual(strip(t), RFC_REQUEST);
  }
  assert.equal(toHex(encodeRequest(RFC_REQUEST, { truncate: true })), toHex(RFC_KNOWN_LENGTH_REQUEST.subarray(0, RFC_KNOWN_LENGTH_REQUEST.length - 2)));
});

test('RFC 9292 indeterminate-length request with 10 bytes of padding: decoded and re-encoded', () => {
  const d = decodeRequest(RFC_INDETERMINATE_REQUEST);
  assert.equal(d.mode, 'indeterminate-length');
  assert.equal(d.padding, 10);
  assert.deepEqual(strip(d), RFC_REQUEST);
  assert.equal(toHex(encodeRequest(d, { mode: 'indeterminate-length', padding: 10 })), toHex(RFC_INDETERMINATE_REQUEST));
  // "anything up to 12 bytes can be removed from this message without affecting its meaning"
  for (let cut = 1; cut <= 12; cut++) assert.deepEqual(strip(decodeRequest(RFC_INDETERMINATE_REQUEST.subarray(0, RFC_INDETERMINATE_REQUEST.length - cut))), RFC_REQUEST);
  // 13 bytes removes the header section's terminator: invalid
  assert.throws(() => decodeRequest(RFC_INDETERMINATE_REQUEST.subarray(0, RFC_INDETERMINATE_REQUEST.length - 13)), invalid);
});

test('RFC 9292 indeterminate-length response with 102 and 103 informational responses', () => {
  const d = decodeResponse(RFC_INDETERMINATE_RESPONSE);
  assert.equal(d.mode, 'indeterminate-length');
  assert.deepEqual(strip(d), RFC_RESPONSE);
  assert.equal(toHex(encodeResponse(d, { mode: 'indeterminate-length' })), toHex(RFC_INDETERMINATE_RESPONSE));
  // the same message in known-length framing decodes to the same thing
  assert.deepEqual(strip(decodeResponse(encodeResponse(RFC_RESPONSE))), RFC_RESPONSE);
});

test('RFC 9292 known-length response with a trailer', () => {
  const d = decodeResponse(RFC_KNOWN_LENGTH_RESPONSE);
  assert.equal(d.status, 200);
  assert.deepEqual(d.headers, []);
  assert.equal(new TextDecoder().decode(d.content), 'This content contains CRLF.\r\n');
  assert.deepEqual(d.trailers, [['trailer', 'text']]);
  assert.equal(toHex(encodeResponse(d)), toHex(RFC_KNOWN_LENGTH_RESPONSE));
  // chunk boundaries are not kept: one chunk or many, same message
  const chunked = encodeResponse(d, { mode: 'indeterminate-length', chunkSize: 4 });
  assert.deepEqual(strip(decodeResponse(chunked)), strip(d));
});

test('RFC 9458 Appendix A request and response (minimal messages)', () => {
  assert.deepEqual(strip(decodeRequest(hex('00034745540568747470730b6578616d706c652e636f6d012f'))), {
    method: 'GET',
    scheme: 'https',
    authority: 'example.com',
    path: '/',
    headers: [],
    content: new Uint8Array(0),
    trailers: [],
  });
  const r = decodeResponse(hex('0140c8'));
  assert.equal(r.status, 200);
  assert.equal(r.truncated, true);
});

// ---- truncation at every field boundary -----------------------------------------------------------------

test('known-length request truncated at every byte: valid only where RFC 9292 §3.8 allows', () => {
  // Offsets in RFC_KNOWN_LENGTH_REQUEST (135 bytes):
  //   0       framing indicator 0x00
  //   1..4    method: length 0x03 + "GET"
  //   5..10   scheme: length 0x05 + "https"
  //   11      authority: length 0x00 (empty)
  //   12..22  path: length 0x0a + "/hello.txt"
  //   23..24  header section length 0x406c (108, a 2-byte varint); field lines at 25..132
  //   133     content length 0x00
  //   134     trailer section length 0x00
  // Truncation is allowed where a field section or content would start: 23 (headers
  // absent), 133 (content and trailers absent), 134 (trailers absent), and 135 (whole).
  const full = RFC_KNOWN_LENGTH_REQUEST;
  assert.equal(full.length, 135);
  const allowed = new Set([23, 133, 134, 135]);
  for (let n = 0; n <= full.length; n++) {
    if (allowed.has(n)) assert.doesNotThrow(() => decodeRequest(full.subarray(0, n)), `cut at ${n}`);
    else assert.throws(() => decodeRequest(full.subarray(0, n)), invalid, `cut at ${n} must be invalid`);
  }
  // cut at 23: no header section at all, decoded as empty
  assert.deepEqual(decodeRequest(full.subarray(0, 23)).headers, []);
});

test('indeterminate-length response truncated at every byte: only the final part may be missing', () => {
  const full = RFC_INDETERMINATE_RESPONSE;
  // Offsets: 0 framing 0x03 | 1..2 status 0x4066 (102) | field lines ... | 0x00 ends the 102 section |
  // 0x4067 (103) ... 0x00 | 0x40c8 (200) at `final` | header lines ... 0x00 at `hdrEnd` |
  // chunk 0x33 (51 bytes) | 0x00 content terminator at len-2 | 0x00 trailer terminator at len-1.
  const final = toHex(full).indexOf('0040c8') / 2 + 1; // the 0x00 before 0x40c8 ends the 103 section
  const hdrEnd = toHex(full).indexOf('0a746578742f706c61696e00') / 2 + 11; // the terminator after "text/plain"
  assert.equal(full[final], 0x40); // 0x40c8 = 200
  assert.equal(full[final + 1], 0xc8);
  assert.equal(full[hdrEnd], 0x00); // header section terminator
  assert.equal(full[hdrEnd + 1], 0x33); // first content chunk, 51 bytes
  const allowed = new Set([final + 2 /* after status 200 */, hdrEnd + 1 /* after headers */, full.length - 1 /* after content */, full.length]);
  for (let n = 0; n <= full.length; n++) {
    if (allowed.has(n)) assert.doesNotThrow(() => decodeResponse(full.subarray(0, n)), `cut at ${n}`);
    else assert.throws(() => decodeResponse(full.subarray(0, n)), invalid, `cut at ${n} must be invalid`);
  }
  // cut right after the final status: informational responses kept, the rest empty
  const t = decodeResponse(full.subarray(0, final + 2));
  assert.equal(t.informational.length, 2);
  assert.equal(t.status, 200);
  assert.equal(t.content.length, 0);
});

// ---- invalid messages -----------------------------------------------------------------------------------

test('invalid messages are refused', () => {
  const req = (over: Partial<BhttpRequest>) => ({ ...RFC_REQUEST, ...over });
  // framing indicator out of range, or the wrong kind
  assert.throws(() => decodeMessage(hex('04')), invalid);
  assert.throws(() => decodeRequest(hex('0140c8')), invalid);
  assert.throws(() => decodeResponse(RFC_KNOWN_LENGTH_REQUEST), invalid);
  // non-zero padding
  assert.throws(() => decodeRequest(Uint8Array.from([...RFC_KNOWN_LENGTH_REQUEST, 0, 0, 1])), invalid);
  assert.doesNotThrow(() => decodeRequest(Uint8Array.from([...RFC_KNOWN_LENGTH_REQUEST, 0, 0, 1]), { checkPadding: false }));
  // final status out of range, informational without a final response
  assert.throws(() => decodeResponse(hex('01 4258')), invalid); // 600
  assert.throws(() => decodeResponse(hex('01 4064 00')), invalid); // 100 then nothing
  // field values and names (RFC 9110 §5.1, RFC 9113 §8.2.1)
  for (const bad of [
    req({ headers: [['x', 'a\r\nb']] }),
    req({ headers: [['x', ' lead']] }),
    req({ headers: [['x', 'trail\t']] }),
    req({ headers: [['bad name', 'v']] }),
    req({ headers: [[':path', '/x']] }),
    req({ headers: [['a', '1'], [':protocol', 'x']] }),
    req({ trailers: [[':protocol', 'x']] }),
    req({ method: 'G T' }),
    req({ path: '' }),
    req({ path: '/a b' }),
    req({ scheme: '1http' }),
  ]) {
    assert.throws(() => encodeRequest(bad), invalid, JSON.stringify(bad).slice(0, 80));
  }
  // a pseudo-field defined by an extension is fine before regular fields
  assert.doesNotThrow(() => encodeRequest(req({ headers: [[':protocol', 'websocket'], ['a', '1']] })));
  // a field line count limit
  const many = encodeRequest(req({ headers: Array.from({ length: 50 }, (_, i) => [`h${i}`, 'v'] as const) }));
  assert.throws(() => decodeRequest(many, { maxFieldLines: 49 }), invalid);
  assert.equal(decodeRequest(many, { maxFieldLines: 50 }).headers.length, 50);
  // a length that runs past the end
  assert.throws(() => decodeRequest(hex('00 03 474554 05 6874747073 00 01 2f 50')), invalid);
});

test('round trips: bytes above 0x7f, large content, both framings, 8-byte varints accepted', () => {
  const content = new Uint8Array(70_000).map((_, i) => i & 0xff);
  const m: BhttpRequest = { ...RFC_REQUEST, method: 'POST', headers: [['x-latin1', 'caf\u00e9']], content, trailers: [['x-sum', '42']] };
  for (const mode of ['known-length', 'indeterminate-length'] as const) {
    assert.deepEqual(strip(decodeRequest(encodeRequest(m, { mode, chunkSize: 1000 }))), m);
  }
  // a non-minimal 8-byte varint for the method length (3)
  const nonMinimal = hex('00 c000000000000003 474554 05 6874747073 00 01 2f');
  assert.equal(decodeRequest(nonMinimal).method, 'GET');
  assert.throws(() => encodeRequest({ ...m, headers: [['x', '\u20ac']] }), invalid);
});
