/**
 * A partitioned table: `day(event_time), bucket(4, user_id)`. Every commit adds exactly one data
 * file per partition it touches, each file holds only rows of its partition (checked by reading
 * the Parquet file and applying the transforms to its rows), and the rows are exactly the records
 * sent — including rows whose partition values are null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { readManifest } from '../../src/iceberg/avro/manifest.js';
import { readManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { applyTransform, parseTransform } from '../../src/iceberg/transforms.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { sqlString } from '../../src/duckdb/instance.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { Table } from '../../src/table/table.js';
import { clientFor, createStream, startLocal, waitFor } from '../source/kinesis-test-helpers.js';

const STREAM = 'partitioned-events';
const DAYS = ['2026-01-06', '2026-01-07', '2026-01-08'];

interface Sent {
  event_id: string;
  user_id: string | null;
  event_time: string | null;
}

/** Event `i`: spread over three days (some right at midnight) and 13 users; a few without user or time. */
function event(i: number): Sent {
  const day = DAYS[i % 3]!;
  const time = i % 10 === 0 ? '00:00:00' : i % 10 === 1 ? '23:59:59.999999' : `${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:07`;
  return {
    event_id: `evt_${i}`,
    user_id: i % 37 === 5 ? null : `user_${i % 13}`,
    event_time: i % 41 === 7 ? null : `${day}T${time}Z`,
  };
}

function entries(from: number, count: number) {
  return Array.from({ length: count }, (_, k) => {
    const e = event(from + k);
    const body: Record<string, unknown> = { event_id: e.event_id, payload: { user: e.user_id }, ts: e.event_time };
    return { data: new TextEncoder().encode(JSON.stringify(body)), partitionKey: `pk_${from + k}` };
  });
}

