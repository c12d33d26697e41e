/**
 * The Avro schemas floe writes, compared with independently written ones (iceberg-rust's, in
 * vectors/avro) and with the structural rules of spec Appendix A.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { partitionAvroSchema, avroFieldName } from '../../../src/iceberg/avro/manifest.js';
import { manifestEntrySchema, manifestFileSchema } from '../../../src/iceberg/avro/schemas.js';
import { avroSchemaForPrimitive, AvroNames, decimalRequiredBytes } from '../../../src/iceberg/avro/values.js';
import type { PartitionSpec } from '../../../src/iceberg/metadata.js';
import type { StructType } from '../../../src/iceberg/types.js';
import { fixturePath, SKIP_NO_SHARED } from '../../helpers/shared.js';

/** Drops documentation and defaults, which do not change what a schema means for reading. */
function strip(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(strip);
  if (s === null || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) if (k !== 'doc' && k !== 'default') out[k] = strip(v);
  return out;
}

const vector = (name: string): unknown => JSON.parse(readFileSync(fixturePath('vectors', 'avro', name), 'utf8'));

test('schemas: v1 manifest_entry equals iceberg-rust’s (modulo docs/defaults)', { skip: SKIP_NO_SHARED }, () => {
  const spec: PartitionSpec = {
    'spec-id': 0,
    fields: [
      { name: 'VendorID', transform: 'identity', 'source-id': 1, 'field-id': 1000 },
      { name: 'tpep_pickup_datetime', transform: 'day', 'source-id': 2, 'field-id': 1001 },
    ],
  };
  const pt: StructType = {
    type: 'struct',
    fields: [
      { id: 1000, name: 'VendorID', required: false, type: 'int' },
      { id: 1001, name: 'tpep_pickup_datetime', required: false, type: 'date' },
    ],
  };
  assert.deepEqual(strip(manifestEntrySchema(1, partitionAvroSchema(spec, pt))), strip(vector('avro_schema_manifest_entry.json')));
});

test('schemas: manifest_file v1/v2 equal iceberg-rust’s plus key_metadata (519), sequence numbers required', { skip: SKIP_NO_SHARED }, () => {
  for (const v of [1, 2] as const) {
    const mine = strip(manifestFileSchema(v)) as { fields: { 'field-id': number }[] };
    const withoutKeyMetadata = { ...mine, fields: mine.fields.filter((f) => f['field-id'] !== 519) };
    const rust = strip(vector(`avro_schema_manifest_file_v${v}.json`)) as { fields: { 'field-id': number; type: unknown }[] };
    // iceberg-rust declares 515/516 optional; the spec and Java (see manifest-list-v2-*.avro)
    // make them required longs, as we do.
    for (const f of rust.fields) if (f['field-id'] === 515 || f['field-id'] === 516) f.type = 'long';
    assert.deepEqual(withoutKeyMetadata, rust, `v${v}`);
    assert.ok(mine.fields.some((f) => f['field-id'] === 519));
  }
});

/** Collects every record field and array of a schema (named references are strings: skipped). */
function walk(s: unknown, onField: (f: Record<string, unknown>) => void, onArray: (a: Record<string, unknown>) => void): void {
  if (Array.isArray(s)) return s.forEach((x) => walk(x, onField, onArray));
  if (s === null || typeof s !== 'object') return;
  const o = s as Record<string, unknown>;
  if (o.type === 'array') onArray(o);
  if (Array.isArray(o.fields)) {
    for (const f of o.fields as Record<string, unknown>[]) {
      onField(f);
      walk(f.type, onField, onArray);
    }
  }
  walk(o.items, onField, onArray);
  if (typeof o.type === 'object') walk(o.type, onField, onArray);
}

