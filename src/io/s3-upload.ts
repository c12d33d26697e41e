/**
 * Uploading one object to S3: a single PutObject below the multipart threshold, otherwise a
 * multipart upload (parts in parallel, each retried), both with no-overwrite semantics on request.
 *
 * No overwrite, three layers:
 * 1. `If-None-Match: *` on PutObject / CompleteMultipartUpload: S3 itself refuses (412) to replace
 *    an existing key. This is the only cross-process guarantee.
 * 2. A HeadObject check right before each attempt (`checkBeforeWrite`), for S3-compatible stores
 *    that ignore the header (s3rver does). Between the check and the write another process can
 *    still slip in: on such stores the guarantee is best effort across processes.
 * 3. Within one process, conditional writes to the same key are serialized (see `s3.ts`), so the
 *    check-then-write of layer 2 is exact for writers sharing a process.
 *
 * Retries and "did my first attempt land?": a write whose response was lost (connection reset,
 * timeout, 5xx) may have been applied. Its retry then finds the key taken (412, or the HEAD check).
 * Before reporting AlreadyExists, the object is compared with the bytes being written (size, then
 * the ETag as MD5 / multipart MD5, else the bytes themselves): if they match, the earlier attempt
 * landed and the write succeeded.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AlreadyExistsError, FloeError } from '../errors.js';
import { retry, type RetryEvent, type RetryPolicy } from '../retry.js';
import { isRetriableS3Error, isS3NotFound, isS3PreconditionFailed, s3Error, s3ErrorName } from './s3-errors.js';

/** S3's smallest part size (all parts but the last), 5 MiB. */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's largest number of parts per upload. */
export const S3_MAX_PARTS = 10_000;

/** Where an object goes. */
export interface UploadTarget {
  /** The location as the caller wrote it (for messages). */
  location: string;
  bucket: string;
  key: string;
}

/** Settings of {@link uploadObject}. */
export interface UploadSettings {
  client: S3Client;
  retry: RetryPolicy;
  onRetry?: (operation: string, location: string, event: RetryEvent) => void;
  /** Objects of at least this many bytes use multipart upload. */
  multipartThresholdBytes: number;
  /** Part size of multipart uploads (raised when needed to stay within 10,000 parts). */
  partSizeBytes: number;
  /** Parts uploaded concurrently. */
  partConcurrency: number;
  /** HeadObject before every conditional attempt (layer 2 of the file comment). */
  checkBeforeWrite: boolean;
}

interface ObjectVersion {
  size: number;
  etag: string | undefined;
}

function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

/** The part boundaries a multipart upload of `size` bytes uses. */
export function partRanges(size: number, partSizeBytes: number): { start: number; end: number }[] {
  const partSize = Math.max(partSizeBytes, Math.ceil(size / S3_MAX_PARTS));
  const out: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += partSize) out.push({ start, end: Math.min(size, start + partSize) });
  return out;
}

/**
 * The ETag S3 gives an object uploaded in these parts (without SSE-KMS): the MD5 of the body for a
 * single PutObject, `md5(md5(part1) ‖ … ‖ md5(partN))-N` for a multipart upload.
 */
export function expectedEtag(data: Uint8Array, parts?: { start: number; end: number }[]): string {
  if (!parts) return md5Hex(data);
  const h = createHash('md5');
  for (const p of parts) h.update(createHash('md5').update(data.subarray(p.start, p.end)).digest());
  return `${h.digest('hex')}-${parts.length}`;
}

class Uploader {
  /** Set once an attempt failed in a way that may have applied it (lost response). */
  private mayHaveLanded = false;

  constructor(
    private readonly s: UploadSettings,
    private readonly target: UploadTarget,
    private readonly data: Uint8Array,
    private readonly conditional: boolean,
  ) {}

