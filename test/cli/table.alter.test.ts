/**
 * `floe table alter` against a temporary SQLite-catalog warehouse: every change read back with
 * `floe query` (current and time travel to the snapshot before it), field ids never reused after
 * drop + add, partition evolution keeping field ids, a concurrent change making the commit fail,
 * `--dry-run` committing nothing, and bad input exiting 2 with a message naming the problem.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openCatalog } from '../../src/catalog/open.js';
import { commitAlter, planAlter } from '../../src/cli/commands/table-alter.js';
import { CommitConflictError } from '../../src/errors.js';
import { Table } from '../../src/table/table.js';
import { assertFails, cliJson, runCli, type JsonRow } from './helpers.js';

const ID = { namespace: ['db'], name: 'events' };

describe('floe table alter', () => {
  let warehouse: string;
  const wh = (...argv: string[]) => [...argv, '--warehouse', warehouse];
  const alter = (...argv: string[]) => cliJson(wh('table', 'alter', 'db.events', ...argv));
  const query = (sql: string, ...flags: string[]) => cliJson(wh('query', sql, ...flags));

  async function withTable<T>(fn: (t: Table) => Promise<T>): Promise<T> {
    const catalog = await openCatalog({ warehouse });
    try {
      return await fn(await Table.load(catalog, ID));
    } finally {
      await catalog.close();
    }
  }
  /** Appends rows with the library; returns the new snapshot id. */
  const append = (rows: object[]) => withTable(async (t) => (await t.append(rows))!.snapshot['snapshot-id'].toString());
  const metadata = () => withTable(async (t) => t.metadata);

  before(async () => {
    warehouse = mkdtempSync(join(tmpdir(), 'floe-cli-alter-'));
    await cliJson(wh('table', 'create', 'db.events', '--schema', 'id int not null, ts timestamptz, amount float, info struct<a: int>'));
  });
  after(() => rmSync(warehouse, { recursive: true, force: true }));

  test('add-column (top level with --after and --doc, nested), read back now and before', async () => {
    const before = await append([{ id: 1, ts: '2026-01-01T00:00:00Z', amount: 1.5, info: { a: 7 } }]);
    const [top] = await alter('add-column', 'country', 'string', '--after', 'id', '--doc', 'ISO code');
    assert.equal(top!.committed, true);
    const schema = top!.schema as { fields: { id: number; name: string; required: boolean; doc?: string }[] };
    assert.deepEqual(schema.fields.map((f) => f.name), ['id', 'country', 'ts', 'amount', 'info']);
    const country = schema.fields[1]!;
    assert.deepEqual([country.id, country.required, country.doc], [6, false, 'ISO code']);
    assert.equal(top!['last-column-id'], 6);
    const [nested] = await alter('add-column', 'info.b', 'long');
    const info = (nested!.schema as { fields: { name: string; type: { fields: { id: number; name: string }[] } }[] }).fields.find((f) => f.name === 'info')!;
    assert.deepEqual(info.type.fields.map((f) => [f.id, f.name]), [[5, 'a'], [7, 'b']]);
    await append([{ id: 2, country: 'FR', ts: '2026-01-02T00:00:00Z', amount: 2.5, info: { a: 8, b: 9n } }]);
    assert.deepEqual(await query('SELECT id, country, info.b AS b FROM db.events ORDER BY id'), [
      { id: 1, country: null, b: null },
      { id: 2, country: 'FR', b: 9 },
    ]);
    // Time travel to before the change reads the old schema: no 'country' column.
    assert.deepEqual(await query('SELECT * FROM db.events', '--snapshot-id', before).then((r) => Object.keys(r[0]!)), ['id', 'ts', 'amount', 'info']);
  });

  test('rename, widen, make-optional: ids kept, data read back under the new names and types', async () => {
    const before = (await metadata())['current-snapshot-id']!.toString();
    await alter('rename-column', 'country', 'country_code');
    const [w] = await alter('widen', 'id', 'long');
    const [f] = await alter('widen', 'amount', 'double');
    const [o] = await alter('make-optional', 'id');
    const fields = (o!.schema as { fields: { id: number; name: string; type: unknown; required: boolean }[] }).fields;
    assert.deepEqual(fields.slice(0, 4).map((x) => [x.id, x.name, x.type, x.required]), [
      [1, 'id', 'long', false],
      [6, 'country_code', 'string', false],
      [2, 'ts', 'timestamptz', false],
      [3, 'amount', 'double', false],
    ]);
    assert.ok((w!['schema-id'] as number) < (f!['schema-id'] as number), 'each change is a new schema id');
    await append([{ id: 5_000_000_000n, country_code: 'DE', amount: 0.25 }]);
    assert.deepEqual(await query('SELECT id, country_code, amount FROM db.events ORDER BY id'), [
      { id: 1, country_code: null, amount: 1.5 },
      { id: 2, country_code: 'FR', amount: 2.5 },
      { id: 5000000000, country_code: 'DE', amount: 0.25 },
    ]);
    assert.deepEqual(await query('SELECT id, country FROM db.events ORDER BY id', '--snapshot-id', before), [
      { id: 1, country: null },
      { id: 2, country: 'FR' },
    ]);
  });

  test('drop-column then add the same name: a fresh id, old values not resurrected, old snapshot still has them', async () => {
    const before = (await metadata())['current-snapshot-id']!.toString();
    const [d] = await alter('drop-column', 'country_code');
    assert.ok(!(d!.schema as { fields: { name: string }[] }).fields.some((f) => f.name === 'country_code'));
    const [a] = await alter('add-column', 'country_code', 'string');
    const added = (a!.schema as { fields: { id: number; name: string }[] }).fields.find((f) => f.name === 'country_code')!;
    assert.equal(added.id, 8, 'id 6 (dropped) is never handed out again');
    assert.equal(a!['last-column-id'], 8);
    assert.deepEqual(await query('SELECT id, country_code FROM db.events ORDER BY id'), [
      { id: 1, country_code: null },
      { id: 2, country_code: null },
      { id: 5000000000, country_code: null },
    ]);
    assert.deepEqual(await query('SELECT country_code FROM db.events WHERE id = 2', '--snapshot-id', before), [{ country_code: 'FR' }]);
  });

  test('set-property / unset-property', async () => {
    const [s] = await alter('set-property', 'owner=tests', 'commit.retry.num-retries=7');
    assert.equal((s!.properties as Record<string, string>).owner, 'tests');
    const [u] = await alter('unset-property', 'owner');
    assert.equal((u!.properties as Record<string, string>).owner, undefined);
    assert.equal((await metadata()).properties['commit.retry.num-retries'], '7');
  });

  test('set-partition-spec: a new spec id, ids continue from last-partition-id, kept fields keep their id', async () => {
    const [p1] = await alter('set-partition-spec', 'day(ts), bucket(8, id)');
    assert.deepEqual([p1!['spec-id'], p1!['last-partition-id']], [1, 1001]);
    assert.deepEqual((p1!['partition-spec'] as JsonRow[]).map((f) => [f['field-id'], f.name, f.transform]), [
      [1000, 'ts_day', 'day'],
      [1001, 'id_bucket', 'bucket[8]'],
    ]);
    await append([{ id: 10, ts: '2026-02-01T12:00:00Z' }]);
    const [p2] = await alter('set-partition-spec', 'bucket(8, id), hour(ts)');
    assert.deepEqual([p2!['spec-id'], p2!['last-partition-id']], [2, 1002]);
    assert.deepEqual((p2!['partition-spec'] as JsonRow[]).map((f) => [f['field-id'], f.name]), [
      [1001, 'id_bucket'],
      [1002, 'ts_hour'],
    ]);
    await append([{ id: 11, ts: '2026-02-01T13:00:00Z' }]);
    assert.deepEqual(await query('SELECT id FROM db.events WHERE id IN (10, 11) ORDER BY id'), [{ id: 10 }, { id: 11 }]);
    assert.deepEqual(await query('SELECT count(*) AS n FROM db.events'), [{ n: 5 }]);
  });

  test('set-sort-order: directions and null orders, appends still work, "" is unsorted', async () => {
    const [o] = await alter('set-sort-order', 'id desc, day(ts) asc nulls last');
    assert.equal(o!['sort-order-id'], 1);
    assert.deepEqual(o!['sort-order'], [
      { transform: 'identity', 'source-id': 1, direction: 'desc', 'null-order': 'nulls-last' },
      { transform: 'day', 'source-id': 2, direction: 'asc', 'null-order': 'nulls-last' },
    ]);
    await append([{ id: 12, ts: '2026-02-02T00:00:00Z' }, { id: 13 }]);
    assert.deepEqual(await query('SELECT count(*) AS n FROM db.events'), [{ n: 7 }]);
    const [u] = await alter('set-sort-order', '');
    assert.deepEqual([u!['sort-order-id'], u!['sort-order']], [0, []]);
    const md = await metadata();
    assert.equal(md['default-sort-order-id'], 0);
  });

  test('widen decimal precision; set-partition-spec "" makes the table unpartitioned', async () => {
    const catalog = await openCatalog({ warehouse });
    try {
      await catalog.createTable({ namespace: ['db'], name: 'prices' }, { schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'p', required: false, type: 'decimal(9,2)' }] } });
    } finally {
      await catalog.close();
    }
    const [w] = await cliJson(wh('table', 'alter', 'db.prices', 'widen', 'p', 'decimal(18, 2)'));
    assert.equal((w!.schema as { fields: { type: string }[] }).fields[0]!.type, 'decimal(18, 2)');
    assertFails(await runCli(wh('table', 'alter', 'db.prices', 'widen', 'p', 'decimal(18,3)')), 2, /cannot change column 'p' from decimal\(18, ?2\) to decimal\(18, ?3\)/);
    await cliJson(wh('table', 'alter', 'db.prices', 'set-partition-spec', 'p'));
    const [u] = await cliJson(wh('table', 'alter', 'db.prices', 'set-partition-spec', ''));
    assert.deepEqual(u!['partition-spec'], []);
  });

  test('a column only an old spec uses can be dropped after the spec changed; old files still read', async () => {
    await cliJson(wh('table', 'create', 'db.old', '--schema', 'id int not null, ts timestamptz', '--partition-by', 'day(ts)'));
    const catalog = await openCatalog({ warehouse });
    const add = async (row: object) => {
      const t = await Table.load(catalog, { namespace: ['db'], name: 'old' });
      await t.append([row]);
    };
    try {
      await add({ id: 1, ts: '2026-01-01T00:00:00Z' });
      assertFails(await runCli(wh('table', 'alter', 'db.old', 'drop-column', 'ts')), 2, /'ts' is a source of the partition spec; change the spec first/);
      await cliJson(wh('table', 'alter', 'db.old', 'set-partition-spec', ''));
      await cliJson(wh('table', 'alter', 'db.old', 'drop-column', 'ts'));
      await add({ id: 2 });
    } finally {
      await catalog.close();
    }
    assert.deepEqual(await query('SELECT * FROM db.old ORDER BY id'), [{ id: 1 }, { id: 2 }]);
  });

  test('--dry-run prints the change and commits nothing', async () => {
    const md = await metadata();
    const [r] = await alter('add-column', 'extra', 'boolean', '--dry-run');
    assert.equal(r!.committed, false);
    assert.ok((r!.schema as { fields: { name: string }[] }).fields.some((f) => f.name === 'extra'));
    const text = await runCli(wh('table', 'alter', 'db.events', 'set-partition-spec', 'id', '--dry-run'));
    assert.equal(text.code, 0);
    assert.match(text.stdout, /^Dry run \(not committed\): set-partition-spec on db\.events\nPartition spec \(id 3, /);
    const now = await metadata();
    assert.equal(now['current-schema-id'], md['current-schema-id']);
    assert.equal(now['last-column-id'], md['last-column-id']);
    assert.equal(now['default-spec-id'], md['default-spec-id']);
  });

  test('a concurrent change between load and commit makes the requirement fail; nothing is clobbered', async () => {
    const loaded = await metadata();
    const schemaPlan = planAlter(loaded, 'add-column', ['mine', 'string']);
    const specPlan = planAlter(loaded, 'set-partition-spec', ['id']);
    await alter('add-column', 'theirs', 'string');
    await alter('set-partition-spec', 'truncate(4, id)');
    const catalog = await openCatalog({ warehouse });
    try {
      await assert.rejects(commitAlter(catalog, ID, schemaPlan), (e: unknown) => {
        assert.ok(e instanceof CommitConflictError);
        assert.match(e.message, /^cli: table alter add-column: the table changed since it was loaded, nothing was committed \(commit: requirement failed: (last assigned field id|current schema) changed.*\); run the command again$/);
        return true;
      });
      await assert.rejects(commitAlter(catalog, ID, specPlan), /table alter set-partition-spec: the table changed .*(partition id|partition spec) changed/);
    } finally {
      await catalog.close();
    }
    const md = await metadata();
    const names = md.schemas.find((s) => s['schema-id'] === md['current-schema-id'])!.fields.map((f) => f.name);
    assert.ok(names.includes('theirs') && !names.includes('mine'));
    assert.equal(md['partition-specs'].find((s) => s['spec-id'] === md['default-spec-id'])!.fields[0]!.transform, 'truncate[4]');
  });

  test('bad input exits 2 naming the problem', async () => {
    const bad = (...argv: string[]) => runCli(wh('table', 'alter', 'db.events', ...argv));
    assertFails(await bad('add-column', 'ts', 'string'), 2, /add-column: schema: cannot add column 'ts': name already exists/);
    assertFails(await bad('add-column', 'x', 'strang'), 2, /add-column: .*strang/);
    assertFails(await bad('add-column', 'x', 'string not null'), 2, /'x' cannot be required/);
    assertFails(await bad('add-column', 'nope.x', 'int'), 2, /no such column/);
    assertFails(await bad('add-column', 'x', 'int', '--after', 'nope'), 2, /cannot place 'x' after 'nope'/);
    assertFails(await bad('add-column', 'x'), 2, /add-column expects NAME TYPE/);
    assertFails(await bad('rename-column', 'nope', 'x'), 2, /cannot rename 'nope': no such column/);
    assertFails(await bad('widen', 'amount', 'float'), 2, /cannot change column 'amount' from double to float/);
    assertFails(await bad('widen', 'ts', 'long'), 2, /cannot change column 'ts' from timestamptz to long/);
    assertFails(await bad('drop-column', 'id'), 2, /'id' is a source of the partition spec/);
    assertFails(await bad('drop-column', 'nope'), 2, /cannot delete 'nope': no such column/);
    assertFails(await bad('set-property', 'novalue'), 2, /expected K=V, got 'novalue'/);
    assertFails(await bad('unset-property', 'never-set'), 2, /no property 'never-set'/);
    assertFails(await bad('set-partition-spec', 'day(nope)'), 2, /^floe: cli: table alter set-partition-spec: unknown column 'nope'\n$/);
    assertFails(await bad('set-sort-order', 'id sideways'), 2, /^floe: cli: table alter set-sort-order: unexpected text/);
    assertFails(await bad('make-optional', 'id', '--doc', 'x'), 2, /--after and --doc apply to add-column only/);
    assertFails(await bad('frobnicate'), 2, /unknown change 'frobnicate' \(one of add-column,/);
    assertFails(await runCli(wh('table', 'alter', 'db.events')), 2, /table alter expects NAMESPACE\.TABLE CHANGE/);
    const help = await runCli(['table', 'alter', '--help']);
    assert.equal(help.code, 0);
    for (const s of ['--after', '--doc', '--dry-run', 'set-partition-spec']) assert.ok(help.stdout.includes(s), s);
  });
});
