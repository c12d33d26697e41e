/**
 * floe's one retry module: a policy type, one backoff formula, one abortable sleep, and `retry`,
 * which runs an operation until it succeeds, fails for good, or the policy is spent.
 *
 * What may be retried is the caller's call, by default `FloeError.retriable`: a mutation whose
 * answer was lost must not be sent again blindly, and only the code that sent it knows. Loops
 * with more states than "try again" (the commit loop, the shard readers) use the formula and the
 * sleep directly, so every wait in floe grows the same way.
 *
 * No I/O beyond timers; nothing here knows a subsystem (messages are the caller's).
 */
import { FloeError, ValidationError } from './errors.js';

/**
 * How the random part of a delay is drawn from the exponential cap
 * `cap = min(maxDelayMs, baseDelayMs * 2^retry)`:
 * - `equal`: uniform in [cap/2, cap]: retries do slow down as failures repeat, while concurrent
 *   clients (shard readers, writers that collided) spread apart;
 * - `full`: uniform in [0, cap];
 * - `none`: exactly cap (a local wait with nobody to collide with, e.g. a SQLite lock).
 */
export type Jitter = 'equal' | 'full' | 'none';

/** How often and how patiently to retry. Every retry loop in floe takes this shape. */
export interface RetryPolicy {
  /** Total attempts including the first (1 = no retries). `Infinity`: bounded by the budget only. */
  maxAttempts: number;
  /**
   * Most time spent retrying, ms, counted from the first failure: no retry starts after it, and a
   * wait is cut to what is left. Absent: attempts alone bound the loop.
   */
  budgetMs?: number;
  /** Delay cap of the first retry, ms. */
  baseDelayMs: number;
  /** Upper bound of any delay, ms. */
  maxDelayMs: number;
  /** How the delay is drawn below its cap. Default `equal`. */
  jitter?: Jitter;
}

/** 5 attempts, 100 ms doubling up to 5 s: rides out a throttling burst or a server restart (S3, REST, Glue reads). */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({ maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 5_000 });

/**
 * The delay before retry number `retry` (0-based: the wait after the first failure is retry 0):
 * exponential from `baseDelayMs`, capped at `maxDelayMs`, jittered per {@link Jitter}. The one
 * backoff formula of floe.
 */
export function backoffDelayMs(
  retry: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'jitter'>,
  random: () => number = Math.random,
): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(0, retry), 30));
  switch (policy.jitter ?? 'equal') {
    case 'none':
      return cap;
    case 'full':
      return Math.round(random() * cap);
    case 'equal':
      return Math.round(cap / 2 + random() * (cap / 2));
  }
}

/** Validates a retry policy (from options), naming the subsystem in the error. */
export function checkRetryPolicy<P extends RetryPolicy>(policy: P, what: string): P {
  if (!(policy.maxAttempts === Infinity || (Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1))) {
    throw new ValidationError(`${what}: retry maxAttempts must be a positive integer, got ${policy.maxAttempts}`);
  }
  if (!(policy.baseDelayMs >= 0) || !(policy.maxDelayMs >= 0) || (policy.budgetMs !== undefined && !(policy.budgetMs >= 0))) {
    throw new ValidationError(`${what}: retry delays must be non-negative`);
  }
  return policy;
}

/**
 * Resolves after `ms`, or early when `signal` aborts (at once when it already has). Never
 * rejects: resolves true when the full time elapsed, false when the signal ended the wait, so a
 * caller chooses what an abort means (give up with its own error, or just stop).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    if (!(ms > 0)) return resolve(true);
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

/** Counts consecutive failures and hands out growing delays ({@link backoffDelayMs}); `reset` after a success. */
export class Backoff {
  private retries = 0;

  constructor(
    private readonly policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'jitter'>,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get failures(): number {
    return this.retries;
  }

  /** The delay before the next retry; counts one more failure. */
  next(): number {
    return backoffDelayMs(this.retries++, this.policy, this.random);
  }

  /** Forgets past failures. */
  reset(): void {
    this.retries = 0;
  }
}

/** One failed attempt about to be retried, as reported to {@link RetryOptions.onRetry}. */
export interface RetryEvent {
  /** 1-based number of the attempt that failed. */
  attempt: number;
  error: unknown;
  delayMs: number;
  /** Time since the first failure, ms. */
  elapsedMs: number;
}

/** The default of {@link RetryOptions.isRetriable}: a floe error that says so. */
export function isRetriableFloeError(e: unknown): boolean {
  return e instanceof FloeError && e.retriable;
}

/** Options of {@link retry}. */
export interface RetryOptions {
  /**
   * Ends the waits: the last error is thrown at once (an attempt under way is not abandoned; give
   * `fn` the signal for that).
   */
  signal?: AbortSignal;
  /** Whether a failure may be retried (it is thrown otherwise). Default {@link isRetriableFloeError}. */
  isRetriable?: (error: unknown) => boolean;
  /** Called before each wait (logging, events); a listener that throws is ignored. */
  onRetry?: (event: RetryEvent) => void;
  /** Random source of the jitter (tests). */
  random?: () => number;
}

/**
 * Runs `fn` (given the 1-based attempt number) until it succeeds, a failure is not retriable, the
 * policy's attempts or budget are spent, or the signal aborts a wait: then the last error is
 * thrown unchanged. `fn` is always tried at least once.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<T> {
  const isRetriable = options.isRetriable ?? isRetriableFloeError;
  let firstFailure: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.maxAttempts || !isRetriable(e)) throw e;
      const now = Date.now();
      firstFailure ??= now;
      const elapsedMs = now - firstFailure;
      const left = policy.budgetMs === undefined ? Infinity : policy.budgetMs - elapsedMs;
      if (left <= 0 || options.signal?.aborted) throw e;
      const delayMs = Math.min(left, backoffDelayMs(attempt - 1, policy, options.random));
      try {
        options.onRetry?.({ attempt, error: e, delayMs, elapsedMs });
      } catch {
        // A broken listener must not break the operation.
      }
      if (!(await sleep(delayMs, options.signal))) throw e;
    }
  }
}
