/**
 * Retrying remote calls with exponential backoff and jitter, shared by the S3 FileIO and the REST
 * catalog client. The caller decides what is retriable; this only times and counts the attempts.
 */
import { ValidationError } from '../errors.js';

/** How often and how patiently to retry. */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retries). */
  maxAttempts: number;
  /** Delay cap of the first retry, ms. */
  baseDelayMs: number;
  /** Upper bound of any delay, ms. */
  maxDelayMs: number;
}

/** 5 attempts, 100 ms doubling up to 5 s: rides out a throttling burst or a server restart. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 });

/**
 * Delay before retry number `retry` (0-based): "equal jitter", uniformly random in [cap/2, cap]
 * with cap = min(maxDelayMs, baseDelayMs * 2^retry), so retries slow down as failures repeat while
 * concurrent clients spread apart.
 */
export function retryDelayMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** Validates a retry policy (from options), naming the subsystem in the error. */
export function checkRetryPolicy(policy: RetryPolicy, what: string): RetryPolicy {
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new ValidationError(`${what}: retry maxAttempts must be a positive integer, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0)) {
    throw new ValidationError(`${what}: retry delays must be non-negative`);
  }
  return policy;
}

/** One failed attempt, as reported to {@link RetryHooks.onRetry}. */
export interface RetryEvent {
  /** 1-based number of the attempt that failed. */
  attempt: number;
  error: unknown;
  delayMs: number;
}

/** Hooks of {@link withRetry}. */
export interface RetryHooks {
  /** Whether a failure may be retried (it is rethrown otherwise). */
  retriable: (error: unknown) => boolean;
  /** Called before sleeping for a retry (logging, tests). */
  onRetry?: (event: RetryEvent) => void;
  /** Sleep implementation (tests). */
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `fn` until it succeeds, a failure is not retriable, or the attempts are used up; the last
 * error is rethrown unchanged. `fn` gets the 1-based attempt number.
 */
export async function withRetry<T>(policy: RetryPolicy, hooks: RetryHooks, fn: (attempt: number) => Promise<T>): Promise<T> {
  const sleep = hooks.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.maxAttempts || !hooks.retriable(e)) throw e;
      const delayMs = retryDelayMs(attempt - 1, policy);
      hooks.onRetry?.({ attempt, error: e, delayMs });
      await sleep(delayMs);
    }
  }
}
