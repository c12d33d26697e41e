/**
 * Tiny synchronization helpers for the readers and the consumer: a broadcast wake-up and a shared
 * byte budget. Both are single-threaded (one event loop), so no locking is needed; waiters simply
 * re-check their condition after waking.
 */

/** At most this many busy readers divide the budget between them (see {@link ByteBudget.share}). */
export const MAX_SHARERS = 64;

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
  /** Highest `used + reserved` seen. */
  peakTaken = 0;
  /** Highest `reserved` seen. */
  peakReserved = 0;
  /**
   * Readers that are reading (their last call brought records, or they are behind the tip): the
   * budget is shared fairly between them, see {@link share}. Idle readers do not count.
   */
  busy = 0;
  /** Readers running, busy or idle. */
  readers = 0;
  /** Woken whenever bytes are released or a reservation is settled (once per burst, see wake). */
  readonly freed = new Notifier();
  private wakePending = false;

  /** Records buffered, and set aside for calls in flight (see {@link recordLimit}). */
  recordsUsed = 0;
  recordsReserved = 0;

  /**
   * @param limit bytes: buffered record bytes plus the response bytes reserved for calls in flight
   * @param recordLimit records buffered or asked for across all readers: what bounds the objects
   *   of buffered records (a few hundred bytes each beside their data, so for small records far
   *   more than their bytes)
   */
  constructor(
    readonly limit: number,
    readonly recordLimit: number = Infinity,
  ) {}

  /**
   * Wakes the waiting readers once, after the current synchronous work: a poll releases room
   * reader by reader, and waking every waiter at each release cost shards² wake-ups a poll
   * (65,000 with 256 shards; bench/notes.md item 26).
   */
  private wake(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    queueMicrotask(() => {
      this.wakePending = false;
      this.freed.notifyAll();
    });
  }

  /** Records one busy reader may ask for in a call (the record limit divided between busy readers, at most {@link MAX_SHARERS}). */
  get recordShare(): number {
    return this.recordLimit / this.sharers;
  }

  /**
   * Between how many busy readers the budget is divided: all of them, up to
   * {@link MAX_SHARERS}. With more busy readers than that (hundreds of shards behind), they take
   * turns at shares of 1/64 of the budget (a reader waits until its share is free) rather than
   * all calling at once for 1/256 each: a call's own cost (HTTP, signing, timers, the reader's
   * bookkeeping: 200–370 µs of CPU) then spreads over four times the records, under the same
   * budget (256 shards behind: 10% less CPU per event, 35–50% more events a second, peak RSS 20 MB
   * higher; bench/notes.md item 37). Readers paced at 5 calls a second each leave the race for
   * 200 ms after a call, so every one gets its turn.
   */
  private get sharers(): number {
    return Math.max(1, Math.min(this.busy, MAX_SHARERS));
  }

  /** Records an idle reader may ask for in a call. */
  get idleRecordShare(): number {
    return this.recordLimit / Math.max(1, this.readers);
  }

  /** Records still available (0 when over). */
  get recordsAvailable(): number {
    return Math.max(0, this.recordLimit - this.recordsUsed - this.recordsReserved);
  }

  /** Room for `n` more records (always when none are buffered or asked for). */
  hasRecordRoom(n: number): boolean {
    const taken = this.recordsUsed + this.recordsReserved;
    return taken === 0 || taken + n <= this.recordLimit;
  }

  /** Sets aside `n` records for a call in flight. */
  reserveRecords(n: number): void {
    this.recordsReserved += n;
  }

  /** Ends a reservation of `reserved` records, `actual` of which were buffered. */
  settleRecords(reserved: number, actual: number): void {
    this.recordsReserved = Math.max(0, this.recordsReserved - reserved);
    this.recordsUsed += actual;
    if (actual < reserved) this.wake();
  }

  /** `n` buffered records were taken. */
  releaseRecords(n: number): void {
    this.recordsUsed = Math.max(0, this.recordsUsed - n);
    if (n > 0) this.wake();
  }

  /**
   * The part of the budget one reader may reserve for a call: the limit divided between the busy
   * readers, at most {@link MAX_SHARERS} of them. Without it the first readers to call reserve nearly all of it and the others are left
   * calls of a few records (bench/notes.md item 26).
   */
  get share(): number {
    return this.limit / this.sharers;
  }

  /**
   * What an idle reader (at the tip, nothing new) may reserve: the limit divided between all
   * readers. Its call usually comes back empty; sized like a busy reader's, a few hundred idle
   * readers would take turns at the whole budget and keep the busy ones waiting.
   */
  get idleShare(): number {
    return this.limit / Math.max(1, this.readers);
  }

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
    if (this.reserved > this.peakReserved) this.peakReserved = this.reserved;
    if (this.used + this.reserved > this.peakTaken) this.peakTaken = this.used + this.reserved;
  }

  /** Ends a reservation of `reserved` bytes, `actual` of which were buffered. */
  settle(reserved: number, actual: number): void {
    this.reserved = Math.max(0, this.reserved - reserved);
    this.add(actual);
    if (actual < reserved) this.wake();
  }

  add(n: number): void {
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    if (this.used + this.reserved > this.peakTaken) this.peakTaken = this.used + this.reserved;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    if (n > 0) this.wake();
  }
}
