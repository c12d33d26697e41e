/**
 * Tiny synchronization helpers for the readers and the consumer: a broadcast wake-up and a shared
 * byte budget. Both are single-threaded (one event loop), so no locking is needed; waiters simply
 * re-check their condition after waking.
 */

/** Wakes every current waiter at once. */
export class Notifier {
  private waiters = new Set<() => void>();

  /**
   * Resolves at the next {@link notifyAll}, after `timeoutMs` (when given), or when `signal`
   * aborts; never rejects.
   */
  wait(signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.waiters.delete(done);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.max(0, timeoutMs));
    });
  }

  /** Wakes everyone waiting now. */
  notifyAll(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Bytes buffered across all shard readers, against one limit. */
export class ByteBudget {
  used = 0;
  /** Woken whenever bytes are released. */
  readonly freed = new Notifier();

  constructor(readonly limit: number) {}

  /** Room for about `estimate` more bytes (always true when nothing is buffered). */
  hasRoom(estimate: number): boolean {
    return this.used === 0 || this.used + estimate <= this.limit;
  }

  /** Bytes still available (0 when over). */
  get available(): number {
    return Math.max(0, this.limit - this.used);
  }

  add(n: number): void {
    this.used += n;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    if (n > 0) this.freed.notifyAll();
  }
}
