/**
 * `s3://bucket/key` and `s3a://bucket/key` locations. Both schemes name the same object (`s3a` is
 * what Hadoop-based writers such as Spark on EMR record); the scheme is kept so that locations
 * handed back (listings) compare equal to the ones written in metadata.
 *
 * Keys are used exactly as written: like every Iceberg implementation, floe never percent-encodes
 * or decodes locations.
 */
import { ValidationError } from '../errors.js';

/** The schemes the S3 FileIO serves. */
export const S3_SCHEMES: readonly string[] = Object.freeze(['s3', 's3a']);

/** A parsed S3 location. */
export interface S3Location {
  /** `s3` or `s3a`, lower case, as written. */
  scheme: string;
  bucket: string;
  /** The object key (or key prefix); may be empty for a bucket-level prefix. */
  key: string;
}

const S3_LOCATION = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(?:\/(.*))?$/s;

/**
 * Splits `s3://bucket/key` (or `s3a://…`).
 * @param allowEmptyKey accept `s3://bucket` and `s3://bucket/` (list prefixes); objects need a key
 * @throws ValidationError naming the location when it is not an S3 location
 */
export function parseS3Location(location: string, allowEmptyKey = false): S3Location {
  const m = S3_LOCATION.exec(location);
  const scheme = m?.[1]?.toLowerCase();
  if (!m || scheme === undefined || !S3_SCHEMES.includes(scheme)) {
    throw new ValidationError(`io: ${location}: not an S3 location (expected s3://bucket/key or s3a://bucket/key)`);
  }
  const bucket = m[2] ?? '';
  const key = m[3] ?? '';
  // Bucket naming rules (lower case, digits, dots, hyphens) are the server's business; only
  // reject what can never be a bucket name.
  if (bucket.length === 0 || /[\s/?#]/.test(bucket)) {
    throw new ValidationError(`io: ${location}: invalid bucket name '${bucket}'`);
  }
  if (!allowEmptyKey && (key.length === 0 || key.endsWith('/'))) {
    throw new ValidationError(`io: ${location}: an S3 object location needs a key that does not end with '/'`);
  }
  return { scheme, bucket, key };
}

/** `{ scheme: 's3a', bucket: 'b', key: 'k/x' }` → `s3a://b/k/x`. */
export function formatS3Location(loc: S3Location): string {
  return `${loc.scheme}://${loc.bucket}/${loc.key}`;
}
