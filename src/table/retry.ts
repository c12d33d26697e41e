/**
 * Commit retry policy, from the table properties Iceberg Java uses
 * (`commit.retry.num-retries`, `commit.retry.min-wait-ms`, `commit.retry.max-wait-ms`,
 * `commit.retry.total-timeout-ms`), so a table tuned for Spark behaves the same under floe.
 */

/** How often and how long to retry a conflicting commit. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  minWaitMs: number;
  maxWaitMs: number;
  totalTimeoutMs: number;
}

/** Java's defaults. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 4,
  minWaitMs: 100,
  maxWaitMs: 60_000,
  totalTimeoutMs: 30 * 60_000,
};

function intProp(props: Record<string, string>, key: string, dflt: number): number {
  const v = props[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

/** The retry policy a table's properties ask for. */
export function retryPolicyFromProperties(props: Record<string, string>): RetryPolicy {
  return {
    retries: intProp(props, 'commit.retry.num-retries', DEFAULT_RETRY_POLICY.retries),
    minWaitMs: intProp(props, 'commit.retry.min-wait-ms', DEFAULT_RETRY_POLICY.minWaitMs),
    maxWaitMs: intProp(props, 'commit.retry.max-wait-ms', DEFAULT_RETRY_POLICY.maxWaitMs),
    totalTimeoutMs: intProp(props, 'commit.retry.total-timeout-ms', DEFAULT_RETRY_POLICY.totalTimeoutMs),
  };
}

/**
 * Wait before retry number `attempt` (1-based): exponential from minWait, capped at maxWait, with
 * full jitter in the upper half so that writers that collided once do not collide again in step.
 */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  const exp = Math.min(policy.maxWaitMs, policy.minWaitMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How long a commit rides out a catalog that cannot be reached (connection refused, a reload that
 * fails, an unknown outcome waiting to be resolved): waits from `minWaitMs` doubling up to
 * `maxWaitMs`, for at most `budgetMs` per outage (the clock restarts once the catalog answers).
 */
export interface OutagePolicy {
  budgetMs: number;
  minWaitMs: number;
  maxWaitMs: number;
  /**
   * Times a commit whose outcome was unknown, and which a reload showed missing, is sent again
   * (a catalog that keeps answering "unknown" while up is broken, not down).
   */
  maxResends: number;
}

/** Two minutes of outage, first retry after 250 ms, then at most every 5 s (one log line each). */
export const DEFAULT_OUTAGE_POLICY: OutagePolicy = Object.freeze({ budgetMs: 120_000, minWaitMs: 250, maxWaitMs: 5_000, maxResends: 3 });

/** Sleep that ends early, rejecting with `signal.reason`, when `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
