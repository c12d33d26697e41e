/**
 * The table-metadata test vectors (`../shared/fixtures/vectors/table-metadata`, vectors.md §8)
 * through `floe query`: every invalid file fails with exit code 1 and a one-line message that
 * names the file and the problem (the phrase the reference parser uses), never a stack trace,
 * whether the file is passed itself, as `metadata/v1.metadata.json` of a table directory, or as
 * that directory; every valid file opens as a table with the right columns and no rows.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import { assertFails, cliJson, runCli } from '../cli/helpers.js';
import { fixturePath, sharedDir, SKIP_NO_SHARED } from '../helpers/shared.js';

const dir = () => fixturePath('vectors', 'table-metadata');

/**
 * The invalid vectors and their expected phrases, read from vectors.md §8
 * (`* V2MissingSchemas → "schemas must exist in format v2"`), so the doc and the test cannot drift.
 */
function invalidVectors(): { file: string; phrase: string }[] {
  const doc = readFileSync(join(sharedDir()!, 'fixtures', 'vectors.md'), 'utf8');
  const start = doc.indexOf('## 8.');
  if (start < 0) throw new Error('test: vectors.md has no section 8');
  const next = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);
  const invalid = section.slice(section.indexOf('* Invalid'));
  return [...invalid.matchAll(/^\s+\* (\w+) → "([^"]+)"/gm)].map((m) => ({ file: `TableMetadata${m[1]}.json`, phrase: m[2]! }));
}

/** Valid vectors that have no snapshot: they open as empty tables as they are. */
const VALID_EMPTY = ['TableMetadataV1Valid.json', 'TableMetadataV2ValidMinimal.json', 'TableMetadataV3ValidMinimal.json'];
/** Valid vectors whose snapshots name manifest lists that do not exist here (s3://…, templates). */
const VALID_WITH_SNAPSHOTS = [
  'TableMetadataV2Valid.json',
  'TableMetadataStatisticsFiles.json',
  'TableMetadataPartitionStatisticsFiles.json',
  'example_table_metadata_v2_partition_evolution.json',
];
/** Valid, but needs a v3-only feature floe does not have (an encrypted manifest list). */
const VALID_ENCRYPTED = 'TableMetadataV3ValidEncryption.json';

/** Column name → DuckDB type expected for an Iceberg primitive of these vectors. */
const DUCKDB_TYPE: Record<string, string> = { long: 'BIGINT', int: 'INTEGER', string: 'VARCHAR', double: 'DOUBLE', boolean: 'BOOLEAN' };

