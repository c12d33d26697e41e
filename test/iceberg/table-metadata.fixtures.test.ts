/**
 * Table-metadata fixtures shared with the reference implementations (vectors.md §8): every valid
 * file parses and round-trips, every invalid one fails with Java's message, REST bodies and
 * engine-written tables parse too.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import { parseJson } from '../../src/iceberg/json.js';
import { parseTableMetadata, serializeTableMetadata } from '../../src/iceberg/table-metadata.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

const VALID = [
  'TableMetadataV1Valid.json',
  'TableMetadataV2Valid.json',
  'TableMetadataV2ValidMinimal.json',
  'TableMetadataV3ValidMinimal.json',
  'TableMetadataStatisticsFiles.json',
  'TableMetadataPartitionStatisticsFiles.json',
  'TableMetadataV3ValidEncryption.json',
  'example_table_metadata_v2_partition_evolution.json',
];

const INVALID: [string, string][] = [
  ['TableMetadataUnsupportedVersion.json', 'Cannot read unsupported version'],
  ['TableMetadataV2MissingPartitionSpecs.json', 'partition-specs must exist in format v2'],
  ['TableMetadataV2MissingLastPartitionId.json', 'last-partition-id must exist in format v2'],
  ['TableMetadataV2MissingSortOrder.json', 'sort-orders must exist in format v2'],
  ['TableMetadataV2MissingSchemas.json', 'schemas must exist in format v2'],
  ['TableMetadataV2CurrentSchemaNotFound.json', 'Cannot find schema with current-schema-id=2 from schemas'],
  ['TableMetadataV1MissingSchemaType.json', 'Cannot parse type from json'],
];

const read = (...parts: string[]) => readFileSync(fixturePath(...parts), 'utf8');

test('every fixture file is classified as valid or invalid', { skip: SKIP_NO_SHARED }, () => {
  const files = readdirSync(fixturePath('vectors', 'table-metadata')).sort();
  assert.deepEqual(files, [...VALID, ...INVALID.map(([f]) => f)].sort());
});

for (const file of VALID) {
  test(`valid fixture ${file} parses and round-trips`, { skip: SKIP_NO_SHARED }, () => {
    const md = parseTableMetadata(read('vectors', 'table-metadata', file), file);
    const text = serializeTableMetadata(md);
    const again = parseTableMetadata(text, `${file} (serialized)`);
    assert.deepEqual(again, md);
    // Serializing twice gives the same text: the output is canonical.
    assert.equal(serializeTableMetadata(again), text);
    // Also accepted as an already-parsed lossless JSON value.
    assert.deepEqual(parseTableMetadata(parseJson(text)), md);
  });
}

for (const [file, message] of INVALID) {
  test(`invalid fixture ${file} fails with "${message}"`, { skip: SKIP_NO_SHARED }, () => {
    assert.throws(
      () => parseTableMetadata(read('vectors', 'table-metadata', file), file),
      (e: unknown) => {
        assert.ok(e instanceof ValidationError, `expected ValidationError, got ${String(e)}`);
        assert.ok(e.message.startsWith(`metadata: ${file}: `), e.message);
        assert.ok(e.message.includes(message), e.message);
        return true;
      },
    );
  });
}

test('V2Valid: values as Java reads them, big ids exact', { skip: SKIP_NO_SHARED }, () => {
  const md = parseTableMetadata(read('vectors', 'table-metadata', 'TableMetadataV2Valid.json'));
  assert.equal(md['format-version'], 2);
  assert.equal(md['table-uuid'], '9c12d441-03fe-4693-9a96-a0705ddf69c1');
  assert.equal(md['last-sequence-number'], 34n);
  assert.equal(md['current-schema-id'], 1);
  assert.deepEqual(md.schemas[1]?.['identifier-field-ids'], [1, 2]);
  assert.equal(md['default-sort-order-id'], 3);
  assert.equal(md['current-snapshot-id'], 3055729675574597004n);
  assert.equal(md.snapshots[1]?.['parent-snapshot-id'], 3051729675574597004n);
  assert.equal(md.snapshots[0]?.['sequence-number'], 0n);
  assert.equal(md.snapshots[0]?.['schema-id'], undefined);
  // No refs in the file, but a current snapshot: main is derived from it.
  assert.deepEqual(md.refs, { main: { 'snapshot-id': 3055729675574597004n, type: 'branch' } });
  const text = serializeTableMetadata(md);
  assert.match(text, /"current-snapshot-id": 3055729675574597004,/);
  assert.match(text, /"parent-snapshot-id": 3051729675574597004,/);
});

test('V1Valid is lifted to lists and written back with the v1 legacy fields', { skip: SKIP_NO_SHARED }, () => {
  const md = parseTableMetadata(read('vectors', 'table-metadata', 'TableMetadataV1Valid.json'));
  assert.equal(md.schemas.length, 1);
  assert.equal(md.schemas[0]?.['schema-id'], 0);
  assert.equal(md['current-schema-id'], 0);
  assert.deepEqual(md['partition-specs'], [
    { 'spec-id': 0, fields: [{ 'source-id': 1, 'field-id': 1000, name: 'x', transform: 'identity' }] },
  ]);
  assert.equal(md['last-partition-id'], 1000);
  assert.deepEqual(md['sort-orders'], [{ 'order-id': 0, fields: [] }]);
  assert.equal(md['last-sequence-number'], 0n);
  assert.equal(md['current-snapshot-id'], undefined);
  assert.deepEqual(md.refs, {});
  const out = parseJson(serializeTableMetadata(md)) as Record<string, unknown>;
  assert.equal(out['format-version'], 1);
  assert.ok('schema' in out && 'partition-spec' in out, 'v1 output keeps schema and partition-spec');
  assert.ok(!('last-sequence-number' in out));
  assert.equal(out['current-snapshot-id'], -1);
});

test('V3 fixtures keep next-row-id, initial defaults, encryption keys and snapshot key-id', { skip: SKIP_NO_SHARED }, () => {
  const minimal = parseTableMetadata(read('vectors', 'table-metadata', 'TableMetadataV3ValidMinimal.json'));
  assert.equal(minimal['next-row-id'], 0n);
  assert.equal(minimal.schemas[0]?.fields[0]?.['initial-default'], 1);
  const enc = parseTableMetadata(read('vectors', 'table-metadata', 'TableMetadataV3ValidEncryption.json'));
  assert.equal(enc['encryption-keys']?.length, 2);
  assert.equal(enc['encryption-keys']?.[1]?.['encrypted-by-id'], '5b29941b-b3b4-4d57-8758-a9d1bf340b39');
  assert.equal(enc.snapshots[0]?.['key-id'], '1fb95f04-7f98-4b1f-a08f-e810cfb907ff');
  const out = parseJson(serializeTableMetadata(enc)) as Record<string, unknown>;
  assert.ok(Array.isArray(out['encryption-keys']));
});

for (const file of ['create_table_response.json', 'load_table_response.json', 'update_table_response.json']) {
  test(`REST vector ${file}: its metadata member parses and round-trips`, { skip: SKIP_NO_SHARED }, () => {
    const body = parseJson(read('vectors', 'rest', file), file) as Record<string, ReturnType<typeof parseJson>>;
    const md = parseTableMetadata(body.metadata ?? null, `${file} metadata`);
    assert.deepEqual(parseTableMetadata(serializeTableMetadata(md)), md);
    if (file === 'load_table_response.json') {
      assert.equal(md['current-snapshot-id'], 3497810964824022504n);
      assert.equal(md['metadata-log'].length, 1);
      assert.equal(md.snapshots[0]?.summary['total-records'], '1');
    }
    if (file === 'update_table_response.json') {
      // "partition-specs": [] reads as the unpartitioned spec under default-spec-id.
      assert.deepEqual(md['partition-specs'], [{ 'spec-id': 0, fields: [] }]);
    }
  });
}

/** Every metadata file of the engine-written tables (Spark, Java, …). */
function engineMetadataFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.metadata.json')) out.push(p);
    }
  };
  walk(fixturePath('iceberg-tables'));
  return out.sort();
}

