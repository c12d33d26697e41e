/**
 * A pipeline whose config creates a format v3 table (`table.properties.format-version: "3"`):
 * its commits (checkpoint summaries included) carry row lineage, a second run on the same table
 * continues without trying to set the reserved property, and the rows read back.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { DrainingSource } from './harness.js';

const enc = new TextEncoder();
const ID = { namespace: ['db'], name: 'events' };

async function run(catalog: SqlCatalog, dir: string, from: number, n: number): Promise<void> {
  const source = new DrainingSource([
    {
      id: 'shardId-000000000000',
      length: from + n,
      record: (i) => ({ data: enc.encode(JSON.stringify({ event_id: `e${i}` })), partitionKey: 'k', arrivalTimeMs: 1_767_885_400_000 + i }),
    },
  ]);
  const config = validateConfig({
    source: { stream: 'events' },
    catalog: { warehouse: dir },
    table: { name: 'db.events', properties: { 'format-version': '3' } },
    transform: { columns: [{ name: 'event_id', type: 'string', required: true }] },
    commit: { interval: '1h' },
    dead_letter: { policy: 'fail' },
    maintenance: false,
  });
  const pipeline = await Pipeline.open({ config, catalog, source });
  source.onDrained = () => pipeline.stop();
  await pipeline.run();
}

test('config format-version 3: the pipeline creates a v3 table and commits with lineage, twice', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-pipeline-v3-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await run(catalog, dir, 0, 5);
    let md = (await catalog.loadTable(ID)).metadata;
    assert.equal(md['format-version'], 3);
    assert.equal(md['next-row-id'], 5n);
    // The second run starts after the checkpoint: 3 more rows.
    await run(catalog, dir, 5, 3);
    md = (await catalog.loadTable(ID)).metadata;
    assert.equal(md['next-row-id'], 8n);
    const withRows = md.snapshots.filter((s) => s.summary['added-records'] !== undefined);
    assert.deepEqual(
      withRows.map((s) => [s['first-row-id'], s['added-rows']]),
      [
        [0n, 5n],
        [5n, 3n],
      ],
    );
    assert.ok(md.snapshots.every((s) => s['first-row-id'] !== undefined && Object.keys(s.summary).some((k) => k.startsWith('floe.checkpoint.'))));
    const engine = await QueryEngine.open({ catalog });
    try {
      const r = await engine.query('SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM db.events');
      assert.deepEqual(r.rows.map((row) => row.map(Number)), [[8, 8]]);
    } finally {
      engine.close();
    }
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
