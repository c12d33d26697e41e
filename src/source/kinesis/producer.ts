/**
 * Sending records with PutRecords: batches within the API limits (500 records, 5 MiB including
 * partition keys), and retries of the entries Kinesis refused (FailedRecordCount) with backoff.
 */
import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { FloeError, ValidationError } from '../../errors.js';
import { Backoff, sleep } from '../../retry.js';
import { DEFAULT_KINESIS_BACKOFF, type KinesisBackoff } from './pacing.js';
import {
  classifyKinesisError,
  describeError,
  describeKinesisEndpoint,
  isUnreachableError,
  streamParams,
  UNREACHABLE_GRACE_MS,
  unreachableMessage,
  type StreamTarget,
} from './client.js';

/** One record to send. */
export interface PutEntry {
  data: Uint8Array;
  /** 1 to 256 characters; decides the shard (through its MD5) unless `explicitHashKey` is set. */
  partitionKey: string;
  /** Decimal 128-bit hash key choosing the shard directly. */
  explicitHashKey?: string;
}

/** Where a record landed. */
export interface PutResult {
  shardId: string;
  sequenceNumber: string;
}

/** Options of {@link putRecords}. */
export interface PutRecordsOptions extends StreamTarget {
  /** Attempts per record (the first send included). Default 10. */
  maxAttempts?: number;
  /** Records per request, at most 500. Default 500. */
  maxBatchRecords?: number;
  /** Bytes (data + partition keys) per request, at most 5 MiB. Default 5 MiB. */
  maxBatchBytes?: number;
  /** Delays between sends of refused records. Default 200 ms doubling to 10 s. */
  backoff?: KinesisBackoff;
  /** Called after each request with the number of records accepted so far. */
  onProgress?: (accepted: number, total: number) => void;
  signal?: AbortSignal;
}

/** PutRecords limits. */
export const PUT_RECORDS_MAX_RECORDS = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

function entrySize(e: PutEntry): number {
  return e.data.byteLength + Buffer.byteLength(e.partitionKey, 'utf8');
}

/** Splits entries (by index) into batches within the record and byte limits. */
export function planBatches(entries: readonly PutEntry[], maxRecords = PUT_RECORDS_MAX_RECORDS, maxBytes = PUT_RECORDS_MAX_BYTES): number[][] {
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  entries.forEach((e, i) => {
    const size = entrySize(e);
    if (current.length > 0 && (current.length >= maxRecords || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends `entries` to the stream and returns where each one landed (same order). Entries refused
 * individually (throttled, internal failure) and whole requests refused for throttling or server
 * errors are retried with backoff; after `maxAttempts` the call fails with a FloeError listing
 * what was left. Order across retries is not preserved (a Kinesis property of PutRecords).
 */
export async function putRecords(client: KinesisClient, options: PutRecordsOptions, entries: readonly PutEntry[]): Promise<PutResult[]> {
  const stream = streamParams(options);
  const maxAttempts = options.maxAttempts ?? 10;
  const maxBatchRecords = Math.min(options.maxBatchRecords ?? PUT_RECORDS_MAX_RECORDS, PUT_RECORDS_MAX_RECORDS);
  const maxBatchBytes = Math.min(options.maxBatchBytes ?? PUT_RECORDS_MAX_BYTES, PUT_RECORDS_MAX_BYTES);
  entries.forEach((e, i) => {
    const len = [...e.partitionKey].length;
    if (len < 1 || len > 256) throw new ValidationError(`kinesis: record ${i} has a partition key of ${len} characters (1 to 256 allowed)`);
  });
  const results: (PutResult | undefined)[] = new Array(entries.length);
  let accepted = 0;
  const label = options.streamName ?? options.streamArn;
  // Until the endpoint answers once, failing to connect is given UNREACHABLE_GRACE_MS, not every attempt.
  let answered = false;
  let unreachableSince: number | undefined;

  for (const batch of planBatches(entries, maxBatchRecords, maxBatchBytes)) {
    let pending = batch;
    const backoff = new Backoff(options.backoff ?? DEFAULT_KINESIS_BACKOFF);
    let lastError = '';
    for (let attempt = 1; pending.length > 0; attempt++) {
      if (options.signal?.aborted) throw new FloeError('ABORTED', `kinesis: putRecords to ${label} aborted`);
      if (attempt > maxAttempts) {
        throw new FloeError(
          'KINESIS_PUT_FAILED',
          `kinesis: PutRecords to ${label}: ${pending.length} of ${entries.length} records still refused after ${maxAttempts} attempts (last error: ${lastError})`,
          { retriable: true },
        );
      }
      if (attempt > 1) {
        let delay = backoff.next();
        // An endpoint that never answered gets one last try at the end of the grace period.
        if (!answered && unreachableSince !== undefined) delay = Math.max(0, Math.min(delay, unreachableSince + UNREACHABLE_GRACE_MS - Date.now()));
        await sleep(delay, options.signal);
      }
      const request: PutRecordsRequestEntry[] = pending.map((i) => {
        const e = entries[i] as PutEntry;
        return { Data: e.data, PartitionKey: e.partitionKey, ...(e.explicitHashKey !== undefined ? { ExplicitHashKey: e.explicitHashKey } : {}) };
      });
      let res;
      try {
        res = await client.send(new PutRecordsCommand({ ...stream, Records: request }), options.signal ? { abortSignal: options.signal } : {});
      } catch (e) {
        const kind = classifyKinesisError(e);
        lastError = describeError(e);
        if (!answered && isUnreachableError(e)) {
          unreachableSince ??= Date.now();
          if (Date.now() - unreachableSince >= UNREACHABLE_GRACE_MS) {
            throw new FloeError('KINESIS_PUT_FAILED', unreachableMessage(await describeKinesisEndpoint(client), `PutRecords to ${label}`, e), {
              cause: e,
              retriable: true,
            });
          }
          continue;
        }
        if (kind === 'throttle' || kind === 'transient') continue;
        throw new FloeError('KINESIS_PUT_FAILED', `kinesis: PutRecords to ${label} failed: ${lastError}`, { cause: e });
      }
      answered = true;
      const out = res.Records ?? [];
      if (out.length !== pending.length) {
        throw new FloeError('KINESIS_PUT_FAILED', `kinesis: PutRecords to ${label} answered ${out.length} results for ${pending.length} records`);
      }
      const retry: number[] = [];
      out.forEach((r, k) => {
        const i = pending[k] as number;
        if (r.ErrorCode || !r.SequenceNumber || !r.ShardId) {
          retry.push(i);
          lastError = `${r.ErrorCode ?? 'no sequence number'}: ${r.ErrorMessage ?? ''}`.trim();
        } else {
          results[i] = { shardId: r.ShardId, sequenceNumber: r.SequenceNumber };
          accepted++;
        }
      });
      if (retry.length === 0) backoff.reset();
      pending = retry;
      options.onProgress?.(accepted, entries.length);
    }
  }
  return results as PutResult[];
}
