/**
 * Routing (issue #17 part 4) through real pipelines on one SQL catalog, from a memory source with
 * two shards: `where` conditions (=, IN, IS NULL, AND/OR/NOT), a record going to two tables, a
 * table-name template that creates tables only for names matching `name_pattern`, records no
 * entry takes going to the unrouted table with the reason; then a restart with more records and
 * a table added to the config: every table holds every record routed to it exactly once (the
 * new table reads the stream from the start, the others skip what they hold).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../../src/pipeline/config.js';
import type { PipelineEvent } from '../../src/pipeline/pipeline.js';
import { RoutedPipeline } from '../../src/pipeline/routed-pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { MemorySource } from '../../src/source/memory.js';
import { readCheckpoint } from '../../src/pipeline/checkpoint.js';
import { snapshotForRef } from '../../src/iceberg/snapshot.js';
import { Table } from '../../src/table/table.js';

const enc = new TextEncoder();
const TYPES = ['purchase', 'view', 'click', undefined, 'spam', null] as const;

/** Record i of shard s (ids unique over both shards). */
function event(s: number, i: number): Record<string, unknown> {
  const n = s * 100_000 + i;
  const e: Record<string, unknown> = { id: `e${n}`, amount: (n * 7) % 150 };
  const t = TYPES[n % TYPES.length];
  if (t !== undefined) e.event_type = t;
  return e;
}

const COLUMNS = { columns: { id: { type: 'string', required: true }, amount: 'double', event_type: 'string' } };

function config(dir: string, extra: object[] = []) {
  return validateConfig({
    source: { stream: 'events' },
    catalog: { warehouse: dir },
    commit: { interval: '200ms' },
    maintenance: false,
    tables: [
      { table: { name: 'db.purchases' }, where: "event_type = 'purchase'", transform: { columns: { id: { type: 'string', required: true }, amount: 'double' } } },
      { table: { name: 'db.events_{event_type}', name_pattern: 'db\\.events_(view|click)' }, transform: COLUMNS },
      { table: { name: 'db.big' }, where: "amount >= 100 AND NOT (event_type IS NULL OR event_type IN ('spam'))", transform: COLUMNS },
      ...extra,
    ],
  });
}

/** Runs until the tables have taken `rows` rows and `deadLetters` records went unrouted, then stops. */
async function run(catalog: SqlCatalog, dir: string, perShard: number, extra: object[], rows: number, deadLetters: number): Promise<PipelineEvent[]> {
  const source = new MemorySource({
    id: 'events',
    partitions: [0, 1].map((s) => ({ id: `shard-${s}`, length: perShard, record: (i: number) => ({ data: enc.encode(JSON.stringify(event(s, i))) }) })),
  });
  const events: PipelineEvent[] = [];
  const routed = await RoutedPipeline.open({ config: config(dir, extra), catalog, source, onEvent: (e) => events.push(e) });
  const done = routed.run();
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const s = routed.stats();
    if (s.records >= rows && s.deadLetters >= deadLetters) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  routed.stop();
  await done;
  return events;
}

async function ids(catalog: SqlCatalog, table: string): Promise<string[]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    return (await engine.query(`SELECT id FROM ${table}`)).rows.map((r) => String(r[0])).sort();
  } finally {
    engine.close();
  }
}

/** What each table must hold after `perShard` records per shard. */
function expectedTables(perShard: number) {
  const all = [0, 1].flatMap((s) => Array.from({ length: perShard }, (_, i) => event(s, i)));
  const pick = (f: (e: Record<string, unknown>) => boolean) => all.filter(f).map((e) => String(e.id)).sort();
  return {
    all: pick(() => true),
    purchases: pick((e) => e.event_type === 'purchase'),
    view: pick((e) => e.event_type === 'view'),
    click: pick((e) => e.event_type === 'click'),
    big: pick((e) => (e.amount as number) >= 100 && typeof e.event_type === 'string' && e.event_type !== 'spam'),
    unrouted: pick((e) => e.event_type !== 'purchase' && e.event_type !== 'view' && e.event_type !== 'click' && !((e.amount as number) >= 100 && typeof e.event_type === 'string' && e.event_type !== 'spam')),
  };
}

