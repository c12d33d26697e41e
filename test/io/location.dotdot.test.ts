/**
 * A local location with `..` in it opens like any other: `floe query --table t=/data/x/../t`
 * used to fail with `no metadata file found in /data/x/../t/metadata` (the directory listing
 * yields normalized paths, which never start with a prefix holding `..`), while `/data/t` and a
 * relative `../t` worked.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { LocalFileIO } from '../../src/io/local.js';
import { fileUriToPath } from '../../src/io/location.js';
import { openTableAt } from '../../src/table/open-location.js';
import { cliJson } from '../cli/helpers.js';
import { smallWarehouse, type SmallWarehouse } from '../query/small-warehouse.js';

let wh: SmallWarehouse;
let tableDir: string;

before(async () => {
  wh = await smallWarehouse({ 'db.t': 3 }, 'floe-dotdot-');
  tableDir = join(wh.warehouse, 'db', 't');
  mkdirSync(join(wh.warehouse, 'db', 'x'));
});
after(() => wh.close());

test('fileUriToPath normalizes `.` and `..` in absolute paths and file URIs', () => {
  assert.equal(fileUriToPath('/data/x/../t'), '/data/t');
  assert.equal(fileUriToPath('/data/./x/../../t/'), '/t/');
  assert.equal(fileUriToPath('file:///data/x/../t'), '/data/t');
  assert.equal(fileUriToPath('file:/data/x/../t/metadata'), '/data/t/metadata');
  assert.equal(fileUriToPath('file://localhost/data/x/../t'), '/data/t');
});

test('listing a prefix with `..` finds the files and keeps the caller\'s spelling', async () => {
  const io = new LocalFileIO();
  const prefix = join(wh.warehouse, 'db', 'x') + '/../t/metadata/';
  const listed = [];
  for await (const f of io.list(prefix)) listed.push(f.location);
  assert.ok(listed.length >= 2, `metadata files listed under ${prefix}: ${listed.join(', ')}`);
  for (const l of listed) assert.ok(l.startsWith(prefix), `${l} keeps the prefix as given`);
});

test('openTableAt: an absolute location with `..` opens the same table as the plain one', async () => {
  const plain = await openTableAt(tableDir);
  for (const loc of [`${wh.warehouse}/db/x/../t`, `${wh.warehouse}/db/nonexistent/../t`, `file://${wh.warehouse}/db/x/../t`]) {
    const t = await openTableAt(loc);
    assert.equal(t.metadata['table-uuid'], plain.metadata['table-uuid'], loc);
    assert.equal(t.metadata['current-snapshot-id'], plain.metadata['current-snapshot-id'], loc);
  }
});

test('floe query --table t=/abs/x/../t reads the rows, like /abs/t and a relative ../t', async () => {
  const sql = 'SELECT count(*) AS n, sum(id) AS s FROM t';
  const expected = [{ n: 3, s: 6 }];
  const relativeDotDot = relative(process.cwd(), join(wh.warehouse, 'db', 'x')) + '/../t';
  for (const loc of [tableDir, `${wh.warehouse}/db/x/../t`, relativeDotDot, `file://${wh.warehouse}/db/x/../t`]) {
    assert.deepEqual(await cliJson(['query', '--table', `t=${loc}`, sql]), expected, loc);
  }
});
