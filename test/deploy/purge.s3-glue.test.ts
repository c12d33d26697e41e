/**
 * `floe destroy --purge` after the stack is gone: the Glue database goes with its tables; the table
 * data goes too: the whole bucket when the stack created it, else only the database's prefix and
 * the Athena results, other keys of a bucket that is not the stack's left alone. Against s3rver
 * and the Glue stand-in.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateDatabaseCommand, GetDatabaseCommand, GlueClient } from '@aws-sdk/client-glue';
import { HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/pipeline/config.js';
import { purgeKept } from '../../src/deploy/purge.js';
import { stackPlan } from '../../src/deploy/template.js';
import { repoRoot } from '../helpers/shared.js';
import { startGlueFake } from '../catalog/glue-fake.js';
import { S3RVER_CREDENTIALS, startS3rver } from '../io/s3rver.js';

const BUCKET = 'glue-streaming-iceberg-data-123456789012';

for (const bucket of ['existing', 'create'] as const) {
  test(`destroy --purge (deploy.bucket: ${bucket}): the database and the table data`, { timeout: 60_000 }, async () => {
    const s3server = await startS3rver([BUCKET]);
    const glueFake = await startGlueFake();
    const s3 = new S3Client({ endpoint: s3server.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...S3RVER_CREDENTIALS } });
    const glue = new GlueClient({ endpoint: glueFake.endpoint, region: 'ap-northeast-1', credentials: { accessKeyId: 'AKID', secretAccessKey: 'secret' } });
    try {
      const raw = parseYaml(readFileSync(join(repoRoot(), 'examples', 'aws-deploy.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
      raw.deploy!.bucket = bucket;
      const plan = stackPlan(validateConfig(raw));
      await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: plan.database } }));
      const keys = [
        'warehouse/glue_streaming_iceberg_db.db/streaming_events/data/a.parquet',
        'warehouse/glue_streaming_iceberg_db.db/streaming_events/metadata/00001.metadata.json',
        'warehouse/glue_streaming_iceberg_db.db/streaming_events_dead_letters/data/b.parquet',
        'athena-results/q1.csv',
        'warehouse/other_db.db/t/data/c.parquet',
        'notes.txt',
      ];
      for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: 'x' }));

      const lines: string[] = [];
      await purgeKept(plan, { s3, glue }, (l) => lines.push(l));
      await assert.rejects(glue.send(new GetDatabaseCommand({ Name: plan.database })), { name: 'EntityNotFoundException' });
      if (bucket === 'create') {
        await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: BUCKET })));
        assert.deepEqual(lines, ['deleted Glue database glue_streaming_iceberg_db and its tables', `deleted bucket ${BUCKET} (6 objects)`]);
      } else {
        const left = (await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents?.map((o) => o.Key).sort();
        assert.deepEqual(left, ['notes.txt', 'warehouse/other_db.db/t/data/c.parquet']);
        assert.match(lines[1]!, /^deleted 4 objects under s3:\/\/glue-streaming-iceberg-data-123456789012\/warehouse\/glue_streaming_iceberg_db\.db\/ and .*\(the bucket is not the stack's: kept\)$/);
      }
      // A second purge finds nothing and does not fail.
      if (bucket === 'existing') await purgeKept(plan, { s3, glue }, () => {});
    } finally {
      s3.destroy();
      glue.destroy();
      await glueFake.stop();
      await s3server.close();
    }
  });
}