test('routing: where, fan-out, templates limited by name_pattern, unrouted records; a restart adds nothing twice', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-routing-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const e1 = expectedTables(300);
    const taken1 = e1.purchases.length + e1.view.length + e1.click.length + e1.big.length;
    const events = await run(catalog, dir, 300, [], taken1, e1.unrouted.length);
    assert.deepEqual(await ids(catalog, 'db.purchases'), e1.purchases);
    assert.deepEqual(await ids(catalog, 'db.events_view'), e1.view);
    assert.deepEqual(await ids(catalog, 'db.events_click'), e1.click);
    assert.deepEqual(await ids(catalog, 'db.big'), e1.big);
    assert.equal(await catalog.tableExists({ namespace: ['db'], name: 'events_spam' }), false, 'a name outside name_pattern is never created');
    assert.equal(await catalog.tableExists({ namespace: ['db'], name: 'events_purchase' }), false);
    const engine = await QueryEngine.open({ catalog });
    try {
      const rows = (await engine.query('SELECT text, error FROM db.unrouted')).rows;
      assert.deepEqual(rows.map((r) => String(JSON.parse(String(r[0])).id)).sort(), e1.unrouted);
      for (const [text, error] of rows) {
        const e = JSON.parse(String(text)) as Record<string, unknown>;
        if (e.event_type === undefined || e.event_type === null) assert.match(String(error), /^routing: no table takes the record: field 'event_type' of table template 'db\.events_\{event_type\}' is missing$/);
        else assert.match(String(error), /^routing: no table takes the record: table name 'db\.events_spam' from template 'db\.events_\{event_type\}' does not match table\.name_pattern$/);
      }
    } finally {
      engine.close();
    }
    assert.ok(events.some((e) => e.type === 'dead-letter' && /events_spam/.test(e.error)));

    // Every table carries positions of both shards, also the ones few records go to.
    for (const name of ['purchases', 'events_view', 'events_click', 'big', 'unrouted']) {
      const t = await Table.load(catalog, { namespace: ['db'], name });
      assert.deepEqual([...readCheckpoint(snapshotForRef(t.metadata, 'main'), 'events').keys()].sort(), ['shard-0', 'shard-1'], name);
    }

    // Restart with twice the records and a new table taking every record: the new one reads from
    // the start; the others skip what they hold.
    const e2 = expectedTables(600);
    const taken2 = e2.purchases.length + e2.view.length + e2.click.length + e2.big.length - taken1 + e2.all.length;
    const events2 = await run(catalog, dir, 600, [{ table: { name: 'db.all' }, transform: COLUMNS }], taken2, 0);
    assert.deepEqual(await ids(catalog, 'db.purchases'), e2.purchases);
    assert.deepEqual(await ids(catalog, 'db.events_view'), e2.view);
    assert.deepEqual(await ids(catalog, 'db.events_click'), e2.click);
    assert.deepEqual(await ids(catalog, 'db.big'), e2.big);
    assert.deepEqual(await ids(catalog, 'db.all'), e2.all);
    const unrouted = await ids(catalog, '(SELECT json_extract_string(text, \'$.id\') AS id FROM db.unrouted)');
    // db.all takes every record now: nothing more is unrouted, and what was stays once.
    assert.deepEqual(unrouted, e1.unrouted);
    assert.equal(events2.filter((e) => e.type === 'dead-letter').length, 0);
    const started = events2.filter((e) => e.type === 'started') as Extract<PipelineEvent, { type: 'started' }>[];
    assert.deepEqual(started.map((e) => e.table).sort(), ['db.all', 'db.big', 'db.events_click', 'db.events_view', 'db.purchases'], 'tables a template made are found at start');
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
