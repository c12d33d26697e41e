/**
 * Per-shard fencing (issue #14 part 2): a commit asserts the positions of exactly the shards it
 * carries. Two writers on disjoint shards of one stream commit into one table side by side and
 * never fence each other (each snapshot still holds every shard's position); a writer holding an
 * old position of a shard another writer moved is fenced on that shard, drops what it had not
 * committed and reads again from the table: no duplicate, no loss.
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
import type { PollOptions, SourceBatch } from '../../src/source/source.js';
import { Table } from '../../src/table/table.js';

const enc = new TextEncoder();
/** Record `i` of partition `p`; record 50 of p0 is not JSON (a dead letter). */
const event = (p: string, i: number) => (p === 'p0' && i === 50 ? enc.encode('not json') : enc.encode(JSON.stringify({ id: `${p}-${i}` })));

/** A memory source of stream `s` over some partitions; `whenDrained` runs on each poll once all is read. */
class Partitions extends MemorySource {
  whenDrained: (() => void) | undefined;
  rewinds = 0;
  constructor(parts: Record<string, number>) {
    super({ id: 's', partitions: Object.entries(parts).map(([id, length]) => ({ id, length, record: (i: number) => ({ data: event(id, i) }) })) });
  }
  override async poll(options: PollOptions): Promise<SourceBatch> {
    // At most 50 records per poll, a few ms apart: writers side by side progress together.
    await new Promise((r) => setTimeout(r, 2));
    const batch = await super.poll({ ...options, maxRecords: Math.min(options.maxRecords, 50) });
    if (this.drained) this.whenDrained?.();
    return batch;
  }
  override async rewind(positions: ReadonlyMap<string, string>): Promise<void> {
    this.rewinds++;
    await super.rewind(positions);
  }
}

function config(dir: string, maxRecords: number) {
  return validateConfig({
    // As workers sharing a stream are configured: their conflict retries (no lease table here).
    source: { stream: 's', application: 'shared' },
    catalog: { warehouse: dir },
    table: { name: 'db.t', properties: { 'commit.retry.num-retries': '20' } },
    transform: { columns: { id: 'string', shard: { type: 'string', value: 'shard' } } },
    commit: { interval: '1h', max_records: maxRecords },
    dead_letter: { policy: 'dlq' },
    maintenance: false,
  });
}

/** Rows, distinct ids, dead letters. */
async function counts(catalog: SqlCatalog): Promise<[number, number, number]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    const [[n, distinct]] = (await engine.query('SELECT count(*), count(DISTINCT id) FROM db.t')).rows as [[number | bigint, number | bigint]];
    const [[dl]] = (await engine.query('SELECT count(*) FROM db.t_dead_letters')).rows as [[number | bigint]];
    return [Number(n), Number(distinct), Number(dl)];
  } finally {
    engine.close();
  }
}

