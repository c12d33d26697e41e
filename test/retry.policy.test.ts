import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CatalogUnreachableError, FloeError, ValidationError } from '../src/errors.js';
import { Backoff, backoffDelayMs, checkRetryPolicy, DEFAULT_RETRY_POLICY, retry, sleep, type RetryEvent } from '../src/retry.js';
import { DEFAULT_COMMIT_RETRY_POLICY, DEFAULT_OUTAGE_POLICY, retryPolicyFromProperties } from '../src/table/commit-policy.js';
import { DEFAULT_KINESIS_BACKOFF } from '../src/source/kinesis/pacing.js';

const delays = { baseDelayMs: 100, maxDelayMs: 2_000 };

test('backoff, equal jitter (the default): exponential within [cap/2, cap], capped at maxDelayMs', () => {
  for (let retryNo = 0; retryNo < 12; retryNo++) {
    const cap = Math.min(2_000, 100 * 2 ** retryNo);
    assert.equal(backoffDelayMs(retryNo, delays, () => 0), cap / 2, `lower bound of retry ${retryNo}`);
    assert.equal(backoffDelayMs(retryNo, delays, () => 0.999999), Math.round(cap / 2 + 0.999999 * (cap / 2)), `upper bound of retry ${retryNo}`);
    for (let k = 0; k < 50; k++) {
      const d = backoffDelayMs(retryNo, delays);
      assert.ok(d >= cap / 2 && d <= cap, `retry ${retryNo}: ${d} within [${cap / 2}, ${cap}]`);
    }
  }
  assert.equal(backoffDelayMs(1000, delays, () => 1), 2_000, 'huge retry counts do not overflow');
  assert.equal(backoffDelayMs(-3, delays, () => 0), 50, 'a negative count is the first retry');
});

test('backoff, full and no jitter', () => {
  assert.equal(backoffDelayMs(3, { ...delays, jitter: 'full' }, () => 0), 0);
  assert.equal(backoffDelayMs(3, { ...delays, jitter: 'full' }, () => 0.5), 400);
  assert.deepEqual(
    [0, 1, 2, 5, 6, 7, 40].map((n) => backoffDelayMs(n, { baseDelayMs: 1, maxDelayMs: 50, jitter: 'none' })),
    [1, 2, 4, 32, 50, 50, 50],
    'the SQLite lock wait: 1, 2, 4, … ms up to 50',
  );
});

test('Backoff counts failures and resets after success', () => {
  const b = new Backoff(delays, () => 0);
  assert.deepEqual([b.next(), b.next(), b.next()], [50, 100, 200]);
  assert.equal(b.failures, 3);
  b.reset();
  assert.equal(b.failures, 0);
  assert.equal(b.next(), 50);
});

test('sleep resolves true after the time, false at once when aborted (never rejects)', async () => {
  assert.equal(await sleep(5), true);
  assert.equal(await sleep(0), true);
  const ac = new AbortController();
  const t0 = Date.now();
  const p = sleep(10_000, ac.signal);
  ac.abort(new Error('stop'));
  assert.equal(await p, false);
  assert.ok(Date.now() - t0 < 1000);
  assert.equal(await sleep(10, ac.signal), false, 'already aborted');
});

const fast = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

test('retry: by default retries retriable floe errors only, and rethrows the last error unchanged', async () => {
  let calls = 0;
  const ok = await retry(async (attempt) => {
    calls++;
    if (attempt < 3) throw new CatalogUnreachableError('catalog: down');
    return 'done';
  }, fast);
  assert.equal(ok, 'done');
  assert.equal(calls, 3);

  const notRetriable = new ValidationError('config: bad');
  calls = 0;
  await assert.rejects(retry(async () => { calls++; throw notRetriable; }, fast), (e) => e === notRetriable);
  assert.equal(calls, 1, 'a non-retriable floe error is not retried');

  const plain = Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' });
  calls = 0;
  await assert.rejects(retry(async () => { calls++; throw plain; }, fast), (e) => e === plain);
  assert.equal(calls, 1, 'an error that is not a floe error is not retried by default');

  calls = 0;
  await assert.rejects(
    retry(async () => { calls++; throw new FloeError('IO', `x: ${calls}`, { retriable: true }); }, fast),
    /x: 4/,
  );
  assert.equal(calls, 4, 'maxAttempts counts the first attempt');

  calls = 0;
  await assert.rejects(retry(async () => { calls++; throw plain; }, fast, { isRetriable: (e) => e === plain }), (e) => e === plain);
  assert.equal(calls, 4, 'isRetriable decides');
});

