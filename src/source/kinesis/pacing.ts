/**
 * Timing policies of the shard readers: the pacing that keeps each shard within its read limits
 * (5 GetRecords calls per second, about 2 MB per second), and the backoff after throttling or
 * transient failures (a `RetryPolicy` of `../../retry.ts`, whose formula and sleep the readers use).
 */
import type { RetryPolicy } from '../../retry.js';

/** The retry delays of Kinesis calls (readers, discovery, PutRecords): the delay part of a retry policy. */
export type KinesisBackoff = Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;

/** Default backoff: 200 ms doubling up to 10 s, equal jitter (spreads the readers of many shards apart). */
export const DEFAULT_KINESIS_BACKOFF: Readonly<KinesisBackoff> = Object.freeze({ baseDelayMs: 200, maxDelayMs: 10_000 });

/** Read limits of one shard. */
export interface PacingOptions {
  /** Minimum time between two GetRecords calls of one shard (5 calls/s → 200 ms). */
  minCallIntervalMs: number;
  /** Bytes per second one shard may deliver (Kinesis: 2 MB/s shared by all polling consumers). */
  maxBytesPerSecond: number;
  /** Wait after a call that returned no records, so an idle shard is not polled flat out. */
  idleDelayMs: number;
}

/**
 * When the next GetRecords call of a shard may start, given when the last call returned, the bytes
 * it returned and whether it returned records. Counting from the response (not the request) keeps
 * the spacing as seen by the server at least `minCallIntervalMs` whatever the request latency. A
 * large response pushes the next call out so that the average stays under `maxBytesPerSecond`
 * (after a 10 MB response Kinesis itself refuses calls for 5 s).
 */
export function nextCallTime(lastCallEndMs: number, bytes: number, records: number, p: PacingOptions): number {
  let t = lastCallEndMs + p.minCallIntervalMs;
  t = Math.max(t, lastCallEndMs + (bytes / p.maxBytesPerSecond) * 1000);
  if (records === 0) t = Math.max(t, lastCallEndMs + p.idleDelayMs);
  return Math.ceil(t);
}
