/**
 * `floe destroy --purge`: what the stack keeps on deletion (`Retain`) removed as well: the Glue
 * database with its tables, and the table data: the whole bucket when the stack created it, else
 * only the database's prefix and the Athena results prefix in it.
 */
import { DeleteDatabaseCommand, GlueClient } from '@aws-sdk/client-glue';
import { DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { FloeError } from '../errors.js';
import type { StackPlan } from './template.js';

const objects = (n: number): string => `${n} object${n === 1 ? '' : 's'}`;

/** Deletes every object under `prefix` ('' = the whole bucket); returns how many. */
async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}), ...(token ? { ContinuationToken: token } : {}) }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) {
      const r = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      if (r.Errors?.length) {
        throw new FloeError('PURGE_INCOMPLETE', `destroy: s3://${bucket}/${r.Errors[0]!.Key}: ${r.Errors[0]!.Code}: ${r.Errors[0]!.Message} (${r.Errors.length} objects not deleted)`);
      }
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

/** Removes the data the stack kept; reports each step. */
export async function purgeKept(plan: StackPlan, clients: { s3: S3Client; glue: GlueClient }, progress: (line: string) => void): Promise<void> {
  try {
    await clients.glue.send(new DeleteDatabaseCommand({ Name: plan.database }));
    progress(`deleted Glue database ${plan.database} and its tables`);
  } catch (e) {
    if ((e as { name?: string }).name !== 'EntityNotFoundException') {
      throw new FloeError('PURGE_INCOMPLETE', `destroy: cannot delete Glue database ${plan.database}: ${(e as Error).message}`, { cause: e });
    }
  }
  try {
    if (plan.deploy.bucket === 'create') {
      const n = await deletePrefix(clients.s3, plan.bucket, '');
      await clients.s3.send(new DeleteBucketCommand({ Bucket: plan.bucket }));
      progress(`deleted bucket ${plan.bucket} (${objects(n)})`);
    } else {
      const dbPrefix = `${plan.warehousePrefix ? plan.warehousePrefix + '/' : ''}${plan.database}.db/`;
      const n = (await deletePrefix(clients.s3, plan.bucket, dbPrefix)) + (await deletePrefix(clients.s3, plan.bucket, `${plan.resultsPrefix}/`));
      progress(`deleted ${objects(n)} under s3://${plan.bucket}/${dbPrefix} and s3://${plan.bucket}/${plan.resultsPrefix}/ (the bucket is not the stack's: kept)`);
    }
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchBucket') return;
    if (e instanceof FloeError) throw e;
    throw new FloeError('PURGE_INCOMPLETE', `destroy: cannot empty s3://${plan.bucket}: ${(e as Error).message}`, { cause: e });
  }
}