test('retry: reports each wait, survives a throwing listener, stops at the budget and at an abort', async () => {
  const events: RetryEvent[] = [];
  await assert.rejects(
    retry(async () => { throw new CatalogUnreachableError('down'); }, { maxAttempts: 3, baseDelayMs: 4, maxDelayMs: 4, jitter: 'none' }, {
      onRetry: (ev) => {
        events.push(ev);
        throw new Error('broken listener');
      },
    }),
    /down/,
  );
  assert.deepEqual(events.map((e) => [e.attempt, e.delayMs]), [[1, 4], [2, 4]]);

  let calls = 0;
  const t0 = Date.now();
  await assert.rejects(
    retry(async () => { calls++; throw new CatalogUnreachableError('down'); }, { maxAttempts: Infinity, budgetMs: 150, baseDelayMs: 20, maxDelayMs: 20, jitter: 'none' }),
    /down/,
  );
  const took = Date.now() - t0;
  assert.ok(took >= 140 && took < 2_000, `the budget ends it: ${took} ms`);
  assert.ok(calls >= 3 && calls <= 10, `${calls} attempts within 150 ms of 20 ms waits`);

  const ac = new AbortController();
  calls = 0;
  const t1 = Date.now();
  setTimeout(() => ac.abort(), 50);
  await assert.rejects(
    retry(async () => { calls++; throw new CatalogUnreachableError(`down ${calls}`); }, { maxAttempts: 100, baseDelayMs: 10_000, maxDelayMs: 10_000 }, { signal: ac.signal }),
    /down 1$/,
  );
  assert.ok(Date.now() - t1 < 2_000, 'an abort ends the wait at once, with the last error');
  assert.equal(calls, 1);
});

test('checkRetryPolicy names the subsystem', () => {
  assert.throws(() => checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, maxAttempts: 0 }, 'io: s3'), /^ValidationError: io: s3: retry maxAttempts must be a positive integer, got 0$/);
  assert.throws(() => checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, baseDelayMs: -1 }, 'catalog: rest'), /catalog: rest: retry delays must be non-negative/);
  assert.throws(() => checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, budgetMs: Number.NaN }, 'x'), /x: retry delays must be non-negative/);
  assert.equal(checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, maxAttempts: Infinity, budgetMs: 10 }, 'x').maxAttempts, Infinity);
});

test("every caller keeps its numbers: S3/REST/Glue, commits (Iceberg's commit.retry.*), outages, Kinesis", () => {
  assert.deepEqual({ ...DEFAULT_RETRY_POLICY }, { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 });
  assert.deepEqual({ ...DEFAULT_COMMIT_RETRY_POLICY }, { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 60_000, budgetMs: 1_800_000 });
  assert.deepEqual(retryPolicyFromProperties({}), { ...DEFAULT_COMMIT_RETRY_POLICY });
  assert.deepEqual(
    retryPolicyFromProperties({
      'commit.retry.num-retries': '0',
      'commit.retry.min-wait-ms': '7',
      'commit.retry.max-wait-ms': 'soon',
      'commit.retry.total-timeout-ms': '-5',
    }),
    { maxAttempts: 1, baseDelayMs: 7, maxDelayMs: 60_000, budgetMs: 1_800_000 },
    'num-retries 0 = one attempt; invalid values fall back to the defaults',
  );
  assert.deepEqual({ ...DEFAULT_OUTAGE_POLICY }, { maxAttempts: Infinity, budgetMs: 120_000, baseDelayMs: 250, maxDelayMs: 5_000, maxResends: 3 });
  assert.deepEqual({ ...DEFAULT_KINESIS_BACKOFF }, { baseDelayMs: 200, maxDelayMs: 10_000 });
});
