/**
 * readAvroFile/writeAvroFile compile each schema text once (issue 12: compiling avsc types at every
 * manifest read and write was the largest garbage per commit after the metadata JSON). Files with
 * the same schema share it; a different schema, even one attribute apart, is its own; a bad schema
 * fails for every file that carries it, each error naming its own file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../../src/errors.js';
import { readAvroFile, writeAvroFile } from '../../../src/iceberg/avro/container.js';

const schema = {
  type: 'record',
  name: 'row',
  fields: [
    { name: 'id', type: 'long', 'field-id': 1 },
    { name: 'name', type: ['null', 'string'], default: null, 'field-id': 2 },
  ],
};

test('files with the same schema share one compiled schema, and decode their own records', () => {
  const a = readAvroFile(writeAvroFile({ schema, metadata: [], records: [{ id: 1n, name: 'a' }] }), 'a.avro');
  const b = readAvroFile(writeAvroFile({ schema, metadata: [], records: [{ id: 2n, name: null }, { id: 3n, name: 'c' }] }), 'b.avro');
  assert.equal(a.schema, b.schema);
  assert.deepEqual(
    a.records.map((r) => ({ ...(r as object) })),
    [{ f0: 1n, f1: 'a' }], // decoded under the compiled schema's keys (record fields f0, f1, …)
  );
  assert.deepEqual(
    b.records.map((r) => ({ ...(r as object) })),
    [
      { f0: 2n, f1: null },
      { f0: 3n, f1: 'c' },
    ],
  );
});

test('a schema one field id apart is compiled apart', () => {
  const other = { ...schema, fields: [schema.fields[0], { ...schema.fields[1], 'field-id': 7 }] };
  const a = readAvroFile(writeAvroFile({ schema, metadata: [], records: [] }), 'a.avro');
  const b = readAvroFile(writeAvroFile({ schema: other, metadata: [], records: [] }), 'b.avro');
  assert.notEqual(a.schema, b.schema);
  const field = (f: typeof a) => (f.schema.node.kind === 'record' ? f.schema.node.fields[1]?.fieldId : undefined);
  assert.equal(field(a), 2);
  assert.equal(field(b), 7);
});

test('a bad schema fails in every file that carries it, naming that file', () => {
  // A valid file whose header schema is then replaced by one naming an unknown type (same length).
  const good = writeAvroFile({ schema: { type: 'record', name: 'r', fields: [{ name: 'x', type: 'long' }] }, metadata: [], records: [] });
  const text = new TextDecoder('latin1').decode(good);
  const bad = Uint8Array.from(text.replace('"type":"long"', '"type":"lonx"'), (c) => c.charCodeAt(0));
  for (const name of ['one.avro', 'two.avro']) {
    assert.throws(() => readAvroFile(bad, name), (e: unknown) => e instanceof ValidationError && e.message === `avro: ${name}: invalid schema: unknown type 'lonx'`);
  }
});
