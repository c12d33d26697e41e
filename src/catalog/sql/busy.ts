/**
 * Waiting for another connection's write lock without blocking the event loop.
 *
 * better-sqlite3 is synchronous, and SQLite's own busy handler sleeps on the calling thread: a
 * busy timeout of 10 s froze `floe run` for up to 10 s at a time (no timers, no signals, no
 * GetRecords). So the connection's busy timeout is a short slice ({@link BUSY_SLICE_MS}) and the
 * waiting happens here, between tries, in `await`ed sleeps, up to the same total budget.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The longest the thread blocks inside SQLite for one try, in milliseconds. */
export const BUSY_SLICE_MS = 5;

/** Longest sleep between tries: a released lock is taken within this. */
const MAX_BUSY_WAIT_MS = 50;

/** True for SQLite's "database is locked/busy" errors (another connection holds the lock). */
export function isSqliteBusy(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/**
 * Runs `fn` (synchronous SQL that either completes or fails with SQLITE_BUSY having changed
 * nothing: one statement or one transaction) until it does not fail busy, sleeping between tries
 * (1, 2, 4, … ms, at most {@link MAX_BUSY_WAIT_MS}). After `budgetMs` of waiting, or when `stop()`
 * says so, the last busy error is thrown.
 */
export async function retryWhileBusy<T>(fn: () => T, budgetMs: number, stop?: () => boolean): Promise<T> {
  let started: number | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (e) {
      if (!isSqliteBusy(e)) throw e;
      const now = Date.now();
      started ??= now;
      const left = budgetMs - (now - started);
      if (left <= 0 || stop?.()) throw e;
      await sleep(Math.min(left, MAX_BUSY_WAIT_MS, 2 ** Math.min(attempt, 10)));
    }
  }
}
