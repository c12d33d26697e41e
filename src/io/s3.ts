/**
 * FileIO over Amazon S3 and S3-compatible stores, for `s3://bucket/key` and `s3a://bucket/key`.
 *
 * - Reads: GetObject (ranged with `bytes=a-b`; suffix ranges are never used, some stores get
 *   them wrong), HeadObject for stat/exists.
 * - Writes: PutObject, or a multipart upload from `multipartThresholdBytes` on; without
 *   `overwrite` they never replace an existing object (`If-None-Match: *` plus the client-side
 *   guards described in `s3-upload.ts`).
 * - Deletes: DeleteObject, and {@link S3FileIO.deleteFiles} for batches (DeleteObjects, 1,000 keys
 *   per request).
 * - Listing: ListObjectsV2, paginated; the prefix is a plain string prefix, like S3's own.
 * - `localPath`: a local copy in a cache directory keyed by location and object version
 *   (`s3-cache.ts`), for DuckDB.
 * - Every call is retried with exponential backoff on throttling, 5xx, timeouts and dropped
 *   connections (SDK retries are off; see `s3-client.ts`).
 *
 * Client settings follow the SDK conventions: AWS_REGION, AWS_ENDPOINT_URL_S3 (path-style
 * addressing for such custom endpoints), the default credential chain, with dummy credentials for
 * a custom endpoint when none are configured.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { FloeError, ValidationError } from '../errors.js';
import { checkRetryPolicy, DEFAULT_RETRY_POLICY, retry, type RetryEvent, type RetryPolicy } from '../retry.js';
import type { FileInfo, FileIO, WriteOptions } from './file-io.js';
import { checkRange } from './local.js';
import { cachedLocalPath, DEFAULT_S3_CACHE_MAX_BYTES, defaultS3CacheDir } from './s3-cache.js';
import { s3ClientFromEnv, type S3ClientOptions } from './s3-client.js';
import { isRetriableS3Error, isS3NotFound, isS3PreconditionFailed, s3Error, s3ErrorName, s3ErrorStatus } from './s3-errors.js';
import { formatS3Location, parseS3Location } from './s3-location.js';
import { S3_MIN_PART_SIZE, uploadObject, type UploadSettings } from './s3-upload.js';

const MiB = 1024 * 1024;

/** Options of {@link S3FileIO}. Client settings are ignored when `client` is given. */
export interface S3FileIOOptions extends S3ClientOptions {
  /** A ready S3 client (the caller keeps ownership); default one built by `s3ClientFromEnv`. */
  client?: S3Client;
  /** Objects of at least this size are uploaded in parts. Default 16 MiB. */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads, at least 5 MiB. Default 16 MiB. */
  partSizeBytes?: number;
  /** Parts uploaded concurrently. Default 4. */
  partConcurrency?: number;
  /** Keys per ListObjectsV2 page (1..1000). Default 1000. */
  listPageSize?: number;
  /** Directory of `localPath` copies. Default `<os tmpdir>/floe-s3-cache`. */
  cacheDir?: string;
  /** Bound of that directory's size; least recently used copies go first. Default 2 GiB. */
  cacheMaxBytes?: number;
  /** Retry policy of every call. Default 5 attempts, 100 ms doubling up to 5 s. */
  retry?: Partial<RetryPolicy>;
  /**
   * HeadObject before each no-overwrite write, for stores that ignore `If-None-Match` (see
   * `s3-upload.ts`). Default true; turn off against AWS S3 to save a request per write.
   */
  checkBeforeWrite?: boolean;
  /** Called before each retry (logging, tests). */
  onRetry?: (operation: string, location: string, event: RetryEvent) => void;
}

/** Result of {@link S3FileIO.deleteFiles}. */
export interface DeleteFilesResult {
  deleted: string[];
  failures: { location: string; error: FloeError }[];
}

/**
 * Conditional writes to the same object from this process, serialized so that the HeadObject
 * check and the write of one cannot interleave with another's (process-wide: several S3FileIO
 * instances may point at the same store).
 */
const conditionalWrites = new Map<string, Promise<void>>();

async function serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = conditionalWrites.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  conditionalWrites.set(key, tail);
  try {
    return await run;
  } finally {
    if (conditionalWrites.get(key) === tail) conditionalWrites.delete(key);
  }
}

function positiveInt(value: number | undefined, fallback: number, what: string, min = 1): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < min) throw new ValidationError(`io: s3: ${what} must be an integer >= ${min}, got ${value}`);
  return v;
}

