import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, backoffDelay, nextCallTime, sleep } from '../../src/source/kinesis/backoff.js';
import { ByteBudget, Notifier } from '../../src/source/kinesis/signal.js';

const opts = { baseMs: 100, maxMs: 2_000 };

test('backoff grows exponentially within [cap/2, cap] and stops at maxMs', () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const cap = Math.min(2_000, 100 * 2 ** attempt);
    assert.equal(backoffDelay(attempt, opts, () => 0), cap / 2, `lower bound of attempt ${attempt}`);
    assert.equal(backoffDelay(attempt, opts, () => 0.999999), Math.round(cap / 2 + 0.999999 * (cap / 2)), `upper bound of attempt ${attempt}`);
    for (let k = 0; k < 50; k++) {
      const d = backoffDelay(attempt, opts);
      assert.ok(d >= cap / 2 && d <= cap, `attempt ${attempt}: ${d} within [${cap / 2}, ${cap}]`);
    }
  }
  assert.equal(backoffDelay(1000, opts, () => 1), 2_000, 'huge attempt counts do not overflow');
});

test('Backoff counts failures and resets after success', () => {
  const b = new Backoff(opts, () => 0);
  assert.deepEqual([b.next(), b.next(), b.next()], [50, 100, 200]);
  assert.equal(b.failures, 3);
  b.reset();
  assert.equal(b.failures, 0);
  assert.equal(b.next(), 50);
});

test('pacing: 5 calls/s, bytes/s budget, idle delay after empty responses', () => {
  const p = { minCallIntervalMs: 200, maxBytesPerSecond: 2_000_000, idleDelayMs: 250 };
  assert.equal(nextCallTime(1000, 1000, 10, p), 1200, 'small response: min interval');
  assert.equal(nextCallTime(1000, 10_000_000, 10_000, p), 6000, '10 MB at 2 MB/s: 5 s');
  assert.equal(nextCallTime(1000, 1_000_000, 100, p), 1500, '1 MB: half a second');
  assert.equal(nextCallTime(1000, 0, 0, p), 1250, 'empty: idle delay');
  assert.equal(nextCallTime(1000, 0, 0, { ...p, idleDelayMs: 10 }), 1200, 'idle shorter than interval');
});

test('sleep resolves early (false) when aborted, true otherwise', async () => {
  assert.equal(await sleep(5), true);
  const ac = new AbortController();
  const t0 = Date.now();
  const p = sleep(10_000, ac.signal);
  ac.abort();
  assert.equal(await p, false);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(await sleep(10, ac.signal), false, 'already aborted');
});

test('Notifier wakes all waiters; timeouts and aborts resolve too', async () => {
  const n = new Notifier();
  let woke = 0;
  const a = n.wait().then(() => woke++);
  const b = n.wait().then(() => woke++);
  n.notifyAll();
  await Promise.all([a, b]);
  assert.equal(woke, 2);
  const t0 = Date.now();
  await n.wait(undefined, 20);
  assert.ok(Date.now() - t0 >= 15);
  const ac = new AbortController();
  const c = n.wait(ac.signal);
  ac.abort();
  await c;
});

test('ByteBudget: room while under the limit, always when empty; release wakes', async () => {
  const b = new ByteBudget(100);
  assert.ok(b.hasRoom(1_000), 'empty budget admits one oversize fetch');
  b.add(60);
  assert.ok(b.hasRoom(40));
  assert.ok(!b.hasRoom(41));
  assert.equal(b.available, 40);
  const woke = b.freed.wait();
  b.release(60);
  await woke;
  assert.equal(b.used, 0);
});
