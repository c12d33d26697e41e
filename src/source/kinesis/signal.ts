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
    return Notifier.waitAny([this], signal, timeoutMs);
  }

  /**
   * Resolves when any of `notifiers` fires, after `timeoutMs`, or on abort. Unregisters from all
   * of them on resolution, so repeated waits leave no listeners behind.
   */
  static waitAny(notifiers: readonly Notifier[], signal?: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        for (const n of notifiers) n.waiters.delete(done);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      for (const n of notifiers) n.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(done, Math.max(0, timeoutMs));
    });
  }

  /** Number of current waiters (for tests and leak checks). */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Wakes everyone waiting now. */
  notifyAll(): void {
    for (const w of [...this.waiters]) w();
  }
}

/**
 * Bytes buffered across all shard readers, against one limit. Readers fetch concurrently, so each
 * reserves its estimated response size before a call and settles it after; otherwise several
 * readers would all size their calls from the same free room and overshoot it together.
 */
export class ByteBudget {
  used = 0;
  reserved = 0;
  /** Highest `used` seen. */
  peak = 0;
  /** Woken whenever bytes are released or a reservation is settled. */
  readonly freed = new Notifier();

  constructor(readonly limit: number) {}

  /** Room for about `estimate` more bytes (always true when nothing is buffered or reserved). */
  hasRoom(estimate: number): boolean {
    const taken = this.used + this.reserved;
    return taken === 0 || taken + estimate <= this.limit;
  }

  /** Bytes still available (0 when over). */
  get available(): number {
    return Math.max(0, this.limit - this.used - this.reserved);
  }

  /** Sets aside `n` bytes for a call in flight. */
  reserve(n: number): void {
    this.reserved += n;
  }

  /** Ends a reservation of `reserved` bytes, `actual` of which were buffered. */
  settle(reserved: number, actual: number): void {
    this.reserved = Math.max(0, this.reserved - reserved);
    this.add(actual);
    if (actual < reserved) this.freed.notifyAll();
  }

  add(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    if (n > 0) this.freed.notifyAll();
  }
}
