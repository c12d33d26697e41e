/**
 * `RunMetrics`' liveness and readiness rules on a fake clock and fake pipeline totals: not ready
 * while starting or stopping, ready when idle, stalled when records wait past the bound, ready
 * again at the next commit, and a record arriving after a long silence is not a stall.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineStats } from '../../src/pipeline/pipeline.js';
import { RunMetrics } from '../../src/run/run-metrics.js';

function stats(records: number, buffered = 0): PipelineStats {
  return {
    records,
    deadLetters: 0,
    skipped: 0,
    commits: 0,
    bytes: 0,
    lastCommitMs: undefined,
    lastSnapshotId: undefined,
    startedMs: 0,
    source: {
      recordsRead: records + buffered,
      bytesRead: 0,
      throttles: 0,
      retries: 0,
      bufferedRecords: buffered,
      bufferedBytes: 0,
      peakBufferedBytes: 0,
      millisBehindLatest: undefined,
      discoveries: 1,
      partitions: [],
    },
  };
}

const commit = (records: number) =>
  ({ type: 'commit', snapshotId: '1', records, deadLetters: 0, files: 1, bytes: 100, durationMs: 20, attempts: 1, positions: {} }) as const;

test('readiness: starting, idle, committing, stalled, recovered, stopping, failed', () => {
  let now = 1_000_000;
  let current = stats(0);
  const m = new RunMetrics({ readyCommitAgeMs: 5000, now: () => now, processMetrics: false });
  m.attach(() => current);
  assert.deepEqual(m.readiness(), { ok: false, reason: 'starting: the source has not started yet' });
  assert.deepEqual(m.liveness(), { ok: true, reason: 'alive: starting' });

  m.observe({ type: 'started', table: 'db.t', positions: {}, jsonFastPath: 'native' });
  m.tick(current);
  assert.equal(m.readiness().reason, 'ready: idle, nothing waits to be committed');

  // An hour of silence, then records: not a stall (the last idle moment counts, not the last commit).
  now += 3_600_000;
  m.tick(current);
  current = stats(7, 3);
  now += 1000;
  assert.deepEqual(m.readiness(), { ok: true, reason: 'ready: 10 records wait, committing' });

  // No commit for more than 5 s while they wait.
  now += 5001;
  m.tick(current);
  assert.deepEqual(m.readiness(), { ok: false, reason: 'stalled: 10 records wait, no commit since the start (bound 5000 ms)' });
  assert.equal(m.liveness().ok, true);

  m.observe(commit(7));
  current = stats(7, 0);
  assert.equal(m.readiness().reason, 'ready: idle, nothing waits to be committed');
  current = stats(9, 0);
  now += 6000;
  assert.deepEqual(m.readiness(), { ok: false, reason: 'stalled: 2 records wait, last commit 6 s ago (bound 5000 ms)' });

  m.stopping();
  assert.deepEqual(m.readiness(), { ok: false, reason: 'stopping: not taking records' });
  m.observe({ type: 'error', error: 'pipeline: fenced', code: 'FENCED' });
  assert.deepEqual(m.liveness(), { ok: false, reason: 'failed: FENCED: pipeline: fenced' });
  assert.equal(m.readiness().ok, false);
});

test('metrics text: counters from events and totals, prefixed floe_', async () => {
  const now = 5_000_000;
  let current = stats(0);
  const m = new RunMetrics({ readyCommitAgeMs: 5000, now: () => now, processMetrics: false });
  m.attach(() => current);
  m.observe({ type: 'started', table: 'db.t', positions: {}, jsonFastPath: 'native' });
  current = stats(12, 0);
  m.observe(commit(12));
  m.observe({ ...commit(3), attempts: 3 });
  m.observe({ type: 'commit-retry', table: 'db.t', reason: 'unreachable', retry: 1, waitMs: 100, outageMs: 0, error: 'x' });
  m.observe({ type: 'maintenance', operation: 'compact', table: 'db.t', durationMs: 1500, details: {} });
  const text = await m.metrics();
  for (const line of [
    'floe_commits_total 2',
    'floe_records_written_total 15',
    'floe_commit_conflicts_total 2',
    'floe_commit_retries_total{reason="unreachable"} 1',
    'floe_maintenance_runs_total{operation="compact",outcome="ok"} 1',
    'floe_maintenance_duration_seconds_count{operation="compact"} 1',
    'floe_records_ingested_total 12',
    'floe_ready 1',
  ]) {
    assert.ok(text.split('\n').includes(line), `${line} in\n${text}`);
  }
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) assert.match(line, /^# HELP floe_/);
  }
  // A running total read twice does not count twice.
  const again = await m.metrics();
  assert.ok(again.split('\n').includes('floe_records_ingested_total 12'));
});
