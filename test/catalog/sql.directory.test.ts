/**
 * Where the embedded catalog may create directories. A catalog path whose directory does not
 * exist (`catalog.uri: /nonexistent/dir/catalog.db`, a typo, a volume not mounted) used to be
 * created, and `floe run` silently ingested the stream again into the new, empty catalog: now it
 * is an error naming the path and how to create a catalog on purpose. The default catalog
 * `<warehouse>/catalog.db` creates its warehouse directory (first `floe run`, `floe quickstart`,
 * `floe table create` in a new warehouse). A warehouse or location that cannot be created fails at
 * once (the hang under /proc is covered by `test/cli/table.commands.test.ts`, in a child process).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureLocalDirectory } from '../../src/catalog/local-directory.js';
import { openCatalog } from '../../src/catalog/open.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { ValidationError } from '../../src/errors.js';

describe('SQL catalog: directories', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'floe-catdir-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a catalog uri in a directory that does not exist is an error, and nothing is created', async () => {
    const uri = join(dir, 'nonexistent', 'dir', 'catalog.db');
    for (const open of [
      () => openCatalog({ uri, warehouse: join(dir, 'wh') }),
      () => openCatalog({ uri: `sqlite:///${uri}`, warehouse: join(dir, 'wh') }),
      async () => new SqlCatalog({ name: 'c', uri, warehouse: join(dir, 'wh') }),
    ]) {
      await assert.rejects(open(), (e: unknown) => {
        assert.ok(e instanceof ValidationError, String(e));
        assert.match(e.message, new RegExp(`^catalog: SQLite catalog .*nonexistent/dir/catalog\\.db: directory ${join(dir, 'nonexistent', 'dir')} does not exist`));
        assert.match(e.message, /ingest the stream again/);
        assert.match(e.message, /mkdir -p/);
        return true;
      });
    }
    assert.ok(!existsSync(join(dir, 'nonexistent')), 'no directory was created');
    assert.ok(!existsSync(join(dir, 'wh')), 'no warehouse was created');
  });

  test('an existing directory takes a new catalog file', async () => {
    const cat = await openCatalog({ uri: join(dir, 'explicit.db'), warehouse: join(dir, 'wh-explicit') });
    await cat.close();
    assert.ok(existsSync(join(dir, 'explicit.db')));
  });

  test('the default catalog <warehouse>/catalog.db creates its warehouse directory', async () => {
    const wh = join(dir, 'new', 'warehouse');
    const cat = await openCatalog({ warehouse: wh });
    await cat.close();
    assert.ok(existsSync(join(wh, 'catalog.db')));
    // Also when the URI is spelled out but still names the warehouse's own catalog.
    const wh2 = join(dir, 'new2', 'wh');
    const cat2 = await openCatalog({ uri: join(wh2, 'catalog.db'), warehouse: wh2 });
    await cat2.close();
    assert.ok(existsSync(join(wh2, 'catalog.db')));
  });

  test('a warehouse (or location) path through a file fails at once, naming it', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await assert.rejects(openCatalog({ warehouse: join(file, 'wh') }), /catalog: SQLite catalog .*a-file\/wh\/catalog\.db: cannot create directory .*a-file\/wh/);
    const cat = await openCatalog({ uri: join(dir, 'c3.db'), warehouse: join(file, 'wh') });
    try {
      await cat.createNamespace(['db']);
      const schema = { type: 'struct' as const, 'schema-id': 0, fields: [{ id: 1, name: 'a', required: false, type: 'long' as const }] };
      await assert.rejects(cat.createTable({ namespace: ['db'], name: 't' }, { schema }), /catalog: table db\.t: location: cannot create directory .*a-file\/wh\/db\/t/);
    } finally {
      await cat.close();
    }
  });

  test('ensureLocalDirectory: creates missing levels, accepts existing ones, never loops', { skip: !existsSync('/proc/self') && 'no /proc' }, () => {
    const deep = join(dir, 'x', 'y', 'z');
    ensureLocalDirectory(deep, 'test');
    ensureLocalDirectory(deep, 'test');
    assert.ok(existsSync(deep));
    // Under /proc mkdir answers ENOENT although the parent exists: Node 20's recursive mkdir loops.
    const t0 = Date.now();
    assert.throws(() => ensureLocalDirectory('/proc/floe-test/wh', 'catalog: warehouse'), /^ValidationError: catalog: warehouse: cannot create directory \/proc\/floe-test\/wh \(at \/proc\/floe-test\)/);
    assert.ok(Date.now() - t0 < 1000);
  });
});
