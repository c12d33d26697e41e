/**
 * Recycles the large buffers of encoded columns (`encoded-column.ts`) from one commit unit to the
 * next. A streaming pipeline fills a unit of a few hundred thousand rows every second, in buffers
 * of the same sizes each time; left to the garbage collector, the buffers of a written unit
 * linger until a full collection finds them (tens of MB of resident memory, and collections the
 * external memory itself triggers). Given back here once the unit's files are written, they are
 * taken by the next unit instead.
 *
 * Buffers are matched by exact byte length (columns of the same schema and expected row count
 * ask for the same sizes). A buffer taken from the pool holds old bytes: a column writes every
 * position it later reads (null slots excepted, which readers ignore).
 */
export class BufferPool {
  private free = new Map<number, ArrayBuffer[]>();
  private kept = 0;

  /**
   * @param maxBytes most bytes held at once; buffers given beyond it are left to the collector
   */
  constructor(private readonly maxBytes = 512 * 1024 * 1024) {}

  /** Bytes held for reuse. */
  get size(): number {
    return this.kept;
  }

  /** A buffer of exactly `byteLength` bytes: a recycled one (old content), or a new one (zeros). */
  take(byteLength: number): ArrayBuffer {
    const list = this.free.get(byteLength);
    const b = list?.pop();
    if (b !== undefined) {
      this.kept -= byteLength;
      return b;
    }
    return new ArrayBuffer(byteLength);
  }

  /**
   * Starts a new round: buffers given in the round before and not taken since are dropped, so
   * that memory shrinks when units do (a quieter stream, fewer partitions).
   */
  newRound(): void {
    for (const list of this.free.values()) for (const b of list) discard(b);
    this.free = new Map();
    this.kept = 0;
  }

  /** Gives a buffer back; nothing may use it (or a view of it) afterwards. */
  give(buffer: ArrayBuffer): void {
    const n = buffer.byteLength;
    if (n === 0) return;
    if (this.kept + n > this.maxBytes) {
      discard(buffer);
      return;
    }
    let list = this.free.get(n);
    if (list === undefined) this.free.set(n, (list = []));
    list.push(buffer);
    this.kept += n;
  }
}

/**
 * Frees a buffer's memory now. Left to the collector, a buffer that lived long enough to reach
 * the old generation keeps its memory until the next full collection (seconds at full rate: tens
 * of MB of resident memory). Transferring it into a clone that is dropped at once detaches it and
 * frees its bytes; a view of it still held somewhere reads as empty instead of reused bytes.
 */
function discard(buffer: ArrayBuffer): void {
  structuredClone(buffer, { transfer: [buffer] });
}
