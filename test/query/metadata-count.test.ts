/**
 * `SELECT count(*) FROM t` from metadata (`query/metadata-count.ts`): only the bare statement is
 * taken (DuckDB's parser decides); a table without deletes or with deletion vectors only is
 * counted without reading a data file (proved by removing one: the count still answers, a count
 * of a column fails); equality deletes send the count to DuckDB (the metadata sum would be
 * wrong, the answer is right); the column is named as DuckDB names it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { DuckDB } from '../../src/duckdb/instance.js';
import { QueryEngine } from '../../src/query/engine.js';
import { bareCountTarget } from '../../src/query/metadata-count.js';
import { commitDeletes, equalityDeleteFile, rows, withTable } from '../maintenance/helpers.js';
import { appendFiles, deletionVectors } from '../maintenance/v3-helpers.js';

test('only a bare count(*) of one table is taken, as DuckDB parses it', async () => {
  const db = await DuckDB.open({ threads: 1 });
  try {
    const taken: [string, string | undefined, string, string][] = [
      ['SELECT count(*) FROM db.events', 'db', 'events', 'count_star()'],
      ['select COUNT( * ) as n from "db"."events";', 'db', 'events', 'n'],
      ['-- how many\nSELECT count(*) AS "rows" FROM t', undefined, 't', 'rows'],
    ];
    for (const [sql, schema, table, column] of taken) assert.deepEqual(await bareCountTarget(db, sql), { schema, table, column }, sql);
    for (const sql of [
      'SELECT count(*) FROM db.events WHERE event_id > 1',
      'SELECT count(*) FROM db.events GROUP BY user_id',
      'SELECT count(event_id) FROM db.events',
      'SELECT count(*), 1 FROM db.events',
      'SELECT count(*) FROM db.events LIMIT 1',
      'SELECT DISTINCT count(*) FROM db.events',
      'SELECT count(*) FILTER (WHERE event_id > 1) FROM db.events',
      'SELECT count(*) FROM db.events a JOIN db.events b USING (event_id)',
      'SELECT count(*) FROM (SELECT * FROM db.events)',
      'SELECT count(*) FROM db.events; SELECT 1',
      'WITH x AS (SELECT 1) SELECT count(*) FROM db.events',
      'SELECT count(*) FROM db.events USING SAMPLE 10%',
      'SELECT count(*) FROM',
    ]) {
      assert.equal(await bareCountTarget(db, sql), undefined, sql);
    }
    // The name DuckDB itself gives the column.
    const own = await db.withConnection(async (c) => (await c.runAndReadAll('SELECT count(*) FROM range(3)')).deduplicatedColumnNames());
    assert.deepEqual(own, ['count_star()']);
  } finally {
    db.close();
  }
});


test('v3 with deletion vectors: count(*) from metadata, no data file read; equality deletes go to DuckDB', async () => {
  await withTable(
    async ({ table, catalog }) => {
      const [a] = await appendFiles(table, 0, 50);
      const [b] = await appendFiles(table, 50, 30);
      const vectors = await deletionVectors(table, [
        [a!, [0, 1, 2]],
        [b!, [29]],
      ]);
      await table.refresh();
      await table.newRowDelta().addDeletes(vectors[0]!).addDeletes(vectors[1]!).commit();

      const engine = await QueryEngine.open({ catalog, threads: 1 });
      try {
        const viaDuckDB = await engine.query('SELECT count(*) AS n FROM (SELECT * FROM db.events)');
        assert.deepEqual(viaDuckDB.rows, [[76n]]);
        assert.deepEqual(await engine.query('SELECT count(*) AS n FROM db.events'), { columns: ['n'], rows: [[76n]] });
        // Without a data file the metadata still counts; anything that reads rows fails.
        await rm(b!.file_path);
        assert.deepEqual(await engine.query('select COUNT(*) from db.events'), { columns: ['count_star()'], rows: [[76n]] });
        await assert.rejects(engine.query('SELECT count(event_id) FROM db.events'));
      } finally {
        engine.close();
      }
    },
    { formatVersion: 3 },
  );
});

test('equality deletes: the count is DuckDB\'s (the metadata sum would count deleted rows)', async () => {
  await withTable(async ({ table, catalog }) => {
    await appendFiles(table, 0, 20);
    // Three delete rows, one of a key no row has: 18 rows stay (a metadata sum would say 20 or 17).
    await commitDeletes(table, [await equalityDeleteFile(table, [String(rows(3, 1)[0]![0]), String(rows(4, 1)[0]![0]), 'evt_none'])]);
    const engine = await QueryEngine.open({ catalog, threads: 1 });
    try {
      assert.deepEqual((await engine.query('SELECT count(*) FROM db.events')).rows, [[18n]]);
    } finally {
      engine.close();
    }
  });
});
