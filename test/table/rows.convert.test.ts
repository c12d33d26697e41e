/**
 * Rows as plain objects (`table/rows.ts`, what `Table.append` takes): each type's accepted
 * JavaScript values become the exact in-memory values, and every wrong value, as a user would
 * pass it, is refused with the row index and the column in the message. Then `Table.append` end
 * to end: rows committed in one snapshot and read back through the query engine; a bad row
 * commits nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { ValidationError } from '../../src/errors.js';
import { parseSchemaArg } from '../../src/iceberg/notation.js';
import type { IcebergValue, Schema } from '../../src/iceberg/types.js';
import { QueryEngine } from '../../src/query/engine.js';
import { resultToObjects } from '../../src/query/result-objects.js';
import { rowConverter, rowsToBatch } from '../../src/table/rows.js';
import { Table } from '../../src/table/table.js';

/** A schema from the compact notation with ids as a catalog would give them. */
function schema(text: string): Schema {
  let id = 0;
  const renumber = (t: unknown): unknown => {
    if (typeof t !== 'object' || t === null) return t;
    const o = t as Record<string, unknown>;
    if (o.type === 'struct') return { ...o, fields: (o.fields as Record<string, unknown>[]).map((f) => ({ ...f, id: ++id, type: renumber(f.type) })) };
    if (o.type === 'list') return { ...o, 'element-id': ++id, element: renumber(o.element) };
    if (o.type === 'map') return { ...o, 'key-id': ++id, 'value-id': ++id, key: renumber(o.key), value: renumber(o.value) };
    return o;
  };
  return renumber(parseSchemaArg(text)) as Schema;
}

/** The values of one column of one row. */
function convert(type: string, value: unknown, required = false): IcebergValue {
  const s = schema(`c ${type}${required ? ' not null' : ''}`);
  return rowConverter(s)({ c: value }, 0)[0]!;
}