test('shard fencing: two writers on disjoint shards commit interleaved into one table, neither fenced', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-shard-fence-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const per = 3000;
    const a = new Partitions({ p0: per, p1: per });
    const b = new Partitions({ p2: per, p3: per });
    const events: { who: string; e: PipelineEvent }[] = [];
    const open = async (who: string, source: Partitions) => {
      const pipeline = await Pipeline.open({ config: config(dir, 1000), catalog, source, onEvent: (e) => events.push({ who, e }) });
      source.whenDrained = () => pipeline.stop();
      return pipeline;
    };
    const pa = await open('a', a);
    const pb = await open('b', b);
    const [ra, rb] = await Promise.allSettled([pa.run(), pb.run()]);
    assert.equal(ra.status, 'fulfilled', ra.status === 'rejected' ? String(ra.reason) : '');
    assert.equal(rb.status, 'fulfilled', rb.status === 'rejected' ? String(rb.reason) : '');
    assert.equal(a.rewinds + b.rewinds, 0, 'nobody was fenced');
    assert.deepEqual(events.filter(({ e }) => e.type === 'rewound'), []);
    const commits = events.filter(({ e }) => e.type === 'commit');
    assert.ok(commits.filter(({ who }) => who === 'a').length >= 6 && commits.filter(({ who }) => who === 'b').length >= 6, `commits: ${commits.length}`);

    // Interleaved: walking the history, the writer (which shards moved) changes several times.
    const md = (await Table.load(catalog, { namespace: ['db'], name: 't' })).metadata;
    const head = snapshotForRef(md, 'main')!;
    const chain = [...ancestors(md, head['snapshot-id'])].reverse();
    let switches = 0;
    let lastWriter: string | undefined;
    let previous = new Map<string, string>();
    for (const snap of chain) {
      const positions = readCheckpoint(snap, 's');
      const moved = [...positions.keys()].filter((p) => positions.get(p) !== previous.get(p));
      // A snapshot moves the shards of one writer only, and keeps every other shard's position.
      const writer = moved.every((p) => p === 'p0' || p === 'p1') ? 'a' : moved.every((p) => p === 'p2' || p === 'p3') ? 'b' : 'both';
      assert.notEqual(writer, 'both', `snapshot ${snap['snapshot-id']} moved ${moved.join(',')}`);
      for (const [p, pos] of previous) assert.ok(positions.has(p), `snapshot ${snap['snapshot-id']} lost the position of ${p} (${pos})`);
      if (lastWriter !== undefined && writer !== lastWriter) switches++;
      lastWriter = writer;
      previous = positions;
    }
    assert.ok(switches >= 2, `writers alternated ${switches} times`);
    assert.deepEqual(Object.fromEntries(readCheckpoint(head, 's')), { p0: '2999', p1: '2999', p2: '2999', p3: '2999' });
    assert.deepEqual(await counts(catalog), [4 * per - 1, 4 * per - 1, 1]);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('shard fencing: a zombie holding an old position of a moved shard is fenced there, drops its rows, no duplicate', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-shard-zombie-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    // The zombie opens first: its token for p0 is "no position".
    const zombie = new Partitions({ p0: 100, p1: 50 });
    const zombieEvents: PipelineEvent[] = [];
    const z = await Pipeline.open({ config: config(dir, 10_000), catalog, source: zombie, onEvent: (e) => zombieEvents.push(e) });
    // Meanwhile another writer takes p0 and commits it up to 79.
    const other = new Partitions({ p0: 80 });
    const o = await Pipeline.open({ config: config(dir, 10_000), catalog, source: other });
    other.whenDrained = () => o.stop();
    await o.run();
    assert.deepEqual(await counts(catalog), [79, 79, 1], 'p0 0..79, record 50 a dead letter');

    // The zombie wakes up with p0 0..99 (record 50 a dead letter again) and p1 0..49 read: its
    // commit is fenced on p0 only, before its dead letters are committed.
    zombie.whenDrained = () => {
      if (zombie.rewinds > 0) z.stop();
    };
    await z.run();
    const rewound = zombieEvents.filter((e) => e.type === 'rewound');
    assert.equal(rewound.length, 1, JSON.stringify(rewound));
    const r = rewound[0]!;
    assert.ok(r.type === 'rewound');
    assert.deepEqual(r.fenced, ['p0']);
    assert.equal(r.dropped, 149, 'every uncommitted row was dropped');
    assert.deepEqual(r.positions, { p0: '79' });
    assert.match(r.reason, /fenced: .*p0: expected \(none\), table has 79/);
    // Read again from the table: p0 80..99 and all of p1, each once; record 50 dead-lettered once.
    assert.deepEqual(await counts(catalog), [149, 149, 1]);
    const md = (await Table.load(catalog, { namespace: ['db'], name: 't' })).metadata;
    assert.deepEqual(Object.fromEntries(readCheckpoint(snapshotForRef(md, 'main'), 's')), { p0: '99', p1: '49' });
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
