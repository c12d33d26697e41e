/** Metadata files written by SqlCatalog: parseable, versioned, never overwritten, where configured. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { AlreadyExistsError, NoSuchNamespaceError, ValidationError } from '../../src/errors.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import { MemoryFileIO } from '../../src/io/memory.js';
import { CONFORMANCE_SCHEMA } from './conformance.js';

describe('SqlCatalog metadata files', () => {
  let dir = '';
  let cat: SqlCatalog;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-sql-files-'));
    cat = new SqlCatalog({ name: 'files', uri: join(dir, 'c.db'), warehouse: join(dir, 'wh') });
    await cat.createNamespace(['db']);
  });
  after(async () => {
    await cat.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes numbered metadata files that parseTableMetadata reads back', async () => {
    const id = { namespace: ['db'], name: 'versions' };
    const t0 = await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });
    assert.equal(t0.metadataLocation.startsWith(join(dir, 'wh', 'db', 'versions', 'metadata') + '/'), true, t0.metadataLocation);
    const t1 = await cat.commitTable(id, [], [{ action: 'set-properties', updates: { n: '1' } }]);
    const t2 = await cat.commitTable(id, [], [{ action: 'set-properties', updates: { n: '2' } }]);
    const names = (await readdir(join(dir, 'wh', 'db', 'versions', 'metadata'))).sort();
    assert.equal(names.length, 3);
    names.forEach((n, i) => assert.match(n, new RegExp(`^0000${i}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.metadata\\.json$`)));
    for (const t of [t0, t1, t2]) {
      const md = parseTableMetadata(await readFile(t.metadataLocation, 'utf8'), t.metadataLocation);
      assert.deepEqual(md, t.metadata, `${t.metadataLocation} holds exactly the returned metadata`);
    }
    assert.deepEqual(
      t2.metadata['metadata-log'].map((e) => e['metadata-file']),
      [t0.metadataLocation, t1.metadataLocation],
    );
  });

  it('never overwrites an existing metadata file', async () => {
    const id = { namespace: ['db'], name: 'immutable' };
    const t = await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });
    const before = await readFile(t.metadataLocation, 'utf8');
    await assert.rejects(t.io.write(t.metadataLocation, new TextEncoder().encode('{}')), AlreadyExistsError);
    assert.equal(await readFile(t.metadataLocation, 'utf8'), before);
    assert.equal((await cat.loadTable(id)).metadata['table-uuid'], t.metadata['table-uuid']);
  });

  it('writes no new file for a commit that changes nothing', async () => {
    const id = { namespace: ['db'], name: 'noop' };
    await cat.createTable(id, { schema: CONFORMANCE_SCHEMA, properties: { same: 'v' } });
    const t1 = await cat.commitTable(id, [], [{ action: 'set-properties', updates: { same: 'v2' } }]);
    const again = await cat.commitTable(id, [], [{ action: 'set-properties', updates: { same: 'v2' } }]);
    assert.equal(again.metadataLocation, t1.metadataLocation);
    assert.equal((await readdir(join(dir, 'wh', 'db', 'noop', 'metadata'))).length, 2);
  });

  it('honours write.metadata.path and gzip compression', async () => {
    const id = { namespace: ['db'], name: 'configured' };
    const mdDir = join(dir, 'elsewhere', 'md');
    await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });
    const t1 = await cat.commitTable(id, [], [
      { action: 'set-properties', updates: { 'write.metadata.path': mdDir, 'write.metadata.compression-codec': 'gzip' } },
    ]);
    assert.ok(t1.metadataLocation.startsWith(`${mdDir}/00001-`), t1.metadataLocation);
    assert.ok(t1.metadataLocation.endsWith('.gz.metadata.json'), t1.metadataLocation);
    const text = gunzipSync(await readFile(t1.metadataLocation)).toString('utf8');
    assert.deepEqual(parseTableMetadata(text), t1.metadata);
    const loaded = await cat.loadTable(id);
    assert.equal(loaded.metadataLocation, t1.metadataLocation);
    assert.equal(loaded.metadata.properties['write.metadata.compression-codec'], 'gzip');
    const t2 = await cat.commitTable(id, [], [{ action: 'set-properties', updates: { more: '1' } }]);
    assert.match(t2.metadataLocation, /\/00002-[^/]+\.gz\.metadata\.json$/);
  });

  it('places tables by namespace, honouring a namespace location', async () => {
    await cat.createNamespace(['db', 'nested']);
    const nested = await cat.createTable({ namespace: ['db', 'nested'], name: 't' }, { schema: CONFORMANCE_SCHEMA });
    assert.equal(nested.metadata.location, join(dir, 'wh', 'db.nested', 't'));
    await cat.createNamespace(['placed'], { location: `${join(dir, 'placed-here')}/` });
    const placed = await cat.createTable({ namespace: ['placed'], name: 't' }, { schema: CONFORMANCE_SCHEMA });
    assert.equal(placed.metadata.location, join(dir, 'placed-here', 't'));
  });

  it('registers only readable metadata files', async () => {
    await assert.rejects(cat.registerTable({ namespace: ['db'], name: 'ghost' }, join(dir, 'missing.metadata.json')));
    assert.equal(await cat.tableExists({ namespace: ['db'], name: 'ghost' }), false);
    await assert.rejects(cat.registerTable({ namespace: ['nope'], name: 'ghost' }, join(dir, 'x.json')), NoSuchNamespaceError);
  });

  it('rejects namespace levels that cannot round-trip through the JDBC string', async () => {
    await assert.rejects(cat.createNamespace(['a.b']), ValidationError);
    await assert.rejects(cat.createNamespace([]), ValidationError);
    await assert.rejects(cat.createNamespace(['ok', '']), ValidationError);
    await assert.rejects(cat.updateNamespaceProperties(['db'], ['k'], { k: 'v' }), ValidationError);
  });

  it('uses the FileIO it was given for every table file', async () => {
    const io = new MemoryFileIO();
    const mem = new SqlCatalog({ name: 'm', uri: ':memory:', warehouse: 'memory://wh', io });
    await mem.createNamespace(['db']);
    const t = await mem.createTable({ namespace: ['db'], name: 't' }, { schema: CONFORMANCE_SCHEMA });
    assert.equal(t.io, io);
    assert.ok(await io.exists(t.metadataLocation));
    assert.match(t.metadataLocation, /^memory:\/\/wh\/db\/t\/metadata\/00000-/);
    await mem.close();
    await assert.rejects(mem.listNamespaces(), /closed/);
  });
});