function refuses(rows: unknown[], s: Schema, message: string | RegExp): void {
  assert.throws(() => rowsToBatch(s, rows as object[]), (e: unknown) => {
    assert.ok(e instanceof ValidationError, String(e));
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('each type takes the JavaScript values a user expects, converted exactly', () => {
  assert.equal(convert('boolean', true), true);
  assert.equal(convert('int', -7), -7);
  assert.equal(convert('int', 2147483647n), 2147483647);
  assert.equal(convert('long', 9007199254740993n), 9007199254740993n);
  assert.equal(convert('long', 42), 42n);
  assert.equal(convert('long', '-9223372036854775808'), -9223372036854775808n);
  assert.equal(convert('double', 0.1), 0.1);
  assert.equal(convert('float', 1.5), 1.5);
  assert.equal(convert('decimal(9,2)', '19.9'), 1990n);
  assert.equal(convert('decimal(9,2)', 12.5), 1250n);
  assert.equal(convert('decimal(9,2)', -3n), -300n);
  assert.equal(convert('decimal(38,10)', '12345678901234567890.0123456789'), 123456789012345678900123456789n);
  assert.equal(convert('decimal(9,2)', '1.2e3'), 120000n);
  assert.equal(convert('date', '2026-01-08'), 20461);
  assert.equal(convert('date', new Date('2026-01-08T23:59:59Z')), 20461);
  assert.equal(convert('date', new Date('1969-12-31T12:00:00Z')), -1);
  assert.equal(convert('time', '15:16:52.123456'), 55_012_123_456n);
  assert.equal(convert('time', 1n), 1n);
  const us = 1_767_885_412_000_000n; // 2026-01-08T15:16:52Z
  assert.equal(convert('timestamptz', new Date('2026-01-08T15:16:52Z')), us);
  assert.equal(convert('timestamptz', '2026-01-08T15:16:52Z'), us);
  assert.equal(convert('timestamptz', '2026-01-08T16:16:52.000001+01:00'), us + 1n);
  assert.equal(convert('timestamptz', '2026-01-08 15:16:52'), us);
  assert.equal(convert('timestamp', '2026-01-08T15:16:52.1234567'), us + 123_456n);
  assert.equal(convert('timestamp', us), us);
  assert.equal(convert('timestamptz', '1969-12-31T23:59:59.999999Z'), -1n);
  assert.equal(convert('string', 'héllo'), 'héllo');
  assert.equal(convert('uuid', 'F79C3E09-677C-4BBD-A479-3F349CB785E7'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
  assert.deepEqual(convert('binary', Buffer.from('ab')), Buffer.from('ab'));
  assert.deepEqual(convert('fixed[2]', new Uint8Array([1, 2])), new Uint8Array([1, 2]));
  assert.deepEqual(convert('struct<lat: double, lon: double>', { lat: 1.5, lon: -2 }), [1.5, -2]);
  assert.deepEqual(convert('struct<lat: double, lon: double>', { lat: 1.5 }), [1.5, null]);
  assert.deepEqual(convert('list<long>', [1n, 2, null]), [1n, 2n, null]);
  assert.deepEqual(convert('map<string, int>', { a: 1, b: 2 }), new Map([['a', 1], ['b', 2]]));
  assert.deepEqual(convert('map<int, string>', new Map([[1, 'x']])), new Map([[1, 'x']]));
  assert.equal(convert('string', undefined), null);
  assert.equal(convert('string', null), null);
  // A class instance is an object keyed by field name too.
  class Point {
    constructor(
      readonly lat: number,
      readonly lon: number,
    ) {}
  }
  assert.deepEqual(convert('struct<lat: double, lon: double>', new Point(1, 2)), [1, 2]);
});

test('a wrong value names the row index and the column, with what was expected and what came', () => {
  const s = schema('id long not null, ts timestamptz, amount decimal(9,2), d date, tags list<string>, geo struct<lat: double not null>, attrs map<int, string>, b binary, u uuid, n int, f float');
  const ok = { id: 1n };
  const at3 = (row: Record<string, unknown>) => [ok, ok, ok, row];
  refuses(at3({ id: 1n, ts: 12 }), s, "table: row 3, column 'ts': expected a Date or ISO-8601 string, got 12");
  refuses(at3({ id: 1n, ts: 'yesterday' }), s, `table: row 3, column 'ts': expected a Date or ISO-8601 string, got "yesterday" (not a valid ISO-8601 date-time)`);
  refuses(at3({ id: 1n, ts: '2026-02-30T00:00:00Z' }), s, /row 3, column 'ts': .*"2026-02-30T00:00:00Z"/);
  refuses(at3({ id: 1n, ts: new Date('nope') }), s, "table: row 3, column 'ts': expected a Date or ISO-8601 string, got an invalid Date");
  refuses(at3({ ts: new Date() }), s, "table: row 3, column 'id': required, got undefined");
  refuses(at3({ id: null }), s, "table: row 3, column 'id': required, got null");
  refuses(at3({ id: 2 ** 53 + 2 }), s, "table: row 3, column 'id': 9007199254740994 is beyond 2^53 and may have been rounded: pass a bigint for long");
  refuses(at3({ id: 1.5 }), s, "table: row 3, column 'id': expected a bigint or an integer number for long, got 1.5");
  refuses(at3({ id: 2n ** 63n }), s, "table: row 3, column 'id': 9223372036854775808n is out of range for long (64 bits)");
  refuses(at3({ id: 1n, amount: '12.345' }), s, `table: row 3, column 'amount': cannot store "12.345" in decimal(9, 2) exactly: more than 2 fraction digits`);
  refuses(at3({ id: 1n, amount: 0.1 + 0.2 }), s, /column 'amount': cannot store 0.30000000000000004 in decimal\(9, 2\) exactly/);
  refuses(at3({ id: 1n, amount: '12345678.9' }), s, /column 'amount': .*more than 9 digits/);
  refuses(at3({ id: 1n, amount: '1e999999' }), s, /column 'amount': .*more than 9 digits/);
  refuses(at3({ id: 1n, amount: 'twelve' }), s, /column 'amount': .*not a decimal number/);
  refuses(at3({ id: 1n, amount: true }), s, /column 'amount': expected a decimal string \(e.g. "12.30"\), number or bigint for decimal\(9, 2\), got true/);
  refuses(at3({ id: 1n, d: '2026-1-8' }), s, `table: row 3, column 'd': expected a Date or YYYY-MM-DD string, got "2026-1-8"`);
  refuses(at3({ id: 1n, tags: 'a,b' }), s, `table: row 3, column 'tags': expected an array, got "a,b"`);
  refuses(at3({ id: 1n, tags: ['a', 2] }), s, "table: row 3, column 'tags[1]': expected a string, got 2");
  refuses(at3({ id: 1n, geo: {} }), s, "table: row 3, column 'geo.lat': required, got undefined");
  refuses(at3({ id: 1n, geo: { lat: 1, lng: 2 } }), s, "table: row 3, column 'geo.lng': no such field (fields of 'geo': lat)");
  refuses(at3({ id: 1n, attrs: { 1: 'x' } }), s, "table: row 3, column 'attrs': expected a Map, got an object");
  refuses(at3({ id: 1n, attrs: new Map([['1', 'x']]) }), s, `table: row 3, column 'attrs{"1"}': expected an integer number for int, got "1"`);
  refuses(at3({ id: 1n, b: 'YWI=' }), s, `table: row 3, column 'b': expected a Uint8Array for binary, got "YWI="`);
  refuses(at3({ id: 1n, u: 'not-a-uuid' }), s, /column 'u': expected a UUID string/);
  refuses(at3({ id: 1n, n: 2 ** 31 }), s, "table: row 3, column 'n': 2147483648 is out of range for int (32 bits)");
  refuses(at3({ id: 1n, n: '7' }), s, `table: row 3, column 'n': expected an integer number for int, got "7"`);
  refuses(at3({ id: 1n, f: 1e39 }), s, "table: row 3, column 'f': 1e+39 is out of range for float");
  refuses(at3({ id: 1n, tss: new Date() }), s, "table: row 3, column 'tss': no such column (columns: id, ts, amount, d, tags, geo, attrs, b, u, n, f)");
  refuses([ok, [1n, null]], s, 'table: row 1: expected an object keyed by column name, got an array');
  refuses([ok, null], s, 'table: row 1: expected an object keyed by column name, got null');
  refuses([ok, new Date()], s, /^table: row 1: expected an object keyed by column name, got Date /);
  refuses(at3({ id: 1n, n: 2n ** 31n }), s, "table: row 3, column 'n': 2147483648n is out of range for int (32 bits)");
});

test('Table.append: plain objects in one snapshot, read back exactly; a bad row commits nothing', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-rows-'));
  const catalog = new SqlCatalog({ name: 'test', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  try {
    await catalog.createNamespace(['shop']);
    const id = { namespace: ['shop'], name: 'orders' };
    const s = parseSchemaArg('id long not null, amount decimal(9,2), placed_at timestamptz, day date, tags list<string>');
    await catalog.createTable(id, { schema: s });
    const table = await Table.load(catalog, id);
    assert.equal(await table.append([]), undefined);
    assert.equal(table.currentSnapshot(), undefined);

    const result = await table.append([
      { id: 1n, amount: '19.90', placed_at: new Date('2026-01-08T15:16:52.123Z'), day: '2026-01-08', tags: ['gift'] },
      { id: 2, amount: 5, placed_at: '2026-01-09T09:00:00+01:00' },
    ]);
    assert.ok(result);
    assert.equal(result.snapshot.summary['added-records'], '2');
    assert.equal(table.currentSnapshot()?.['snapshot-id'], result.snapshot['snapshot-id']);

    await assert.rejects(table.append([{ id: 3n }, { id: 4n, placed_at: 12 }]), {
      name: 'ValidationError',
      message: "table: row 1, column 'placed_at': expected a Date or ISO-8601 string, got 12",
    });
    await table.refresh();
    assert.equal(table.currentSnapshot()?.['snapshot-id'], result.snapshot['snapshot-id']);

    const engine = await QueryEngine.open({ catalog });
    try {
      const rows = resultToObjects(await engine.query('SELECT id, amount, placed_at, day, tags FROM shop.orders ORDER BY id'));
      assert.deepEqual(rows, [
        { id: 1, amount: '19.90', placed_at: '2026-01-08T15:16:52.123000Z', day: '2026-01-08', tags: ['gift'] },
        { id: 2, amount: '5.00', placed_at: '2026-01-09T08:00:00Z', day: null, tags: null },
      ]);
    } finally {
      engine.close();
    }
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
});
