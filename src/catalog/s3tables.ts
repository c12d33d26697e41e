/**
 * Amazon S3 Tables as a catalog: a shorthand for the Iceberg REST client pointed at the S3 Tables
 * Iceberg REST endpoint of a table bucket. AWS documents the endpoint as
 * `https://s3tables.<region>.amazonaws.com/iceberg`, the warehouse as the table bucket's ARN
 * (`arn:aws:s3tables:<region>:<account>:bucket/<name>`) and SigV4 with the signing name
 * `s3tables`; this module derives all three from one catalog URI:
 *
 * - `arn:aws:s3tables:us-east-1:111122223333:bucket/my-table-bucket` (the bucket ARN itself), or
 * - `s3tables://my-table-bucket[?region=…&account=…]` (region default AWS_REGION, account
 *   default AWS_ACCOUNT_ID: the ARN needs both).
 *
 * The endpoint follows the SDK's conventions for the S3 Tables service: AWS_ENDPOINT_URL_S3TABLES
 * (then AWS_ENDPOINT_URL) replaces `https://s3tables.<region>.amazonaws.com`, and `/iceberg` is
 * appended; `?endpoint=` in the URI gives the full REST URI instead.
 */
import { resolveAwsClientConfig, type AwsCredentialProvider, type AwsCredentials, type AwsEnv } from '../aws/client-config.js';
import { ValidationError } from '../errors.js';
import { RestCatalog, type RestCatalogOptions } from './rest/rest-catalog.js';

/** The SigV4 signing name of the S3 Tables Iceberg REST endpoint. */
export const S3TABLES_SIGNING_NAME = 's3tables';

/** What an S3 Tables catalog URI resolves to. */
export interface S3TablesTarget {
  /** The table bucket's ARN: the REST warehouse. */
  bucketArn: string;
  bucket: string;
  region: string;
  accountId: string;
  /** `aws`, `aws-cn`, `aws-us-gov`. */
  partition: string;
  /** The Iceberg REST catalog URI. */
  endpoint: string;
  signingName: typeof S3TABLES_SIGNING_NAME;
}

const ARN = /^arn:(aws[a-z-]*):s3tables:([a-z0-9-]+):(\d{12}):bucket\/([^/?#\s]+)$/;
const SHORTHAND = /^s3tables:\/\/([^/?#]+)\/?(?:\?([^#]*))?$/i;
// S3 table bucket names: 3-63 lower-case letters, digits and hyphens, starting and ending alphanumeric.
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/** True for a URI {@link parseS3TablesUri} handles (an S3 Tables bucket ARN or `s3tables://`). */
export function isS3TablesUri(uri: string): boolean {
  return /^arn:aws[a-z-]*:s3tables:/i.test(uri.trim()) || /^s3tables:/i.test(uri.trim());
}

function dnsSuffix(partition: string): string {
  return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * Resolves an S3 Tables catalog URI (see the file comment).
 * @throws ValidationError naming the URI when it is malformed or the region/account are unknown
 */
export function parseS3TablesUri(uri: string, env: AwsEnv = process.env): S3TablesTarget {
  const text = uri.trim();
  let partition = 'aws';
  let region: string | undefined;
  let accountId: string | undefined;
  let bucket: string;
  let endpointParam: string | undefined;
  const arn = ARN.exec(text);
  if (arn) {
    [, partition, region, accountId] = arn as unknown as [string, string, string, string];
    bucket = arn[4]!;
  } else {
    const m = SHORTHAND.exec(text);
    if (!m) {
      throw new ValidationError(
        `catalog: '${uri}' is not an S3 Tables catalog URI (expected arn:aws:s3tables:<region>:<account>:bucket/<name> or s3tables://<bucket>)`,
      );
    }
    bucket = decodeURIComponent(m[1]!);
    for (const [k, v] of new URLSearchParams(m[2] ?? '')) {
      if (k === 'region') region = v;
      else if (k === 'account') accountId = v;
      else if (k === 'endpoint') endpointParam = v;
      else throw new ValidationError(`catalog: ${uri}: unknown parameter '${k}' (known: region, account, endpoint)`);
    }
    region ??= (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined);
    accountId ??= env.AWS_ACCOUNT_ID || undefined;
    if (!region) throw new ValidationError(`catalog: ${uri}: no region for the S3 table bucket (add ?region=… or set AWS_REGION)`);
    if (!accountId) {
      throw new ValidationError(
        `catalog: ${uri}: the table bucket's account is unknown (use the bucket ARN arn:aws:s3tables:${region}:<account>:bucket/${bucket}, add ?account=…, or set AWS_ACCOUNT_ID)`,
      );
    }
    if (!/^\d{12}$/.test(accountId)) throw new ValidationError(`catalog: ${uri}: account must be a 12-digit AWS account id, got '${accountId}'`);
  }
  if (!BUCKET.test(bucket)) {
    throw new ValidationError(`catalog: ${uri}: '${bucket}' is not a valid table bucket name (3-63 lower-case letters, digits, hyphens)`);
  }
  const bucketArn = `arn:${partition}:s3tables:${region}:${accountId}:bucket/${bucket}`;
  let endpoint = endpointParam;
  if (!endpoint) {
    const service = resolveAwsClientConfig('S3Tables', { env, region }).endpoint ?? `https://s3tables.${region}.${dnsSuffix(partition)}`;
    endpoint = `${service.replace(/\/+$/, '')}/iceberg`;
  }
  return { bucketArn, bucket, region, accountId, partition, endpoint, signingName: S3TABLES_SIGNING_NAME };
}

/** Options of {@link openS3TablesCatalog} beyond the URI. */
export interface S3TablesCatalogOptions extends Omit<RestCatalogOptions, 'uri' | 'warehouse' | 'auth'> {
  /** Credentials for SigV4; default the AWS default credential chain. */
  credentials?: AwsCredentials | AwsCredentialProvider;
  /** Environment to read instead of `process.env` (tests). */
  env?: AwsEnv;
}

/** The REST catalog options an S3 Tables target needs: endpoint, bucket ARN as warehouse, SigV4 `s3tables`. */
export function s3TablesRestOptions(target: S3TablesTarget, options: S3TablesCatalogOptions = {}): RestCatalogOptions {
  const { credentials, env, ...rest } = options;
  return {
    ...rest,
    uri: target.endpoint,
    warehouse: target.bucketArn,
    name: options.name ?? target.bucket,
    auth: {
      type: 'sigv4',
      signingName: target.signingName,
      region: target.region,
      ...(credentials !== undefined ? { credentials } : {}),
      ...(env !== undefined ? { env } : {}),
    },
  };
}

/** Opens the REST catalog of an S3 table bucket from its ARN or `s3tables://` URI. */
export function openS3TablesCatalog(uri: string, options: S3TablesCatalogOptions = {}): RestCatalog {
  return new RestCatalog(s3TablesRestOptions(parseS3TablesUri(uri, options.env), options));
}
