/**
 * Writing in the background while the next rows are read: commits stay in order and each snapshot
 * holds exactly the rows its positions cover (checked snapshot by snapshot, partition by
 * partition, with time travel); a failed background commit fails the run; the first records after
 * a start or a quiet spell are committed at once, not an interval later.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { ancestors, snapshotForRef } from '../../src/iceberg/snapshot.js';
import { readCheckpoint } from '../../src/pipeline/checkpoint.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { MemorySource } from '../../src/source/memory.js';
import { Table } from '../../src/table/table.js';

const enc = new TextEncoder();
const event = (p: number, i: number) =>
  enc.encode(JSON.stringify({ id: `${p}-${i}`, kind: ['a', 'b', 'c'][i % 3], ts: `2026-01-0${1 + (i % 3)}T10:00:00Z` }));

function source(partitions: number, perPartition: number): MemorySource {
  return new MemorySource({
    id: 's',
    partitions: Array.from({ length: partitions }, (_, p) => ({ id: `p${p}`, length: perPartition, record: (i: number) => ({ data: event(p, i) }) })),
  });
}

function config(dir: string, extra: Record<string, unknown> = {}) {
  return validateConfig({
    source: { stream: 's' },
    catalog: { warehouse: dir },
    table: { name: 'db.t', partition_by: 'kind, day(ts)' },
    transform: {
      columns: {
        id: 'string',
        kind: 'string',
        ts: 'timestamptz',
        shard: { type: 'string', value: 'shard' },
        pos: { type: 'string', value: 'position' },
      },
    },
    dead_letter: { policy: 'fail' },
    maintenance: false,
    ...extra,
  });
}

test('overlapped commits: in order, each snapshot holds exactly the rows of its positions', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-overlap-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const total = 4 * 12_000;
    const events: PipelineEvent[] = [];
    let committed = 0;
    const pipeline = await Pipeline.open({
      config: config(dir, { commit: { interval: '1h', max_records: 3000 } }),
      catalog,
      source: source(4, 12_000),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'commit') committed += e.records;
        if (committed >= total) pipeline.stop();
      },
    });
    await pipeline.run();
    const commits = events.filter((e): e is Extract<PipelineEvent, { type: 'commit' }> => e.type === 'commit');
    assert.ok(commits.length >= 16, `many commits (${commits.length})`);
    assert.equal(committed, total);

    const table = await Table.load(catalog, { namespace: ['db'], name: 't' });
    const head = snapshotForRef(table.metadata, 'main')!;
    const chain = [...ancestors(table.metadata, head['snapshot-id'])].reverse();
    assert.equal(chain.length, commits.length);
    const engine = await QueryEngine.open({ catalog });
    try {
      let previous = new Map<string, number>();
      for (const [k, snap] of chain.entries()) {
        assert.equal(snap['snapshot-id'].toString(), commits[k]!.snapshotId, 'commits land in the order they were sealed');
        const positions = readCheckpoint(snap, 's');
        const q = await QueryEngine.open({ catalog, snapshotId: snap['snapshot-id'] });
        try {
          const rows = await q.query('SELECT shard, count(*), count(DISTINCT pos), max(CAST(pos AS BIGINT)) FROM db.t GROUP BY shard');
          const got = new Map(rows.rows.map((r) => [String(r[0]), { n: Number(r[1]), distinct: Number(r[2]), max: Number(r[3]) }]));
          for (const [shard, pos] of positions) {
            const p = Number(pos);
            assert.deepStrictEqual(got.get(shard), { n: p + 1, distinct: p + 1, max: p }, `snapshot ${k}, ${shard} at position ${pos}`);
            assert.ok(p >= (previous.get(shard) ?? -1), 'positions never go back');
          }
          assert.equal(got.size, positions.size, 'no rows of a partition without a position');
          previous = new Map([...positions].map(([s, p]) => [s, Number(p)]));
        } finally {
          q.close();
        }
      }
      const all = await engine.query('SELECT count(*), count(DISTINCT id) FROM db.t');
      assert.deepStrictEqual(all.rows[0]!.map(Number), [total, total]);
    } finally {
      engine.close();
    }
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a background commit that fails fails the run, and the table stays consistent', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-overlap-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    let writes = 0;
    const pipeline = await Pipeline.open({
      config: config(dir, { commit: { interval: '1h', max_records: 2000 } }),
      catalog,
      source: source(2, 50_000),
      crashPoint: (point) => {
        if (point === 'afterWrite' && ++writes === 3) throw new Error('disk on fire');
      },
    });
    await assert.rejects(pipeline.run(), /disk on fire/);
    const table = await Table.load(catalog, { namespace: ['db'], name: 't' });
    const snap = snapshotForRef(table.metadata, 'main')!;
    const positions = readCheckpoint(snap, 's');
    const rows = [...positions.values()].reduce((n, p) => n + Number(p) + 1, 0);
    assert.equal(Number(snap.summary['total-records']), rows, 'the rows committed are the rows the positions cover');
    assert.equal(rows, 4000, 'the two commits before the failure, and nothing after');
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the first records after a start and after a quiet spell commit at once', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-overlap-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    // A partition that grows: 100 records at start, 100 more later.
    let available = 100;
    const src = new MemorySource({
      id: 's',
      partitions: [
        {
          id: 'p0',
          get length() {
            return available;
          },
          record: (i: number) => ({ data: event(0, i) }),
        },
      ],
    });
    const commitTimes: number[] = [];
    const t0 = Date.now();
    const pipeline = await Pipeline.open({
      config: config(dir, { commit: { interval: '3s' } }),
      catalog,
      source: src,
      onEvent: (e) => {
        if (e.type === 'commit') commitTimes.push(Date.now() - t0);
      },
    });
    const running = pipeline.run();
    while (commitTimes.length < 1 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(commitTimes[0]! < 1500, `first commit ${commitTimes[0]} ms after start, not an interval (3 s) later`);
    // Quiet for longer than the interval, then more records: committed at once.
    await new Promise((r) => setTimeout(r, 3500));
    const more = Date.now() - t0;
    available = 200;
    while (commitTimes.length < 2 && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 20));
    assert.ok(commitTimes[1]! - more < 1500, `records after a quiet spell committed ${commitTimes[1]! - more} ms after they came`);
    pipeline.stop();
    await running;
    assert.equal(commitTimes.length, 2, 'no empty snapshots in between');
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
