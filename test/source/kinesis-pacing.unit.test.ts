import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextCallTime } from '../../src/source/kinesis/pacing.js';
import { ByteBudget, Notifier } from '../../src/source/kinesis/signal.js';

test('pacing: 5 calls/s, bytes/s budget, idle delay after empty responses', () => {
  const p = { minCallIntervalMs: 200, maxBytesPerSecond: 2_000_000, idleDelayMs: 250 };
  assert.equal(nextCallTime(1000, 1000, 10, p), 1200, 'small response: min interval');
  assert.equal(nextCallTime(1000, 10_000_000, 10_000, p), 6000, '10 MB at 2 MB/s: 5 s');
  assert.equal(nextCallTime(1000, 1_000_000, 100, p), 1500, '1 MB: half a second');
  assert.equal(nextCallTime(1000, 0, 0, p), 1250, 'empty: idle delay');
  assert.equal(nextCallTime(1000, 0, 0, { ...p, idleDelayMs: 10 }), 1200, 'idle shorter than interval');
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
