/**
 * Several SqlCatalog instances (and processes) on one database: they see each other's commits, and
 * the compare-and-swap on metadata_location lets exactly one of two racing commits land.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CommitConflictError } from '../../src/errors.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { FileIO, WriteOptions } from '../../src/io/file-io.js';
import { LocalFileIO } from '../../src/io/local.js';
import { CONFORMANCE_SCHEMA } from './conformance.js';

/** LocalFileIO whose writes of metadata files wait until `release()` once `hold()` was called. */
class GatedIO extends LocalFileIO implements FileIO {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private reached: (() => void) | undefined;
  /** Resolves when a write reached the gate. */
  waiting: Promise<void> = Promise.resolve();

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
    this.waiting = new Promise((r) => (this.reached = r));
  }

  release(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    if (this.gate && location.endsWith('.metadata.json')) {
      this.reached?.();
      await this.gate;
    }
    return super.write(location, data, options);
  }
}

const id = { namespace: ['shared'], name: 'events' };

describe('SqlCatalog shared between instances', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-sql-sharing-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("sees the other instance's namespaces, tables and commits", async () => {
    const uri = join(dir, 'see.db');
    const a = new SqlCatalog({ name: 'c', uri, warehouse: join(dir, 'wh-see') });
    const b = new SqlCatalog({ name: 'c', uri, warehouse: join(dir, 'wh-see') });
    await a.createNamespace(['shared']);
    assert.equal(await b.namespaceExists(['shared']), true);
    const created = await a.createTable(id, { schema: CONFORMANCE_SCHEMA });
    const viaB = await b.loadTable(id);
    assert.equal(viaB.metadataLocation, created.metadataLocation);
    const staleInA = await a.loadTable(id);
    const evolved = {
      ...staleInA.metadata.schemas[0]!,
      'schema-id': 1,
      fields: [...staleInA.metadata.schemas[0]!.fields, { id: 3, name: 'added_by_b', type: 'long' as const, required: false }],
    };
    const committed = await b.commitTable(
      id,
      [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }],
      [{ action: 'add-schema', schema: evolved }, { action: 'set-current-schema', 'schema-id': -1 }, { action: 'set-properties', updates: { by: 'b' } }],
    );
    const viaA = await a.loadTable(id);
    assert.equal(viaA.metadataLocation, committed.metadataLocation);
    assert.equal(viaA.metadata.properties.by, 'b');
    assert.equal(viaA.metadata['current-schema-id'], 1);
    // A writer still holding the state it loaded before B's commit loses.
    await assert.rejects(
      a.commitTable(
        id,
        [{ type: 'assert-current-schema-id', 'current-schema-id': staleInA.metadata['current-schema-id'] }],
        [{ action: 'set-properties', updates: { by: 'a' } }],
      ),
      CommitConflictError,
    );
    assert.equal((await b.loadTable(id)).metadata.properties.by, 'b');
    await a.close();
    await b.close();
  });

  it('rejects a commit whose base moved between its check and its swap, and removes its file', async () => {
    const uri = join(dir, 'cas.db');
    const wh = join(dir, 'wh-cas');
    const gated = new GatedIO();
    const a = new SqlCatalog({ name: 'c', uri, warehouse: wh, io: gated });
    const b = new SqlCatalog({ name: 'c', uri, warehouse: wh });
    await a.createNamespace(['shared']);
    const created = await a.createTable(id, { schema: CONFORMANCE_SCHEMA });

    gated.hold();
    // A reads the base and passes its requirements, then stalls before writing its new file.
    const slow = a.commitTable(id, [{ type: 'assert-table-uuid', uuid: created.metadata['table-uuid'] }], [
      { action: 'set-properties', updates: { winner: 'a' } },
    ]);
    await gated.waiting;
    const fast = await b.commitTable(id, [], [{ action: 'set-properties', updates: { winner: 'b' } }]);
    gated.release();
    await assert.rejects(slow, (e: unknown) => {
      assert.ok(e instanceof CommitConflictError, String(e));
      assert.match(e.message, /another writer committed first/);
      return true;
    });

    const now = await b.loadTable(id);
    assert.equal(now.metadataLocation, fast.metadataLocation);
    assert.equal(now.metadata.properties.winner, 'b');
    const files = (await readdir(join(wh, 'shared', 'events', 'metadata'))).sort();
    assert.deepEqual(
      files,
      [created.metadataLocation, fast.metadataLocation].map((l) => l.slice(l.lastIndexOf('/') + 1)).sort(),
      "the loser's metadata file was deleted, nothing else",
    );
    await a.close();
    await b.close();
  });

  it('fails a commit retriably, changing nothing, when another connection holds the lock too long', async () => {
    const uri = join(dir, 'busy.db');
    const wh = join(dir, 'wh-busy');
    const cat = new SqlCatalog({ name: 'c', uri, warehouse: wh, busyTimeoutMs: 150 });
    await cat.createNamespace(['shared']);
    const created = await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });
    const other = new Database(uri);
    other.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(cat.commitTable(id, [], [{ action: 'set-properties', updates: { a: 'b' } }]), (e: unknown) => {
        assert.ok(e instanceof CommitConflictError, String(e));
        assert.equal(e.retriable, true);
        assert.match(e.message, /busy/);
        return true;
      });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const t = await cat.loadTable(id);
    assert.equal(t.metadataLocation, created.metadataLocation);
    assert.equal((await readdir(join(wh, 'shared', 'events', 'metadata'))).length, 1, 'the unapplied file was removed');
    await cat.commitTable(id, [], [{ action: 'set-properties', updates: { a: 'b' } }]);
    await cat.close();
  });

  it('serializes commits from two processes without losing any', async () => {
    const uri = join(dir, 'procs.db');
    const wh = join(dir, 'wh-procs');
    const cat = new SqlCatalog({ name: 'c', uri, warehouse: wh });
    await cat.createNamespace(['shared']);
    await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });

    const commits = 8;
    const commitLoop = async (catalog: SqlCatalog, who: string): Promise<void> => {
      for (let i = 0; i < commits; i++) {
        for (;;) {
          const t = await catalog.loadTable(id);
          const n = Number(t.metadata.properties.count ?? '0');
          try {
            await catalog.commitTable(id, [{ type: 'assert-table-uuid', uuid: t.metadata['table-uuid'] }], [
              { action: 'set-properties', updates: { count: String(n + 1), [`${who}.${i}`]: 'done' } },
            ]);
            break;
          } catch (e) {
            if (!(e instanceof CommitConflictError)) throw e;
          }
        }
      }
    };

    // The child runs the same loop through the same module (TypeScript via tsx, or the build).
    const self = fileURLToPath(import.meta.url);
    const isTs = self.endsWith('.ts');
    const modulePath = fileURLToPath(new URL(`../../src/catalog/sql/sql-catalog.${isTs ? 'ts' : 'js'}`, import.meta.url));
    const script = `
      const { SqlCatalog } = await import(${JSON.stringify(modulePath)});
      const cat = new SqlCatalog({ name: 'c', uri: ${JSON.stringify(uri)}, warehouse: ${JSON.stringify(wh)} });
      const id = { namespace: ['shared'], name: 'events' };
      for (let i = 0; i < ${commits}; i++) {
        for (;;) {
          const t = await cat.loadTable(id);
          const n = Number(t.metadata.properties.count ?? '0');
          try {
            await cat.commitTable(id, [{ type: 'assert-table-uuid', uuid: t.metadata['table-uuid'] }],
              [{ action: 'set-properties', updates: { count: String(n + 1), ['child.' + i]: 'done' } }]);
            break;
          } catch (e) {
            if (e.code !== 'COMMIT_CONFLICT') throw e;
          }
        }
      }
      await cat.close();
    `;
    const args = [...(isTs ? ['--import', 'tsx'] : []), '--input-type=module', '-e', script];
    const child = promisify(execFile)(process.execPath, args, { cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    await commitLoop(cat, 'parent');
    await child;

    const t = await cat.loadTable(id);
    // Every increment landed exactly once: a lost update would leave count below 2 × commits.
    assert.equal(t.metadata.properties.count, String(2 * commits));
    for (let i = 0; i < commits; i++) {
      assert.equal(t.metadata.properties[`parent.${i}`], 'done');
      assert.equal(t.metadata.properties[`child.${i}`], 'done');
    }
    assert.equal(t.metadata['metadata-log'].length, 2 * commits);
    await cat.close();
  });
});
