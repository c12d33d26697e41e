/**
 * Decodes every manifest list and manifest of the tables written by Spark and Iceberg Java in
 * ../shared/fixtures/iceberg-tables, and cross-checks them against each other and against the
 * expected results recorded with the tables.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { inheritSequenceNumbers, readManifest, type ManifestContents } from '../../../src/iceberg/avro/manifest.js';
import { readManifestList } from '../../../src/iceberg/avro/manifest-list.js';
import { parseJson } from '../../../src/iceberg/json.js';
import type { ManifestEntry, ManifestFile } from '../../../src/iceberg/manifest-types.js';
import { fixturePath, SKIP_NO_SHARED } from '../../helpers/shared.js';

interface TableFixture {
  name: string;
  metadata: string;
  pathPrefix: string;
  localRoot: string;
  expected: { count: number; snapshotCounts?: Record<string, number> };
}

interface Snapshot {
  id: bigint;
  manifests: { file: ManifestFile; contents: ManifestContents; entries: ManifestEntry[] }[];
}

interface LoadedTable {
  fixture: TableFixture;
  formatVersion: number;
  currentSnapshotId: bigint;
  snapshots: Snapshot[];
}

function tables(): TableFixture[] {
  const m = JSON.parse(readFileSync(fixturePath('iceberg-tables', 'manifest.json'), 'utf8')) as { tables: TableFixture[] };
  return m.tables;
}

function load(t: TableFixture): LoadedTable {
  const root = fixturePath('iceberg-tables', t.localRoot);
  const local = (p: string) => {
    assert.ok(p.startsWith(t.pathPrefix), `${p} starts with ${t.pathPrefix}`);
    return join(root, p.slice(t.pathPrefix.length));
  };
  const md = parseJson(readFileSync(join(root, t.metadata), 'utf8')) as Record<string, unknown>;
  const snapshots = (md.snapshots as Record<string, unknown>[]).map((s) => {
    const listPath = local(s['manifest-list'] as string);
    const list = readManifestList(readFileSync(listPath), listPath);
    return {
      id: BigInt(s['snapshot-id'] as number | bigint),
      manifests: list.map((file) => {
        const path = local(file.manifest_path);
        const bytes = readFileSync(path);
        assert.equal(bytes.length, file.manifest_length, `${path}: manifest_length`);
        const contents = readManifest(bytes, path);
        return { file, contents, entries: inheritSequenceNumbers(contents.entries, file) };
      }),
    };
  });
  return {
    fixture: t,
    formatVersion: md['format-version'] as number,
    currentSnapshotId: BigInt(md['current-snapshot-id'] as number | bigint),
    snapshots,
  };
}

const byName = (name: string): LoadedTable => {
  const t = tables().find((x) => x.name === name);
  assert.ok(t, name);
  return load(t);
};

const live = (s: Snapshot, content: 0 | 1) =>
  s.manifests.filter((m) => m.file.content === content).flatMap((m) => m.entries.filter((e) => e.status !== 2));

test('fixtures: every .avro file in every table metadata dir decodes', { skip: SKIP_NO_SHARED }, () => {
  let lists = 0;
  let manifests = 0;
  for (const t of tables()) {
    const dir = dirname(join(fixturePath('iceberg-tables', t.localRoot), t.metadata));
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.avro')).sort()) {
      const bytes = readFileSync(join(dir, f));
      if (f.startsWith('snap-')) {
        const list = readManifestList(bytes, f);
        assert.ok(list.length > 0, `${f} lists manifests`);
        lists++;
      } else {
        const m = readManifest(bytes, f);
        assert.ok(m.entries.length > 0, `${f} has entries`);
        assert.ok(m.meta.schemaJson?.startsWith('{'), `${f}: schema metadata`);
        assert.ok(m.meta.partitionSpecJson?.startsWith('['), `${f}: partition-spec metadata`);
        manifests++;
      }
    }
  }
  assert.equal(lists, 22);
  assert.equal(manifests, 29);
});

test('fixtures: manifest-list counts agree with the manifests they describe', { skip: SKIP_NO_SHARED }, () => {
  for (const t of tables()) {
    const table = load(t);
    for (const s of table.snapshots) {
      for (const { file, contents, entries } of s.manifests) {
        const what = `${t.name}: ${file.manifest_path}`;
        const count = (status: number) => contents.entries.filter((e) => e.status === status);
        const rows = (es: ManifestEntry[]) => es.reduce((n, e) => n + e.data_file.record_count, 0);
        assert.equal(file.added_files_count, count(1).length, `${what}: added`);
        assert.equal(file.existing_files_count, count(0).length, `${what}: existing`);
        assert.equal(file.deleted_files_count, count(2).length, `${what}: deleted`);
        assert.equal(file.added_rows_count, rows(count(1)), `${what}: added rows`);
        assert.equal(file.deleted_rows_count, rows(count(2)), `${what}: deleted rows`);
        assert.equal(contents.meta.partitionSpecId, file.partition_spec_id, `${what}: spec id`);
        assert.equal(contents.meta.formatVersion, table.formatVersion, `${what}: format version`);
        if (table.formatVersion >= 2) {
          assert.equal(contents.meta.content, file.content === 0 ? 'data' : 'deletes', `${what}: content`);
        }
        // Partition tuples have one value per spec field.
        const specFields = JSON.parse(contents.meta.partitionSpecJson!) as unknown[];
        for (const e of entries) {
          assert.equal(e.data_file.partition.length, specFields.length, `${what}: partition arity`);
          assert.equal(e.data_file.content === 0, file.content === 0, `${what}: file content matches manifest content`);
          // After inheritance nothing is null any more.
          assert.equal(typeof e.snapshot_id, 'bigint');
          assert.equal(typeof e.sequence_number, 'bigint');
          assert.equal(typeof e.file_sequence_number, 'bigint');
          if (e.status === 1) {
            assert.equal(e.sequence_number, file.sequence_number, `${what}: ADDED entries inherit the manifest sequence number`);
          }
        }
        if (file.partitions) assert.equal(file.partitions.length, specFields.length, `${what}: one summary per partition field`);
      }
    }
  }
});

test('fixtures: live rows per snapshot match the expected counts of tables without deletes', { skip: SKIP_NO_SHARED }, () => {
  for (const name of ['spark_v1_cow_schemaevol', 'spark_bucket_rename_column', 'spark_partition_evolution_missing_cols']) {
    const table = byName(name);
    const expected = table.fixture.expected;
    for (const s of table.snapshots) {
      assert.equal(live(s, 1).length, 0, `${name}: no delete files`);
      const rows = live(s, 0).reduce((n, e) => n + e.data_file.record_count, 0);
      const want = expected.snapshotCounts?.[s.id.toString()] ?? (s.id === table.currentSnapshotId ? expected.count : undefined);
      if (want !== undefined) assert.equal(rows, want, `${name}: snapshot ${s.id}`);
    }
    const current = table.snapshots.find((s) => s.id === table.currentSnapshotId)!;
    assert.equal(
      live(current, 0).reduce((n, e) => n + e.data_file.record_count, 0),
      expected.count,
      `${name}: current snapshot`,
    );
  }
});

test('fixtures: spark_v1_cow_schemaevol is v1 with DELETED entries and no sequence numbers', { skip: SKIP_NO_SHARED }, () => {
  const table = byName('spark_v1_cow_schemaevol');
  assert.equal(table.formatVersion, 1);
  assert.equal(table.snapshots.length, 7);
  let deleted = 0;
  for (const s of table.snapshots) {
    for (const { file, contents, entries } of s.manifests) {
      assert.equal(file.sequence_number, 0n, 'v1 lists read as sequence number 0');
      assert.equal(file.min_sequence_number, 0n);
      assert.equal(file.content, 0);
      assert.equal(contents.meta.content, undefined, 'v1 manifests have no content metadata');
      for (const e of contents.entries) {
        assert.equal(e.sequence_number, null);
        assert.equal(e.data_file.content, 0);
        assert.notEqual(e.snapshot_id, null, 'v1 entries always carry a snapshot id');
      }
      // v1: inheritance gives every entry (not only ADDED) sequence number 0.
      for (const e of entries) assert.equal(e.sequence_number, 0n);
      deleted += contents.entries.filter((e) => e.status === 2).length;
    }
  }
  assert.ok(deleted > 0, 'DELETED (status 2) entries are present');
  const current = table.snapshots.find((s) => s.id === table.currentSnapshotId)!;
  assert.equal(live(current, 0).length, 1, 'one live data file');
});

test('fixtures: spark_v2_posdeletes_schemaevol has 5 live data files and 3 position-delete files', { skip: SKIP_NO_SHARED }, () => {
  const table = byName('spark_v2_posdeletes_schemaevol');
  assert.equal(table.formatVersion, 2);
  const current = table.snapshots.find((s) => s.id === table.currentSnapshotId)!;
  assert.equal(live(current, 0).length, 5);
  const deletes = live(current, 1);
  assert.equal(deletes.length, 3);
  for (const d of deletes) {
    assert.equal(d.data_file.content, 1);
    assert.equal(d.data_file.file_format, 'PARQUET');
  }
  // Written with null sequence numbers; inheritance gives each file its commit's sequence number.
  const seqs = table.snapshots.map((s) => s.manifests.flatMap((m) => m.contents.entries.map((e) => e.sequence_number)));
  assert.ok(seqs.flat().some((x) => x === null));
  const dataSeqs = live(current, 0)
    .map((e) => e.sequence_number!)
    .sort((a, b) => (a < b ? -1 : 1));
  assert.deepEqual(dataSeqs, [1n, 2n, 3n, 5n, 7n]);
  // Metrics decode to maps keyed by field id; bounds are bytes.
  const first = live(current, 0)[0]!.data_file;
  assert.ok(first.value_counts instanceof Map && first.value_counts.size > 0);
  assert.ok(first.lower_bounds instanceof Map && [...first.lower_bounds.values()].every((b) => b instanceof Uint8Array));
});

test('fixtures: java_eq_deletes_partitioned has partition-scoped equality deletes', { skip: SKIP_NO_SHARED }, () => {
  const table = byName('java_eq_deletes_partitioned');
  assert.equal(table.snapshots.length, 5);
  const current = table.snapshots.find((s) => s.id === table.currentSnapshotId)!;
  const data = live(current, 0);
  const deletes = live(current, 1);
  assert.equal(data.length, 6);
  assert.equal(deletes.length, 3);
  for (const d of deletes) {
    assert.equal(d.data_file.content, 2, 'equality deletes');
    assert.ok(d.data_file.equality_ids && d.data_file.equality_ids.length > 0, 'equality_ids');
    assert.equal(typeof d.data_file.partition[0], 'string', 'identity(name) partition');
  }
  // Delete files apply to older data in the same partition: (partition, equality ids, data seq).
  assert.deepEqual(
    deletes.map((d) => [d.data_file.partition[0], d.data_file.equality_ids, d.sequence_number]).sort(),
    [
      ['b', [2], 2n],
      ['c', [2, 1], 3n],
      ['f', [2], 5n],
    ],
  );
  assert.deepEqual(
    data.map((e) => e.data_file.partition[0]).sort(),
    ['a', 'b', 'c', 'd', 'e', 'f'],
  );
});

test('fixtures: spark_bucket_rename_column partition tuples (bucket, date, null)', { skip: SKIP_NO_SHARED }, () => {
  const table = byName('spark_bucket_rename_column');
  const [s] = table.snapshots;
  const [m] = s!.manifests;
  const tuples = m!.entries.map((e) => e.data_file.partition).sort((a, b) => Number(a[0]) - Number(b[0]));
  assert.deepEqual(tuples, [
    [0, 18993],
    [2, 18994],
    [3, null],
  ]);
  const sum = m!.file.partitions!;
  // bucket: ints 0..3; date: 18993..18994 with a null.
  assert.deepEqual(sum[0], {
    contains_null: false,
    contains_nan: false,
    lower_bound: Uint8Array.of(0, 0, 0, 0),
    upper_bound: Uint8Array.of(3, 0, 0, 0),
  });
  assert.deepEqual(sum[1], {
    contains_null: true,
    contains_nan: false,
    lower_bound: Uint8Array.of(0x31, 0x4a, 0, 0),
    upper_bound: Uint8Array.of(0x32, 0x4a, 0, 0),
  });
});

test('fixtures: spark_partition_evolution_missing_cols has manifests of two specs', { skip: SKIP_NO_SHARED }, () => {
  const table = byName('spark_partition_evolution_missing_cols');
  const current = table.snapshots.find((s) => s.id === table.currentSnapshotId)!;
  const bySpec = new Map<number, ManifestEntry[]>();
  for (const m of current.manifests) bySpec.set(m.file.partition_spec_id, [...(bySpec.get(m.file.partition_spec_id) ?? []), ...m.entries]);
  assert.deepEqual([...bySpec.keys()].sort(), [0, 1]);
  assert.deepEqual(bySpec.get(0)!.map((e) => e.data_file.partition).sort(), [[19723], [19724]]);
  assert.deepEqual(
    bySpec
      .get(1)!
      .map((e) => e.data_file.partition.join(' '))
      .sort(),
    ['19725 click', '19725 view', '19726 purchase', '19726 view'],
  );
});