test('metadata files written by Spark and Java parse and round-trip', { skip: SKIP_NO_SHARED }, () => {
  const files = engineMetadataFiles();
  assert.ok(files.length >= 20, `expected the engine tables' metadata files, found ${files.length}`);
  for (const f of files) {
    const md = parseTableMetadata(readFileSync(f, 'utf8'), f);
    assert.deepEqual(parseTableMetadata(serializeTableMetadata(md), f), md, f);
    // Java writes the refs itself; the derived main never disagrees with current-snapshot-id.
    assert.equal(md.refs.main?.['snapshot-id'], md['current-snapshot-id'], f);
  }
});

test('engine table snapshot ids above 2^53 survive exactly', { skip: SKIP_NO_SHARED }, () => {
  const text = read('iceberg-tables', 'spark_v1_cow_schemaevol', 'pyspark_iceberg_table', 'metadata', 'v9.metadata.json');
  const md = parseTableMetadata(text);
  const ids = md.snapshots.map((s) => s['snapshot-id']);
  for (const id of ['9145725745960929259', '8671490307245765264', '4407328776463037310']) {
    assert.ok(ids.includes(BigInt(id)), `snapshot ${id}`);
    assert.ok(serializeTableMetadata(md).includes(`"snapshot-id": ${id}`), `serialized ${id}`);
  }
  assert.ok(ids.some((id) => id > 2n ** 53n));
});