test('partitioned table: one file per partition per commit, rows in their partition, nothing lost', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-part-'));
  const local = await startLocal();
  const client = clientFor(local.url, 3);
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await createStream(client, STREAM, 2);
    const config = validateConfig({
      source: { stream: STREAM, endpoint: local.url },
      catalog: { warehouse: dir },
      table: { name: 'db.events', partition_by: 'day(event_time), bucket(4, user_id)' },
      transform: {
        columns: {
          event_id: { type: 'string', required: true },
          user_id: { type: 'string', path: 'payload.user' },
          event_time: { type: 'timestamptz', path: 'ts' },
        },
      },
      commit: { interval: '300ms' },
    });

    let committed = 0;
    const commits: { snapshotId: string; records: number; files: number }[] = [];
    const pipeline = await Pipeline.open({
      config,
      catalog,
      source: new KinesisSource({ client: clientFor(local.url, 3), streamName: STREAM, discoveryIntervalMs: 1000, idleDelayMs: 50 }),
      onEvent: (e) => {
        if (e.type === 'commit') {
          committed += e.records;
          commits.push({ snapshotId: e.snapshotId, records: e.records, files: e.files });
        }
      },
    });
    const running = pipeline.run();
    // Two bursts, so that there are several commits.
    await putRecords(client, { streamName: STREAM }, entries(0, 300));
    await waitFor(() => committed >= 300, 20_000, `300 records committed (have ${committed})`);
    await putRecords(client, { streamName: STREAM }, entries(300, 200));
    await waitFor(() => committed >= 500, 20_000, `500 records committed (have ${committed})`);
    pipeline.stop();
    await running;
    assert.ok(commits.length >= 2, `several commits (${commits.length})`);
    // 3 days x 4 buckets, plus null days and null buckets: a commit of the first burst spans most.
    assert.ok(Math.max(...commits.map((c) => c.files)) >= 12, `files per commit: ${commits.map((c) => c.files).join(',')}`);

    const table = await Table.load(catalog, { namespace: ['db'], name: 'events' });
    const spec = table.spec();
    assert.deepEqual(
      spec.fields.map((f) => [f.name, f.transform]),
      [
        ['event_time_day', 'day'],
        ['user_id_bucket', 'bucket[4]'],
      ],
    );
    const schema = table.schema();
    const sourceType = (id: number) => schema.fields.find((f) => f.id === id)!.type;
    const transforms = spec.fields.map((f) => ({ t: parseTransform(f.transform), type: sourceType(f['source-id']) }));

    const engine = await QueryEngine.open();
    try {
      const seen = new Map<string, { user_id: string | null; event_time_us: bigint | null }>();
      const md = table.metadata;
      let appendSnapshots = 0;
      for (const snap of md.snapshots) {
        const commit = commits.find((c) => c.snapshotId === snap['snapshot-id'].toString());
        assert.ok(commit, `snapshot ${snap['snapshot-id']} was made by this run`);
        appendSnapshots++;
        const manifests = readManifestList(await table.io.read(snap['manifest-list']!));
        const added = [];
        for (const m of manifests.filter((x) => x.added_snapshot_id === snap['snapshot-id'])) {
          const { entries: es } = readManifest(await table.io.read(m.manifest_path));
          added.push(...es.filter((e) => e.status === 1).map((e) => e.data_file));
        }
        // One file per partition in this commit.
        const keys = added.map((f) => JSON.stringify(f.partition));
        assert.equal(new Set(keys).size, keys.length, `snapshot ${snap['snapshot-id']}: one file per partition (${keys.join(' ')})`);
        assert.equal(added.length, commit.files);
        assert.equal(
          added.reduce((s, f) => s + f.record_count, 0),
          commit.records,
        );

        // Each file holds only rows of its partition, and the rows it declares.
        const partitionsOfRows = new Set<string>();
        for (const f of added) {
          const r = await engine.query(`SELECT event_id, user_id, epoch_us(event_time) FROM read_parquet(${sqlString(await table.io.localPath(f.file_path))})`);
          assert.equal(r.rows.length, f.record_count, `${f.file_path}: record_count`);
          for (const [id, user, us] of r.rows as [string, string | null, bigint | null][]) {
            const values = [us, user];
            const partition = transforms.map(({ t, type }, i) => applyTransform(t, type, values[i] ?? null));
            assert.deepEqual(partition, f.partition, `${id} is in its partition's file`);
            partitionsOfRows.add(JSON.stringify(partition));
            assert.ok(!seen.has(id), `${id} written once`);
            seen.set(id, { user_id: user, event_time_us: us });
          }
        }
        assert.equal(partitionsOfRows.size, added.length, 'as many files as partitions among the rows');
      }
      assert.equal(appendSnapshots, commits.length);

      // Every record, with the right values; null partition values included.
      assert.equal(seen.size, 500);
      for (let i = 0; i < 500; i++) {
        const e = event(i);
        const row = seen.get(e.event_id);
        assert.ok(row, `${e.event_id} present`);
        assert.equal(row.user_id, e.user_id);
        assert.equal(row.event_time_us, e.event_time === null ? null : BigInt(Date.parse(e.event_time)) * 1000n + (e.event_time.endsWith('.999999Z') ? 999n : 0n));
      }
      const nullPartitions = [...seen.values()].filter((r) => r.user_id === null || r.event_time_us === null).length;
      assert.ok(nullPartitions > 10, `rows with null partition values were written (${nullPartitions})`);

    } finally {
      engine.close();
    }

    // Through the catalog and the scan planner (partition pruning on the day filter): the same rows.
    const byCatalog = await QueryEngine.open({ catalog });
    try {
      const r = await byCatalog.query(
        `SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE event_time >= TIMESTAMPTZ '2026-01-07 00:00:00+00' AND event_time < TIMESTAMPTZ '2026-01-08 00:00:00+00') FROM db.events`,
      );
      const expectedDay2 = Array.from({ length: 500 }, (_, i) => event(i)).filter((e) => e.event_time?.startsWith('2026-01-07')).length;
      assert.deepEqual(r.rows, [[500n, 500n, BigInt(expectedDay2)]]);
    } finally {
      byCatalog.close();
    }
  } finally {
    client.destroy();
    await catalog.close();
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});