/** FileIO for `s3://` and `s3a://` locations (see the file comment). */
export class S3FileIO implements FileIO {
  /** The client every call goes through. */
  readonly client: S3Client;
  private readonly ownsClient: boolean;
  private readonly retryPolicy: RetryPolicy;
  private readonly upload: UploadSettings;
  private readonly listPageSize: number;
  private readonly cacheDir: string;
  private readonly cacheMaxBytes: number;
  private readonly onRetry: S3FileIOOptions['onRetry'];
  /** Distinguishes stores in the write lock (two endpoints may have equally named buckets). */
  private readonly storeKey: string;

  constructor(options: S3FileIOOptions = {}) {
    this.retryPolicy = checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry }, 'io: s3');
    const partSizeBytes = positiveInt(options.partSizeBytes, 16 * MiB, 'partSizeBytes', S3_MIN_PART_SIZE);
    const multipartThresholdBytes = positiveInt(options.multipartThresholdBytes, 16 * MiB, 'multipartThresholdBytes');
    const partConcurrency = positiveInt(options.partConcurrency, 4, 'partConcurrency');
    this.listPageSize = positiveInt(options.listPageSize, 1000, 'listPageSize');
    if (this.listPageSize > 1000) throw new ValidationError(`io: s3: listPageSize must be at most 1000, got ${this.listPageSize}`);
    this.cacheDir = options.cacheDir ?? defaultS3CacheDir();
    this.cacheMaxBytes = positiveInt(options.cacheMaxBytes, DEFAULT_S3_CACHE_MAX_BYTES, 'cacheMaxBytes');
    this.onRetry = options.onRetry;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? s3ClientFromEnv(options);
    this.storeKey = options.client ? `client-${Math.random()}` : (options.endpoint ?? (options.env ?? process.env).AWS_ENDPOINT_URL_S3 ?? 'aws');
    this.upload = {
      client: this.client,
      retry: this.retryPolicy,
      ...(this.onRetry ? { onRetry: this.onRetry } : {}),
      multipartThresholdBytes,
      partSizeBytes,
      partConcurrency,
      checkBeforeWrite: options.checkBeforeWrite ?? true,
    };
  }

  /** Runs one S3 call with retries; `fn` must throw floe errors (mapped with `s3Error`). */
  private retry<T>(operation: string, location: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, this.retryPolicy, { isRetriable: isRetriableS3Error, onRetry: (ev) => this.onRetry?.(operation, location, ev) });
  }

  private async headObject(location: string): Promise<{ size: number; etag: string | undefined; lastModified: number }> {
    const { bucket, key } = parseS3Location(location);
    return this.retry('stat', location, async () => {
      try {
        const h = await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: h.ContentLength ?? 0, etag: h.ETag, lastModified: h.LastModified?.getTime() ?? 0 };
      } catch (e) {
        throw s3Error(location, 'stat', e);
      }
    });
  }

  async read(location: string): Promise<Uint8Array> {
    const { bucket, key } = parseS3Location(location);
    return this.retry('read', location, async () => {
      try {
        const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
      } catch (e) {
        throw s3Error(location, 'read', e);
      }
    });
  }

  /** Returns the bytes in `[offset, offset + length)`, truncated at the end of the object. */
  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    checkRange(location, offset, length);
    const { bucket, key } = parseS3Location(location);
    if (length === 0) {
      await this.headObject(location); // NotFoundError for a missing object
      return new Uint8Array(0);
    }
    return this.retry('read', location, async () => {
      try {
        const res = await this.client.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
        );
        const bytes = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
        // A store that ignores Range answers 200 with the whole object.
        if (res.ContentRange === undefined && bytes.length > length) return bytes.slice(offset, offset + length);
        return bytes.length > length ? bytes.subarray(0, length) : bytes;
      } catch (e) {
        // 416: the object exists but starts before `offset`.
        if (s3ErrorName(e) === 'InvalidRange' || s3ErrorStatus(e) === 416) return new Uint8Array(0);
        throw s3Error(location, 'read', e);
      }
    });
  }

  async stat(location: string): Promise<FileInfo> {
    const h = await this.headObject(location);
    return { location, size: h.size, lastModified: h.lastModified };
  }

  async exists(location: string): Promise<boolean> {
    const { bucket, key } = parseS3Location(location);
    return this.retry('stat', location, async () => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return true;
      } catch (e) {
        if (isS3NotFound(e)) return false;
        throw s3Error(location, 'stat', e);
      }
    });
  }

  /**
   * Writes the object; without `overwrite` an existing object is never replaced
   * (AlreadyExistsError). Objects from `multipartThresholdBytes` on go up in parts.
   */
  async write(location: string, data: Uint8Array, options: WriteOptions = {}): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    const target = { location, bucket, key };
    if (options.overwrite) return uploadObject(this.upload, target, data, false);
    return serialized(`${this.storeKey}\0${bucket}\0${key}`, () => uploadObject(this.upload, target, data, true));
  }

  /** Deletes the object; a missing object (or bucket) is not an error. */
  async delete(location: string): Promise<void> {
    const { bucket, key } = parseS3Location(location);
    await this.retry('delete', location, async () => {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (e) {
        if (isS3NotFound(e)) return;
        throw s3Error(location, 'delete', e);
      }
    });
  }

  /**
   * Deletes many objects with DeleteObjects (up to 1,000 keys per request, grouped by bucket).
   * Failures of single keys are reported, not thrown; missing objects count as deleted.
   */
  async deleteFiles(locations: Iterable<string>): Promise<DeleteFilesResult> {
    const byBucket = new Map<string, { location: string; key: string }[]>();
    for (const location of locations) {
      const { bucket, key } = parseS3Location(location);
      let list = byBucket.get(bucket);
      if (!list) byBucket.set(bucket, (list = []));
      list.push({ location, key });
    }
    const result: DeleteFilesResult = { deleted: [], failures: [] };
    for (const [bucket, entries] of byBucket) {
      for (let i = 0; i < entries.length; i += 1000) {
        const chunk = entries.slice(i, i + 1000);
        const what = `s3://${bucket} (${chunk.length} objects)`;
        try {
          const res = await this.retry('delete', what, async () => {
            try {
              return await this.client.send(
                new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: chunk.map((c) => ({ Key: c.key })), Quiet: true } }),
              );
            } catch (e) {
              if (s3ErrorName(e) === 'NoSuchBucket') return { Errors: [] };
              throw s3Error(what, 'delete', e);
            }
          });
          const failedKeys = new Map<string, string>();
          for (const err of res.Errors ?? []) {
            if (err.Key !== undefined && err.Code !== 'NoSuchKey') failedKeys.set(err.Key, `${err.Code ?? 'Error'}: ${err.Message ?? ''}`);
          }
          for (const c of chunk) {
            const why = failedKeys.get(c.key);
            if (why === undefined) result.deleted.push(c.location);
            else result.failures.push({ location: c.location, error: new FloeError('IO', `io: ${c.location}: delete failed: ${why}`) });
          }
        } catch (e) {
          const error = e instanceof FloeError ? e : s3Error(what, 'delete', e);
          for (const c of chunk) result.failures.push({ location: c.location, error });
        }
      }
    }
    return result;
  }

  /**
   * Lists every object whose location starts with `prefix` (a plain string prefix), in key order,
   * with locations in the prefix's scheme (`s3a://…` lists as `s3a://…`). Folder markers (empty
   * keys ending in `/`) are skipped.
   */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    const { scheme, bucket, key } = parseS3Location(prefix, true);
    let token: string | undefined;
    do {
      const page = await this.retry('list', prefix, async () => {
        try {
          return await this.client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              ...(key ? { Prefix: key } : {}),
              ...(token ? { ContinuationToken: token } : {}),
              MaxKeys: this.listPageSize,
            }),
          );
        } catch (e) {
          throw s3Error(prefix, 'list', e);
        }
      });
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || (o.Key.endsWith('/') && (o.Size ?? 0) === 0)) continue;
        yield { location: formatS3Location({ scheme, bucket, key: o.Key }), size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) throw new FloeError('IO', `io: ${prefix}: list failed: truncated page without a continuation token`);
    } while (token);
  }

  /**
   * A local copy of the object in the cache directory (see `s3-cache.ts`), downloaded once per
   * object version and reused across calls and processes.
   */
  async localPath(location: string): Promise<string> {
    const { bucket, key } = parseS3Location(location);
    for (let tries = 1; ; tries++) {
      const v = await this.headObject(location);
      try {
        return await cachedLocalPath(this.cacheDir, location, v, (path) =>
          this.retry('read', location, async () => {
            try {
              const res = await this.client.send(
                new GetObjectCommand({ Bucket: bucket, Key: key, ...(v.etag ? { IfMatch: v.etag } : {}) }),
              );
              if (!res.Body) throw new FloeError('IO', `io: ${location}: read failed: empty response body`, { retriable: true });
              await pipeline(res.Body as Readable, createWriteStream(path));
              const got = (await stat(path)).size;
              if (got !== v.size) {
                throw new FloeError('IO', `io: ${location}: read failed: got ${got} of ${v.size} bytes`, { retriable: true });
              }
            } catch (e) {
              throw s3Error(location, 'read', e);
            }
          }),
          this.cacheMaxBytes,
        );
      } catch (e) {
        // Rewritten between HeadObject and GetObject: cache the new version instead.
        if (tries < 3 && e instanceof FloeError && isS3PreconditionFailed(e.cause)) continue;
        throw e;
      }
    }
  }

  /** Releases the client's sockets (only a client this FileIO built itself). */
  close(): void {
    if (this.ownsClient) this.client.destroy();
  }
}
