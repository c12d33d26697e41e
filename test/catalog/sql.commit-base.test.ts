/**
 * SqlCatalog keeps the metadata it just wrote as the base of its next commit (issue 12: a metadata
 * file read and parsed again at every commit was most of the pipeline's garbage). The base must be
 * exactly what the file holds: another writer's commit is read from its file, and what a commit
 * returns can be changed by its caller without reaching the next commit.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import type { TableUpdate } from '../../src/iceberg/commit.js';
import { MemoryFileIO } from '../../src/io/memory.js';
import { CONFORMANCE_SCHEMA } from './conformance.js';

/** A MemoryFileIO that counts the reads of metadata files. */
class CountingIO extends MemoryFileIO {
  metadataReads = 0;
  override async read(location: string): Promise<Uint8Array> {
    if (location.endsWith('.metadata.json')) this.metadataReads++;
    return super.read(location);
  }
}

const WAREHOUSE = 'memory://wh';

/** An append of snapshot `id` (sequence number `seq`) on top of `parent`, made main. */
function append(id: bigint, parent: bigint | undefined, seq: bigint): TableUpdate[] {
  return [
    {
      action: 'add-snapshot',
      snapshot: {
        'snapshot-id': id,
        ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
        'sequence-number': seq,
        'timestamp-ms': Date.now(),
        'manifest-list': `${WAREHOUSE}/db/t/metadata/snap-${id}-1-${randomUUID()}.avro`,
        summary: { operation: 'append', 'floe.checkpoint.s': `${seq}` },
        'schema-id': 0,
      },
    },
    { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
  ];
}

describe('SqlCatalog commit base', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-sql-base-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('commits in a row without reading back the metadata files it wrote', async () => {
    const io = new CountingIO();
    const cat = new SqlCatalog({ name: 'c', uri: join(dir, 'row.db'), warehouse: WAREHOUSE, io });
    try {
      await cat.createNamespace(['db']);
      const id = { namespace: ['db'], name: 't' };
      await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });
      // The first commit reads the created table's file; the next ones start from what was written.
      let t = await cat.commitTable(id, [], append(1n, undefined, 1n));
      const readsAfterFirst = io.metadataReads;
      for (let i = 2n; i <= 20n; i++) t = await cat.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': i - 1n }], append(i, i - 1n, i));
      assert.equal(io.metadataReads, readsAfterFirst, 'no metadata file read for commits 2..20');
      assert.equal(t.metadata.snapshots.length, 20);
      // What the commits built is what the files hold.
      const loaded = await cat.loadTable(id);
      assert.deepEqual(loaded.metadata, t.metadata);
      assert.deepEqual(
        loaded.metadata.snapshots.map((s) => s['snapshot-id']),
        Array.from({ length: 20 }, (_, i) => BigInt(i + 1)),
      );
    } finally {
      await cat.close();
    }
  });

  it("reads another writer's commit from its file and builds on it", async () => {
    const io = new CountingIO();
    const uri = join(dir, 'two.db');
    const a = new SqlCatalog({ name: 'c', uri, warehouse: WAREHOUSE, io });
    const b = new SqlCatalog({ name: 'c', uri, warehouse: WAREHOUSE, io });
    try {
      await a.createNamespace(['db']);
      const id = { namespace: ['db'], name: 't' };
      await a.createTable(id, { schema: CONFORMANCE_SCHEMA });
      await a.commitTable(id, [], append(1n, undefined, 1n));
      await b.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1n }], append(2n, 1n, 2n));
      // A still holds the file it wrote (snapshot 1): a commit asserting main = 1 must lose...
      await assert.rejects(a.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 1n }], append(3n, 1n, 3n)), {
        name: 'CommitConflictError',
      });
      // ...and one asserting main = 2 (B's snapshot) lands on B's metadata.
      const t = await a.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': 2n }], append(3n, 2n, 3n));
      assert.deepEqual(
        t.metadata.snapshots.map((s) => s['snapshot-id']),
        [1n, 2n, 3n],
      );
      assert.equal(t.metadata['last-sequence-number'], 3n);
      assert.deepEqual((await b.loadTable(id)).metadata, t.metadata);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps what a caller does to a returned table away from the next commit', async () => {
    const cat = new SqlCatalog({ name: 'c', uri: join(dir, 'mutate.db'), warehouse: WAREHOUSE, io: new MemoryFileIO() });
    try {
      await cat.createNamespace(['db']);
      const id = { namespace: ['db'], name: 't' };
      await cat.createTable(id, { schema: CONFORMANCE_SCHEMA, properties: { same: 'v' } });
      const t1 = await cat.commitTable(id, [], append(1n, undefined, 1n));
      t1.metadata.properties.injected = 'x';
      t1.metadata.snapshots.length = 0;
      // A no-op commit returns the base: changing it must not reach the base either.
      const noop = await cat.commitTable(id, [], [{ action: 'set-properties', updates: { same: 'v' } }]);
      assert.equal(noop.metadataLocation, t1.metadataLocation);
      assert.equal(noop.metadata.snapshots.length, 1);
      noop.metadata.properties.injected = 'y';
      const t2 = await cat.commitTable(id, [], append(2n, 1n, 2n));
      assert.equal(t2.metadata.properties.injected, undefined);
      assert.deepEqual(
        t2.metadata.snapshots.map((s) => s['snapshot-id']),
        [1n, 2n],
      );
      assert.deepEqual((await cat.loadTable(id)).metadata, t2.metadata);
    } finally {
      await cat.close();
    }
  });
});
