import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isVeriteeError } from '@veritee/core';
import { ReplayWindow, replayKey } from './replay.js';

const key = (i: number) => replayKey(1, new Uint8Array(32).fill(i & 0xff).map((b, j) => (j === 0 ? i >> 8 : b)));

test('replay window: the same key inside the window is refused, after it accepted (injected clock)', () => {
  let now = 1_000_000;
  const w = new ReplayWindow({ now: () => now }, { windowMs: 60_000 });
  w.admit(key(1));
  w.admit(key(2)); // a different request
  now += 59_999;
  assert.throws(() => w.admit(key(1)), (e) => isVeriteeError(e, 'OHTTP_REPLAY') && /60 s/.test(e.message));
  now += 1; // the window of key(1) has ended
  w.admit(key(1));
  assert.equal(w.size, 1, 'key(1) and key(2) expired in bulk, key(1) recorded again');
  assert.throws(() => w.admit(key(1)), (e) => isVeriteeError(e, 'OHTTP_REPLAY'));
  // Keys differ by key ID too.
  assert.notEqual(replayKey(1, new Uint8Array(32)), replayKey(2, new Uint8Array(32)));
});

test('replay window: the memory cap is honoured; full means refuse (503, Retry-After), never forget early', () => {
  let now = 0;
  const w = new ReplayWindow({ now: () => now }, { windowMs: 10_000, maxEntries: 3 });
  w.admit(key(1));
  now = 4000;
  w.admit(key(2));
  w.admit(key(3));
  assert.throws(
    () => w.admit(key(4)),
    (e) => isVeriteeError(e, 'OHTTP_REPLAY_WINDOW_FULL') && e.details?.['retryAfterSeconds'] === 6 && e.info.http === 503,
  );
  assert.equal(w.size, 3);
  assert.throws(() => w.admit(key(1)), (e) => isVeriteeError(e, 'OHTTP_REPLAY'), 'the oldest is still remembered');
  now = 10_000; // key(1) expires: one slot
  w.admit(key(4));
  assert.throws(() => w.admit(key(5)), (e) => isVeriteeError(e, 'OHTTP_REPLAY_WINDOW_FULL'));
  now = 14_000; // key(2), key(3) expire together
  assert.equal(w.purge(), 2);
  w.admit(key(5));
  w.admit(key(6));
  assert.equal(w.size, 3);
  // The ring wrapped around several times and still answers correctly.
  for (let i = 0; i < 100; i++) {
    now += 10_000;
    w.admit(key(100 + i));
    assert.throws(() => w.admit(key(100 + i)), (e) => isVeriteeError(e, 'OHTTP_REPLAY'));
  }
  assert.equal(w.size, 1);
});

test('replay window: a Date ahead of the clock keeps the request until its Date check would refuse it', () => {
  let now = 0;
  const w = new ReplayWindow({ now: () => now }, { windowMs: 10_000 });
  w.admit(key(1), 25_000);
  now = 20_000;
  assert.throws(() => w.admit(key(1)), (e) => isVeriteeError(e, 'OHTTP_REPLAY'));
  now = 25_000;
  w.admit(key(1));
});

test('replay window: bad settings are refused', () => {
  const clock = { now: () => 0 };
  assert.throws(() => new ReplayWindow(clock, { windowMs: 0 }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  assert.throws(() => new ReplayWindow(clock, { windowMs: 1000, maxEntries: 0 }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
  assert.throws(() => new ReplayWindow(clock, { windowMs: 1000, maxEntries: 1.5 }), (e) => isVeriteeError(e, 'INPUT_INVALID'));
});
