/**
 * A table owns its location alone: the SQL catalog refuses a new table whose location (or
 * `write.data.path` / `write.metadata.path`) contains the warehouse root, the catalog database or
 * another table, or lies inside another table, naming both; it accepts siblings that merely share
 * a name prefix. Written as a user (or a REST client, whose create goes through the same
 * `createTable`) would send them.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TableIdentifier } from '../../src/catalog/catalog.js';
import { canonicalLocation, locationContains } from '../../src/catalog/location-policy.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { Schema } from '../../src/iceberg/types.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'a', required: false, type: 'long' }] };
const id = (name: string, ns = 'db'): TableIdentifier => ({ namespace: [ns], name });

describe('SQL catalog: table locations', () => {
  let dir: string;
  let wh: string;
  let catalog: SqlCatalog;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'floe-locations-'));
    wh = join(dir, 'wh');
    catalog = new SqlCatalog({ name: 'c', uri: join(wh, 'catalog.db'), warehouse: wh });
    await catalog.createNamespace(['db']);
    await catalog.createTable(id('events'), { schema: SCHEMA });
  });
  after(async () => {
    await catalog.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const refused = async (name: string, location: string, ...patterns: RegExp[]) => {
    const err = await catalog.createTable(id(name), { schema: SCHEMA, location }).then(
      () => assert.fail(`table ${name} at ${location} was created`),
      (e: unknown) => e as Error,
    );
    assert.equal((err as { code?: string }).code, 'VALIDATION', err.message);
    assert.match(err.message, new RegExp(`^catalog: table db\\.${name}: location refused: `));
    for (const p of patterns) assert.match(err.message, p);
    assert.equal(await catalog.tableExists(id(name)), false, 'nothing registered');
  };
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('the attack: a table at the warehouse root is refused, naming the warehouse and the database', async () => {
    await refused('parent', wh, new RegExp(`${esc(wh)} contains the warehouse root ${esc(wh)}`), new RegExp(`the catalog database ${esc(join(wh, 'catalog.db'))}`));
    // Spelled differently: a file: URI, a trailing slash, a `..` detour, the parent directory.
    await refused('parent', `file://${wh}/`, /contains the warehouse root/);
    await refused('parent', join(wh, 'db', '..'), /contains the warehouse root/);
    await refused('parent', dir, /contains the warehouse root/);
    assert.ok(!existsSync(join(wh, 'metadata')), 'no metadata file was written at the refused location');
    // A table named `..` (as a REST client could send): its default location `<wh>/db/..` is the warehouse.
    const dotdot = await catalog.createTable(id('..'), { schema: SCHEMA }).then(() => undefined, (e: Error) => e);
    assert.ok(dotdot, 'db.. was refused');
    assert.match(dotdot.message, /contains the warehouse root/);
  });

  test('containing another table, or lying inside one, is refused naming that table', async () => {
    const events = join(wh, 'db', 'events');
    await refused('ns_dir', join(wh, 'db'), new RegExp(`contains table db\\.events \\(${esc(events)}\\)`));
    await refused('nested', join(events, 'sub'), new RegExp(`${esc(join(events, 'sub'))} lies inside table db\\.events \\(${esc(events)}\\)`));
    await refused('same', events, /db\.events/);
    await refused('same2', `file:${events}`, /db\.events/);
  });

  test('write.data.path and write.metadata.path count as the table\'s too', async () => {
    const err = await catalog
      .createTable(id('datapath'), { schema: SCHEMA, location: join(dir, 'elsewhere', 'datapath'), properties: { 'write.data.path': wh } })
      .then(() => undefined, (e: Error) => e);
    assert.ok(err, 'refused');
    assert.match(err.message, /contains the warehouse root/);
    const err2 = await catalog
      .createTable(id('metapath'), { schema: SCHEMA, location: join(dir, 'elsewhere', 'metapath'), properties: { 'write.metadata.path': join(wh, 'db', 'events', 'metadata') } })
      .then(() => undefined, (e: Error) => e);
    assert.ok(err2, 'refused');
    assert.match(err2.message, /lies inside table db\.events/);
  });

  test('the catalog database outside the warehouse is protected too', async () => {
    const catDir = join(dir, 'cat');
    mkdirSync(catDir, { recursive: true });
    const other = new SqlCatalog({ name: 'c2', uri: join(catDir, 'catalog.db'), warehouse: join(dir, 'wh2') });
    try {
      await other.createNamespace(['db']);
      const err = await other.createTable(id('t'), { schema: SCHEMA, location: catDir }).then(() => undefined, (e: Error) => e);
      assert.ok(err);
      assert.match(err.message, new RegExp(`contains the catalog database ${esc(join(catDir, 'catalog.db'))}`));
    } finally {
      await other.close();
    }
  });

  test('another catalog name in the same database is another table too', async () => {
    const b = new SqlCatalog({ name: 'other', uri: join(wh, 'catalog.db'), warehouse: join(dir, 'wh-other') });
    try {
      await b.createNamespace(['db']);
      const err = await b.createTable(id('x'), { schema: SCHEMA, location: join(wh, 'db') }).then(() => undefined, (e: Error) => e);
      assert.ok(err);
      assert.match(err.message, /contains table db\.events \(catalog c\)/);
    } finally {
      await b.close();
    }
  });

  test('siblings sharing a name prefix, and explicit locations of their own, are accepted', async () => {
    const dl = await catalog.createTable(id('events_dead_letters'), { schema: SCHEMA });
    assert.equal(dl.metadata.location, join(wh, 'db', 'events_dead_letters'));
    const own = await catalog.createTable(id('own'), { schema: SCHEMA, location: join(dir, 'elsewhere', 'own') });
    assert.equal(own.metadata.location, join(dir, 'elsewhere', 'own'));
    const ev = await catalog.createTable(id('ev'), { schema: SCHEMA, location: join(wh, 'db', 'ev') });
    assert.equal(ev.metadata.location, join(wh, 'db', 'ev'));
  });

  test('a REST-style create transaction (assert-create) is checked the same way', async () => {
    // The REST server's create path: a commit with assert-create on a missing table, whose updates
    // may move the location.
    const err = await catalog
      .commitTable(id('txn'), [{ type: 'assert-create' }], [
        { action: 'upgrade-format-version', 'format-version': 2 },
        { action: 'add-schema', schema: SCHEMA, 'last-column-id': 1 },
        { action: 'set-current-schema', 'schema-id': -1 },
        { action: 'add-spec', spec: { 'spec-id': 0, fields: [] } },
        { action: 'set-default-spec', 'spec-id': -1 },
        { action: 'add-sort-order', 'sort-order': { 'order-id': 0, fields: [] } },
        { action: 'set-default-sort-order', 'sort-order-id': -1 },
        { action: 'set-location', location: wh },
      ])
      .then(() => undefined, (e: Error) => e);
    assert.ok(err, 'refused');
    assert.match(err.message, /location refused: .* contains the warehouse root/);
  });

  test('canonical comparison: symlinked parents, s3a, double slashes, whole segments only', () => {
    const link = join(dir, 'link-to-wh');
    symlinkSync(wh, link);
    assert.equal(canonicalLocation(join(link, 'db')), join(wh, 'db'));
    assert.ok(locationContains(link, join(wh, 'db', 'events')));
    assert.ok(locationContains('s3a://bucket/wh/', 's3://bucket//wh/db/t'));
    assert.ok(!locationContains('s3://bucket/wh/events', 's3://bucket/wh/events_dl/x'));
    assert.ok(!locationContains('s3://bucket/wh', 's3://other/wh/x'));
    assert.ok(locationContains('/', '/anything'));
  });
});