  private retry<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, this.s.retry, {
      isRetriable: (e) => {
        const r = isRetriableS3Error(e);
        if (r) this.mayHaveLanded = true;
        return r;
      },
      onRetry: (ev) => this.s.onRetry?.(operation, this.target.location, ev),
    });
  }

  private async head(): Promise<ObjectVersion | undefined> {
    const { client } = this.s;
    try {
      const h = await client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key: this.target.key }));
      return { size: h.ContentLength ?? 0, etag: h.ETag };
    } catch (e) {
      if (isS3NotFound(e) && s3ErrorName(e) !== 'NoSuchBucket') return undefined;
      throw s3Error(this.target.location, 'write', e);
    }
  }

  /** Whether the stored object holds exactly our bytes (an earlier attempt of ours landed). */
  private async isOurs(v: ObjectVersion, parts?: { start: number; end: number }[]): Promise<boolean> {
    if (v.size !== this.data.length) return false;
    const etag = unquote(v.etag);
    if (etag !== undefined && etag === expectedEtag(this.data, parts)) return true;
    // The ETag is not an MD5 (SSE-KMS, another store's scheme): compare the bytes.
    try {
      const res = await this.s.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: this.target.key }));
      const stored = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
      return Buffer.from(stored).equals(Buffer.from(this.data));
    } catch (e) {
      if (isS3NotFound(e)) return false;
      throw s3Error(this.target.location, 'write', e);
    }
  }

  private taken(cause?: unknown): AlreadyExistsError {
    return new AlreadyExistsError(`io: ${this.target.location}: already exists`, cause === undefined ? {} : { cause });
  }

  /**
   * Layer 2: before a conditional attempt, refuse an existing key, unless it is our own earlier
   * attempt. Returns true when the write is already complete.
   */
  private async precheck(parts?: { start: number; end: number }[]): Promise<boolean> {
    if (!this.conditional || !this.s.checkBeforeWrite) return false;
    const v = await this.head();
    if (v === undefined) return false;
    if (this.mayHaveLanded && (await this.isOurs(v, parts))) return true;
    throw this.taken();
  }

  /** After a 412 (or a vanished upload), decides between "ours landed" and AlreadyExists. */
  private async resolveConflict(e: unknown, parts?: { start: number; end: number }[]): Promise<void> {
    if (this.mayHaveLanded) {
      const v = await this.head();
      if (v !== undefined && (await this.isOurs(v, parts))) return;
    }
    throw isS3PreconditionFailed(e) ? this.taken(e) : s3Error(this.target.location, 'write', e);
  }

  async single(): Promise<void> {
    const { bucket, key, location } = this.target;
    await this.retry('write', async () => {
      if (await this.precheck()) return;
      try {
        await this.s.client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: this.data,
            ContentLength: this.data.length,
            ...(this.conditional ? { IfNoneMatch: '*' } : {}),
          }),
        );
      } catch (e) {
        if (this.conditional && isS3PreconditionFailed(e)) return this.resolveConflict(e);
        throw s3Error(location, 'write', e);
      }
    });
  }

  async multipart(): Promise<void> {
    const { client } = this.s;
    const { bucket, key, location } = this.target;
    const ranges = partRanges(this.data.length, this.s.partSizeBytes);
    if (await this.precheck(ranges)) return;
    const created = await this.retry('write', async () => {
      try {
        return await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      } catch (e) {
        throw s3Error(location, 'write', e);
      }
    });
    const uploadId = created.UploadId;
    if (!uploadId) throw new FloeError('IO', `io: ${location}: write failed: CreateMultipartUpload returned no UploadId`);
    let completed = false;
    try {
      const parts = await this.uploadParts(uploadId, ranges);
      await this.retry('write', async () => {
        if (await this.precheck(ranges)) return;
        try {
          await client.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
              ...(this.conditional ? { IfNoneMatch: '*' } : {}),
            }),
          );
        } catch (e) {
          // NoSuchUpload after a lost response: the upload completed (and its id is gone).
          if ((this.conditional && isS3PreconditionFailed(e)) || (s3ErrorName(e) === 'NoSuchUpload' && this.mayHaveLanded)) {
            return this.resolveConflict(e, ranges);
          }
          throw s3Error(location, 'write', e);
        }
      });
      completed = true;
    } finally {
      if (!completed) {
        // Best effort: an incomplete upload only costs storage (a bucket lifecycle rule
        // AbortIncompleteMultipartUpload cleans up whatever this misses).
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
      }
    }
  }

  private async uploadParts(uploadId: string, ranges: { start: number; end: number }[]): Promise<CompletedPart[]> {
    const { bucket, key, location } = this.target;
    const parts: CompletedPart[] = new Array(ranges.length);
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (failed === undefined && next < ranges.length) {
        const i = next++;
        const r = ranges[i]!;
        const body = this.data.subarray(r.start, r.end);
        try {
          const res = await retry(
            async () => {
              try {
                return await this.s.client.send(
                  new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body, ContentLength: body.length }),
                );
              } catch (e) {
                throw s3Error(location, `write (part ${i + 1} of ${ranges.length})`, e);
              }
            },
            this.s.retry,
            { isRetriable: isRetriableS3Error, onRetry: (ev) => this.s.onRetry?.('write', location, ev) },
          );
          parts[i] = { PartNumber: i + 1, ETag: res.ETag };
        } catch (e) {
          failed ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.s.partConcurrency, ranges.length) }, worker));
    if (failed !== undefined) throw failed;
    return parts;
  }
}

/**
 * Uploads `data` to the target, as one PutObject or as a multipart upload (see the file comment
 * for the no-overwrite layers and retries).
 * @param conditional refuse to replace an existing object (AlreadyExistsError)
 */
export async function uploadObject(settings: UploadSettings, target: UploadTarget, data: Uint8Array, conditional: boolean): Promise<void> {
  const u = new Uploader(settings, target, data, conditional);
  if (data.length >= settings.multipartThresholdBytes && data.length > 0) await u.multipart();
  else await u.single();
}
