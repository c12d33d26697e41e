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