test('schemas: every field has a field-id; lists have element-id; maps are k/v record arrays', () => {
  const spec: PartitionSpec = { 'spec-id': 3, fields: [{ name: 'b', transform: 'bucket[8]', 'source-id': 1, 'field-id': 1000 }] };
  const pt: StructType = { type: 'struct', fields: [{ id: 1000, name: 'b', required: false, type: 'int' }] };
  for (const v of [1, 2, 3] as const) {
    for (const schema of [manifestEntrySchema(v, partitionAvroSchema(spec, pt)), manifestFileSchema(v)]) {
      const ids: number[] = [];
      walk(
        schema,
        (f) => {
          assert.equal(typeof f['field-id'], 'number', `v${v}: field ${String(f.name)} has a field-id`);
          ids.push(f['field-id'] as number);
          if (Array.isArray(f.type)) {
            assert.equal(f.type[0], 'null', 'optional fields are ["null", T]');
            assert.equal(f.default, null, 'optional fields default to null');
          }
        },
        (a) => {
          if (a.logicalType === 'map') {
            const items = a.items as { name: string; fields: { name: string; 'field-id': number }[] };
            const [k, val] = items.fields;
            assert.deepEqual([k!.name, val!.name], ['key', 'value']);
            assert.equal(items.name, `k${k!['field-id']}_v${val!['field-id']}`);
          } else {
            assert.equal(typeof a['element-id'], 'number', 'lists carry element-id');
          }
        },
      );
      assert.equal(new Set(ids).size, ids.length, `v${v}: field ids are unique`);
    }
  }
  const entryIds = (v: 1 | 2 | 3): number[] => {
    const ids: number[] = [];
    walk(manifestEntrySchema(v, partitionAvroSchema(spec, pt)), (f) => ids.push(f['field-id'] as number), () => {});
    return ids;
  };
  assert.ok(entryIds(1).includes(105) && !entryIds(2).includes(105), 'block_size_in_bytes only in v1');
  assert.ok(!entryIds(1).includes(134) && entryIds(2).includes(134), 'content from v2');
  assert.ok(!entryIds(2).includes(142) && entryIds(3).includes(142) && entryIds(3).includes(145), 'row lineage and DV fields in v3');
  const listNames = (v: 1 | 2 | 3) => (manifestFileSchema(v).fields as { name: string }[]).map((f) => f.name);
  assert.ok(listNames(1).includes('added_data_files_count'), 'v1 keeps the historical names');
  assert.ok(listNames(2).includes('added_files_count') && !listNames(2).includes('added_data_files_count'));
  assert.ok(listNames(3).includes('first_row_id'));
});

test('schemas: Iceberg primitive types map to Avro as in spec Appendix A', () => {
  const names = new AvroNames();
  const m = (t: Parameters<typeof avroSchemaForPrimitive>[0]) => avroSchemaForPrimitive(t, names, 't');
  assert.deepEqual(m('date'), { type: 'int', logicalType: 'date' });
  assert.deepEqual(m('timestamptz'), { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': true });
  assert.deepEqual(m('timestamp'), { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': false });
  assert.deepEqual(m('timestamp_ns'), { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': false });
  assert.deepEqual(m('time'), { type: 'long', logicalType: 'time-micros' });
  assert.equal(m('binary'), 'bytes');
  assert.deepEqual(m('decimal(9,2)'), { type: 'fixed', name: 'decimal_9_2', size: 4, logicalType: 'decimal', precision: 9, scale: 2 });
  assert.equal(m('decimal(9, 2)'), 'decimal_9_2', 'a named type is defined once, then referenced');
  assert.deepEqual(m('uuid'), { type: 'fixed', name: 'uuid_fixed', size: 16, logicalType: 'uuid' });
  assert.deepEqual(m('fixed[3]'), { type: 'fixed', name: 'fixed_3', size: 3 });
  assert.deepEqual(
    [1, 2, 3, 4, 9, 10, 18, 19, 38].map(decimalRequiredBytes),
    [1, 1, 2, 2, 4, 5, 8, 9, 16],
  );
});

test('schemas: partition field names are sanitized like Iceberg Java', () => {
  assert.equal(avroFieldName('event_date'), 'event_date');
  assert.equal(avroFieldName('1st'), '_1st');
  assert.equal(avroFieldName('a-b'), 'a_x2Db');
  assert.equal(avroFieldName('a.b c'), 'a_x2Eb_x20c');
  assert.equal(avroFieldName('prix€'), 'prix_x20AC');
});
