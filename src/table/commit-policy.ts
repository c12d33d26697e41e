/**
 * The two retry policies of a commit, in the shape of `../retry.ts` (whose formula and sleep the
 * commit loop uses):
 * - conflicts: from the table properties Iceberg Java uses (`commit.retry.num-retries`,
 *   `commit.retry.min-wait-ms`, `commit.retry.max-wait-ms`, `commit.retry.total-timeout-ms`), so
 *   a table tuned for Spark behaves the same under floe;
 * - an unavailable catalog: {@link OutagePolicy}.
 */
import type { RetryPolicy } from '../retry.js';

/** Java's defaults: 4 retries (5 attempts), 100 ms doubling up to 60 s, 30 minutes in all. */
export const DEFAULT_COMMIT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 100,
  maxDelayMs: 60_000,
  budgetMs: 30 * 60_000,
});

function intProp(props: Record<string, string>, key: string, dflt: number): number {
  const v = props[key];
  if (v === undefined) return dflt;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : dflt;
}

/**
 * The conflict retry policy a table's properties ask for (`commit.retry.*`; invalid values fall
 * back to the defaults: Java's, or the caller's `defaults` where given).
 */
export function retryPolicyFromProperties(props: Record<string, string>, defaults?: Partial<RetryPolicy>): RetryPolicy & { budgetMs: number } {
  const d = { ...DEFAULT_COMMIT_RETRY_POLICY, ...defaults };
  return {
    maxAttempts: intProp(props, 'commit.retry.num-retries', d.maxAttempts - 1) + 1,
    baseDelayMs: intProp(props, 'commit.retry.min-wait-ms', d.baseDelayMs),
    maxDelayMs: intProp(props, 'commit.retry.max-wait-ms', d.maxDelayMs),
    budgetMs: intProp(props, 'commit.retry.total-timeout-ms', d.budgetMs as number),
  };
}

/**
 * How long a commit rides out a catalog that cannot be reached (connection refused, a reload that
 * fails, an unknown outcome waiting to be resolved): waits from `baseDelayMs` doubling up to
 * `maxDelayMs`, for at most `budgetMs` per outage (the clock restarts once the catalog answers)
 * and at most `maxAttempts - 1` waits (default unbounded: the budget decides).
 */
export interface OutagePolicy extends RetryPolicy {
  budgetMs: number;
  /**
   * Times a commit whose outcome was unknown, and which a reload showed missing, is sent again
   * (a catalog that keeps answering "unknown" while up is broken, not down).
   */
  maxResends: number;
}

/** Two minutes of outage, first retry after 250 ms, then at most every 5 s (one log line each). */
export const DEFAULT_OUTAGE_POLICY: Readonly<OutagePolicy> = Object.freeze({
  maxAttempts: Infinity,
  budgetMs: 120_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  maxResends: 3,
});
