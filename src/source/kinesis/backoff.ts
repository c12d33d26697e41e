/**
 * Timing policies of the shard readers: exponential backoff with jitter after throttling or
 * transient failures, and the pacing that keeps each shard within its read limits (5 GetRecords
 * calls per second, about 2 MB per second).
 */

/** Backoff settings. */
export interface BackoffOptions {
  /** Delay cap of the first retry, ms. */
  baseMs: number;
  /** Upper bound of any delay, ms. */
  maxMs: number;
}

/** Default backoff: 200 ms doubling up to 10 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 200, maxMs: 10_000 };

/**
 * Delay before retry number `attempt` (0-based): "equal jitter", i.e. uniformly random in
 * [cap/2, cap] with cap = min(maxMs, baseMs * 2^attempt). Half the cap is kept so that retries do
 * slow down as failures repeat; the random half spreads readers of many shards apart.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** Counts consecutive failures and hands out growing delays; `reset` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get failures(): number {
    return this.attempt;
  }

  /** The delay before the next retry; counts one more failure. */
  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  /** Forgets past failures. */
  reset(): void {
    this.attempt = 0;
  }
}

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

/**
 * Resolves after `ms`, or early (without rejecting) when `signal` aborts. Returns true when the
 * full time elapsed.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    if (ms <= 0) return resolve(true);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