describe('table-metadata vectors through floe query', { skip: SKIP_NO_SHARED }, () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'floe-md-vectors-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  /** Copies a vector into `<tmp>/<name>/metadata/v1.metadata.json` and returns the table dir. */
  function asTableDir(file: string): string {
    const table = join(tmp, file.replace(/\.json$/, ''));
    mkdirSync(join(table, 'metadata'), { recursive: true });
    copyFileSync(join(dir(), file), join(table, 'metadata', 'v1.metadata.json'));
    return table;
  }

  test('every vector is covered: the invalid ones of vectors.md §8 and the valid ones', () => {
    const invalid = invalidVectors();
    assert.equal(invalid.length, 7, 'vectors.md §8 lists 7 invalid files');
    const files = readdirSync(dir()).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, [...invalid.map((v) => v.file), ...VALID_EMPTY, ...VALID_WITH_SNAPSHOTS, VALID_ENCRYPTED].sort());
  });

  for (const { file, phrase } of SKIP_NO_SHARED ? [] : invalidVectors()) {
    test(`${file} fails with "${phrase}", exit code 1, no stack trace`, async () => {
      const table = asTableDir(file);
      const locations = [join(dir(), file), join(table, 'metadata', 'v1.metadata.json'), table];
      for (const location of locations) {
        const r = await runCli(['query', '--table', `t=${location}`, '--format', 'json', 'SELECT * FROM t']);
        assertFails(r, 1, new RegExp(phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        assert.equal(r.stdout, '', 'nothing on stdout');
        // One line: `floe: metadata: <the metadata file>: <the problem>`.
        const file = location === table ? join(table, 'metadata', 'v1.metadata.json') : location;
        assert.ok(r.stderr.startsWith(`floe: metadata: ${file}: `), r.stderr);
        assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
      }
    });
  }

  for (const file of VALID_EMPTY) {
    test(`${file} opens: no rows, the schema's columns`, { skip: SKIP_NO_SHARED }, async () => {
      const md = parseTableMetadata(readFileSync(join(dir(), file), 'utf8'), file);
      const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id'])!;
      const expected = schema.fields.map((f) => ({ column_name: f.name, column_type: DUCKDB_TYPE[f.type as string] }));
      for (const location of [join(dir(), file), asTableDir(file)]) {
        assert.deepEqual(await cliJson(['query', '--table', `t=${location}`, 'SELECT count(*) AS n FROM t']), [{ n: 0 }]);
        assert.deepEqual(await cliJson(['query', '--table', `t=${location}`, 'SELECT * FROM t']), []);
        const cols = await cliJson(['query', '--table', `t=${location}`, 'SELECT column_name, column_type FROM (DESCRIBE t)']);
        assert.deepEqual(cols, expected, location);
      }
    });
  }

  for (const file of VALID_WITH_SNAPSHOTS) {
    test(`${file} opens once its manifest lists exist (--path-map): no rows, the current schema's columns`, { skip: SKIP_NO_SHARED }, async () => {
      const md = parseTableMetadata(readFileSync(join(dir(), file), 'utf8'), file);
      // Without the manifest lists: a clear error naming the missing file, not a crash.
      const current = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id'])!;
      assertFails(await runCli(['query', '--table', `t=${join(dir(), file)}`, 'SELECT 1 FROM t']), 1, new RegExp(current['manifest-list']!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      // Empty manifest lists in a temp dir, mapped from the locations the metadata names.
      const maps: string[] = [];
      for (const [k, s] of md.snapshots.entries()) {
        const local = join(tmp, `${file}-${k}.avro`);
        const bytes = writeManifestList({
          formatVersion: md['format-version'] === 1 ? 1 : 2,
          snapshotId: s['snapshot-id'],
          parentSnapshotId: s['parent-snapshot-id'] ?? null,
          sequenceNumber: s['sequence-number'] ?? 0n,
          manifests: [],
        });
        writeFileSync(local, bytes);
        maps.push('--path-map', `${s['manifest-list']!}=${local}`);
      }
      const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id'])!;
      const expected = schema.fields.map((f) => ({ column_name: f.name, column_type: DUCKDB_TYPE[f.type as string] }));
      const location = join(dir(), file);
      assert.deepEqual(await cliJson(['query', '--table', `t=${location}`, ...maps, 'SELECT count(*) AS n FROM t']), [{ n: 0 }]);
      assert.deepEqual(await cliJson(['query', '--table', `t=${location}`, ...maps, 'SELECT column_name, column_type FROM (DESCRIBE t)']), expected);
      // Every snapshot of the log can be selected.
      for (const s of md.snapshots) {
        const rows = await cliJson(['query', '--table', `t=${location}`, ...maps, '--snapshot-id', s['snapshot-id'].toString(), 'SELECT count(*) AS n FROM t']);
        assert.deepEqual(rows, [{ n: 0 }], `snapshot ${s['snapshot-id']}`);
      }
    });
  }

  test(`${VALID_ENCRYPTED} parses, but reading it is refused clearly (encrypted manifest list)`, { skip: SKIP_NO_SHARED }, async () => {
    const r = await runCli(['query', '--table', `t=${join(dir(), VALID_ENCRYPTED)}`, 'SELECT * FROM t']);
    assertFails(r, 1, /^floe: scan: snapshot 1 has an encrypted manifest list \(key [0-9a-f-]{36}\); floe cannot decrypt it\n$/);
  });
});
