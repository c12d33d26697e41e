/** How `floe run` shows maintenance: JSON log lines off a terminal, log lines and the status line on one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RunReporter } from '../../src/cli/commands/run.js';
import type { CommandIO } from '../../src/cli/io.js';
import type { PipelineStats } from '../../src/pipeline/pipeline.js';

function capture(isTTY: boolean): { io: CommandIO; out: () => string } {
  let out = '';
  return { io: { stdout: (t) => (out += t), stderr: (t) => (out += t), env: {}, isTTY }, out: () => out };
}

const compacted = {
  type: 'maintenance' as const,
  operation: 'compact' as const,
  table: 'db.events',
  durationMs: 42,
  details: { snapshotId: '123', rewrittenFiles: 60, addedFiles: 1 },
};

test('run reporter: maintenance events are JSON log lines (warn on failure)', () => {
  const c = capture(false);
  const r = new RunReporter(c.io);
  r.event(compacted);
  r.event({ ...compacted, operation: 'expire-snapshots', details: {}, error: 'table: db.events: commit failed after 5 attempts', code: 'COMMIT_CONFLICT' });
  const lines = c.out().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines[0]!.level, 'info');
  assert.equal(lines[0]!.msg, 'maintenance: compact db.events');
  assert.equal(lines[0]!.rewrittenFiles, 60);
  assert.equal(lines[0]!.durationMs, 42);
  assert.equal(lines[1]!.level, 'warn');
  assert.match(String(lines[1]!.msg), /maintenance: expire-snapshots db\.events failed: .*commit failed/);
  assert.equal(lines[1]!.code, 'COMMIT_CONFLICT');
});

test('run reporter: on a terminal the status line shows the last maintenance', () => {
  const c = capture(true);
  const r = new RunReporter(c.io);
  const stats = {
    records: 10,
    deadLetters: 0,
    skipped: 0,
    commits: 1,
    bytes: 100,
    lastCommitMs: Date.now(),
    lastSnapshotId: '1',
    startedMs: Date.now(),
    source: { millisBehindLatest: 0 },
  } as unknown as PipelineStats;
  r.status(stats);
  assert.doesNotMatch(c.out(), /maintenance/);
  r.event(compacted);
  r.status(stats);
  assert.match(c.out(), /maintenance: compact db\.events/);
  assert.match(c.out(), /\| maintenance compact \d\d:\d\d:\d\d/);
  r.finish();
});
