/** dropTable with purge deletes exactly the files the table's metadata references. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { writeManifest } from '../../src/iceberg/avro/manifest.js';
import { writeManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { EntryStatus, FileContent, ManifestContent, type ManifestEntry } from '../../src/iceberg/manifest-types.js';
import { MemoryFileIO } from '../../src/io/memory.js';
import { CONFORMANCE_SCHEMA } from './conformance.js';

describe('SqlCatalog purge', () => {
  it('deletes data files, manifests, manifest lists and metadata, and nothing else', async () => {
    const io = new MemoryFileIO();
    const cat = new SqlCatalog({ name: 'p', uri: ':memory:', warehouse: 'memory://wh', io });
    await cat.createNamespace(['db']);
    const id = { namespace: ['db'], name: 't' };
    const created = await cat.createTable(id, { schema: CONFORMANCE_SCHEMA });
    const loc = created.metadata.location;
    const schema = created.metadata.schemas[0]!;
    const spec = created.metadata['partition-specs'][0]!;

    const entry = (path: string, status: EntryStatus): ManifestEntry => ({
      status,
      snapshot_id: 1n,
      sequence_number: 1n,
      file_sequence_number: 1n,
      data_file: { content: FileContent.DATA, file_path: path, file_format: 'PARQUET', partition: [], record_count: 1, file_size_in_bytes: 10 },
    });
    const live = `${loc}/data/live.parquet`;
    const removed = `${loc}/data/removed.parquet`;
    const manifestPath = `${loc}/metadata/m1.avro`;
    const listPath = `${loc}/metadata/snap-1.avro`;
    for (const p of [live, removed]) await io.write(p, new Uint8Array([1]));
    const manifest = writeManifest({
      formatVersion: 2,
      spec,
      schema,
      partitionType: { type: 'struct', fields: [] },
      content: 'data',
      entries: [entry(live, EntryStatus.ADDED), entry(removed, EntryStatus.DELETED)],
      snapshotId: 1n,
    });
    await io.write(manifestPath, manifest);
    await io.write(
      listPath,
      writeManifestList({
        formatVersion: 2,
        snapshotId: 1n,
        sequenceNumber: 1n,
        manifests: [
          {
            manifest_path: manifestPath,
            manifest_length: manifest.length,
            partition_spec_id: 0,
            content: ManifestContent.DATA,
            sequence_number: 1n,
            min_sequence_number: 1n,
            added_snapshot_id: 1n,
            added_files_count: 1,
            existing_files_count: 0,
            deleted_files_count: 1,
            added_rows_count: 1,
            existing_rows_count: 0,
            deleted_rows_count: 1,
          },
        ],
      }),
    );
    const t1 = await cat.commitTable(id, [], [
      {
        action: 'add-snapshot',
        snapshot: { 'snapshot-id': 1n, 'sequence-number': 1n, 'timestamp-ms': Date.now(), 'manifest-list': listPath, summary: { operation: 'append' }, 'schema-id': 0 },
      },
      { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': 1n },
    ]);
    const bystander = `${loc}/data/not-in-any-manifest.parquet`;
    await io.write(bystander, new Uint8Array([2]));

    await cat.dropTable(id, { purge: true });
    for (const gone of [live, removed, manifestPath, listPath, created.metadataLocation, t1.metadataLocation]) {
      assert.equal(await io.exists(gone), false, `${gone} purged`);
    }
    assert.equal(await io.exists(bystander), true, 'files the metadata does not reference are left alone');
    assert.equal(await cat.tableExists(id), false);
    await cat.close();
  });
});
