/** Metadata-file bookkeeping: metadata log, file names, versions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import { newTableMetadata } from '../../src/iceberg/table-metadata.js';
import { metadataCodec, metadataFileName, metadataVersion, withMetadataLog } from '../../src/iceberg/update-metadata.js';

const base = () =>
  newTableMetadata({
    location: 'file:///t',
    schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'a', required: false, type: 'int' }] },
    nowMs: 5000,
  });

test('withMetadataLog appends the replaced file without mutating its input', () => {
  const md = base();
  const out = withMetadataLog(md, 'file:///t/metadata/00000-a.metadata.json', 4000);
  assert.deepEqual(out['metadata-log'], [{ 'timestamp-ms': 4000, 'metadata-file': 'file:///t/metadata/00000-a.metadata.json' }]);
  assert.deepEqual(md['metadata-log'], []);
  const out2 = withMetadataLog(out, 'file:///t/metadata/00001-b.metadata.json', 4500);
  assert.deepEqual(out2['metadata-log'].map((e) => e['metadata-file']), [
    'file:///t/metadata/00000-a.metadata.json',
    'file:///t/metadata/00001-b.metadata.json',
  ]);
});

test('withMetadataLog keeps the newest write.metadata.previous-versions-max entries (default 100)', () => {
  let md = base();
  for (let i = 0; i < 105; i++) md = withMetadataLog(md, `f${i}`, i);
  assert.equal(md['metadata-log'].length, 100);
  assert.equal(md['metadata-log'][0]?.['metadata-file'], 'f5');
  assert.equal(md['metadata-log'].at(-1)?.['metadata-file'], 'f104');

  let small: TableMetadata = { ...base(), properties: { 'write.metadata.previous-versions-max': '2' } };
  for (let i = 0; i < 5; i++) small = withMetadataLog(small, `f${i}`, i);
  assert.deepEqual(small['metadata-log'].map((e) => e['metadata-file']), ['f3', 'f4']);

  // Java keeps at least one entry even when the property says 0.
  const zero = withMetadataLog({ ...base(), properties: { 'write.metadata.previous-versions-max': '0' } }, 'only', 1);
  assert.equal(zero['metadata-log'].length, 1);
});

test('metadataFileName: 5-digit zero-padded version, random uuid, optional gzip', () => {
  const a = metadataFileName(1);
  const b = metadataFileName(1);
  assert.match(a, /^00001-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.metadata\.json$/);
  assert.notEqual(a, b, 'two writers never produce the same name');
  assert.match(metadataFileName(123456), /^123456-/);
  assert.match(metadataFileName(7, 'gzip'), /^00007-.*\.gz\.metadata\.json$/);
  assert.throws(() => metadataFileName(-1), ValidationError);
  assert.throws(() => metadataFileName(1.5), ValidationError);
});

test('metadataVersion reads catalog, Hadoop and gzip names', () => {
  assert.equal(metadataVersion('s3://b/t/metadata/00001-5f2f8166-244c-4eae-ac36-384ecdec81fc.metadata.json'), 1);
  assert.equal(metadataVersion('s3://b/t/metadata/00042-5f2f8166-244c-4eae-ac36-384ecdec81fc.gz.metadata.json'), 42);
  assert.equal(metadataVersion('/t/metadata/v9.metadata.json'), 9);
  assert.equal(metadataVersion('v3.gz.metadata.json'), 3);
  assert.equal(metadataVersion('file:///t/metadata/v12.metadata.json.gz'), 12);
  assert.equal(metadataVersion(`file:///t/metadata/${metadataFileName(17)}`), 17);
  assert.equal(metadataVersion('s3://b/t/metadata.json'), undefined);
  assert.equal(metadataVersion('s3://b/t/metadata/abc-1.metadata.json'), undefined);
  assert.equal(metadataVersion('s3://b/00001-x/metadata/snap-1.avro'), undefined);
});

test('metadataCodec tells gzip files apart', () => {
  assert.equal(metadataCodec('s3://b/t/metadata/00001-u.gz.metadata.json'), 'gzip');
  assert.equal(metadataCodec('s3://b/t/metadata/v1.metadata.json.gz'), 'gzip');
  assert.equal(metadataCodec('s3://b/t/metadata/00001-u.metadata.json'), 'none');
});
