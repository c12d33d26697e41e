/**
 * Waiting for another connection's write lock without blocking the event loop.
 *
 * better-sqlite3 is synchronous, and SQLite's own busy handler sleeps on the calling thread: a
 * busy timeout of 10 s froze `floe run` for up to 10 s at a time (no timers, no signals, no
 * GetRecords). So the connection's busy timeout is a short slice ({@link BUSY_SLICE_MS}) and the
 * waiting happens here, between tries, in `await`ed sleeps, up to the same total budget.
 */
import { backoffDelayMs, sleep, type RetryPolicy } from '../../retry.js';

/** The longest the thread blocks inside SQLite for one try, in milliseconds. */
export const BUSY_SLICE_MS = 5;

/**
 * Sleeps between tries: 1, 2, 4, … ms up to 50 (a released lock is taken within that), without
 * jitter (the lock is local, and its holder takes it for milliseconds).
 */
const BUSY_BACKOFF: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'jitter'> = { baseDelayMs: 1, maxDelayMs: 50, jitter: 'none' };

/**
 * How long the wait goes on once its signal aborts (a stopping pipeline's final commit): long
 * enough for ordinary contention (another writer's commit holds the lock for milliseconds), short
 * enough that a stuck lock holder does not hold up a SIGTERM for the whole busy timeout.
 */
export const BUSY_ABORT_GRACE_MS = 250;

/** True for SQLite's "database is locked/busy" errors (another connection holds the lock). */
export function isSqliteBusy(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Runs `fn` (synchronous SQL that either completes or fails with SQLITE_BUSY having changed
 * nothing: one statement or one transaction) until it does not fail busy, sleeping between tries
 * ({@link BUSY_BACKOFF}). After `budgetMs` of waiting, or when `stop()`
 * says so, the last busy error is thrown; so it is {@link BUSY_ABORT_GRACE_MS} after `signal`
 * aborts (a sleep ends at the abort). `fn` is always tried at least once.
 */
export async function retryWhileBusy<T>(fn: () => T, budgetMs: number, stop?: () => boolean, signal?: AbortSignal): Promise<T> {
  let started: number | undefined;
  let abortedAt: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isSqliteBusy(e)) throw e;
      const now = Date.now();
      started ??= now;
      if (signal?.aborted) abortedAt ??= now;
      const left = Math.min(budgetMs - (now - started), abortedAt === undefined ? Infinity : BUSY_ABORT_GRACE_MS - (now - abortedAt));
      if (left <= 0 || stop?.()) throw e;
      const ms = Math.min(left, backoffDelayMs(attempt, BUSY_BACKOFF));
      // An abort ends the sleep (the next try then starts the grace period); never with a
      // signal that already aborted, whose sleep would end at once every time.
      await sleep(ms, signal?.aborted ? undefined : signal);
    }
  }
}
