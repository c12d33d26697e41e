/**
 * One table's view of a routed source (`route-hub.ts`): a {@link Source} that hands a table's
 * pipeline the records routed to it, with positions that say how far the routing has gone.
 *
 * Why a table may claim positions of records it was not given: routing is a pure function of the
 * record, so once the hub has routed every record of a partition up to position P, and every
 * record up to P routed to this table is among the records handed out, P is exactly as true for
 * this table as for the others. A table that rarely gets a record still advances, so a restart
 * does not read from the last record it got. Positions without records are held back
 * (`idleAdvanceMs`) and handed out with the next records, or alone once they are that old: an
 * idle table commits its positions at that pace, not every interval.
 *
 * Records at or before the table's own positions (`start`) are never handed out: after a
 * restart the hub reads from the smallest position over the tables, and each table skips what
 * it already holds.
 */
import type { InitialPosition, PollOptions, Source, SourceBatch, SourceMetrics, SourceRecord } from './../source/source.js';

/** What a routed source needs from its hub. */
export interface RouteHubLink {
  readonly source: Source;
  /** A table's source called `start`: resolves once the hub has started the real source. */
  started(child: RoutedSource): Promise<void>;
  /** A table committed positions (after its commit landed). */
  committed(child: RoutedSource): void;
  /** A table took records: room in the queues. */
  drained(): void;
  /** The hub's failure, rethrown by every poll. */
  readonly failure: unknown;
}

interface Chunk {
  records: SourceRecord[];
  next: number;
  positions: Map<string, string>;
}

const EMPTY = (): SourceBatch => ({ records: [], positions: new Map() });

/** A table's view of the routed source (see the file comment). */
export class RoutedSource implements Source {
  private readonly queue: Chunk[] = [];
  /** Records queued, not yet handed out. */
  queued = 0;
  /** Positions without records, held back since {@link idleSince}. */
  private idle = new Map<string, string>();
  private idleSince: number | undefined;
  /** Positions the table held at start: records at or before them are not handed out. */
  private skip: Map<string, string>;
  /** Positions the table committed (its start positions, then each commit's). */
  readonly committedPositions: Map<string, string>;
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly hub: RouteHubLink,
    /** The table's name (for messages). */
    readonly table: string,
    /** The table's positions when the source is made (known for a table made while running). */
    positions: ReadonlyMap<string, string>,
    private readonly idleAdvanceMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.skip = new Map(positions);
    this.committedPositions = new Map(positions);
  }

  get id(): string {
    return this.hub.source.id;
  }

  async start(positions: ReadonlyMap<string, string>, _initial: InitialPosition): Promise<void> {
    this.skip = new Map(positions);
    for (const [p, pos] of positions) this.committedPositions.set(p, pos);
    await this.hub.started(this);
  }

  /** True when the record is already in the table (it is not handed out again). */
  holds(record: SourceRecord): boolean {
    return this.held(record.partitionId, record.position);
  }

  /** True when `position` of `partition` is already in the table. */
  private held(partition: string, position: string): boolean {
    const s = this.skip.get(partition);
    return s !== undefined && this.hub.source.comparePositions(position, s) <= 0;
  }

  /**
   * Queues the records of one routed batch for this table and the positions the batch reached
   * (`positions`: every partition the batch covered, whatever was routed where).
   */
  deliver(records: readonly SourceRecord[], positions: ReadonlyMap<string, string>): void {
    if (this.closed) return;
    const mine = records.filter((r) => !this.held(r.partitionId, r.position));
    const reached = new Map<string, string>();
    for (const [p, pos] of positions) if (!this.held(p, pos)) reached.set(p, pos);
    if (mine.length > 0) {
      for (const [p, pos] of reached) this.idle.set(p, pos);
      this.queue.push({ records: mine, next: 0, positions: this.idle });
      this.idle = new Map();
      this.idleSince = undefined;
      this.queued += mine.length;
      this.wake?.();
      return;
    }
    if (reached.size === 0) return;
    const last = this.queue[this.queue.length - 1];
    if (last) {
      // Claimed once the records before them are taken: nothing routed here lies between.
      for (const [p, pos] of reached) last.positions.set(p, pos);
      return;
    }
    for (const [p, pos] of reached) this.idle.set(p, pos);
    this.idleSince ??= this.now();
  }

  private idleDue(): boolean {
    return this.idle.size > 0 && this.idleSince !== undefined && this.now() - this.idleSince >= this.idleAdvanceMs;
  }

  async poll(options: PollOptions): Promise<SourceBatch> {
    const deadline = this.now() + (options.waitMs ?? 0);
    for (;;) {
      if (this.hub.failure !== undefined) throw this.hub.failure;
      if (this.queue.length > 0) return this.take(options);
      if (this.idleDue()) {
        const positions = this.idle;
        this.idle = new Map();
        this.idleSince = undefined;
        return { records: [], positions };
      }
      const left = deadline - this.now();
      if (this.closed || options.signal?.aborted || left <= 0) return EMPTY();
      const idleLeft = this.idleSince === undefined ? left : this.idleSince + this.idleAdvanceMs - this.now();
      await this.sleep(Math.max(1, Math.min(left, idleLeft)), options.signal);
    }
  }

  /** Waits for records, a timeout, or an abort (no timer left behind). */
  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  /** Up to `maxRecords` queued records (and about `maxBytes`), with the positions they reach. */
  private take(options: PollOptions): SourceBatch {
    const records: SourceRecord[] = [];
    const positions = new Map<string, string>();
    let bytes = 0;
    while (this.queue.length > 0) {
      const chunk = this.queue[0]!;
      while (chunk.next < chunk.records.length && records.length < options.maxRecords && (records.length === 0 || bytes < options.maxBytes)) {
        const r = chunk.records[chunk.next++]!;
        records.push(r);
        bytes += r.data.length;
        positions.set(r.partitionId, r.position);
      }
      if (chunk.next < chunk.records.length) break;
      for (const [p, pos] of chunk.positions) positions.set(p, pos);
      this.queue.shift();
    }
    this.queued -= records.length;
    this.hub.drained();
    return { records, positions };
  }

  markCommitted(positions: ReadonlyMap<string, string>): void {
    for (const [p, pos] of positions) this.committedPositions.set(p, pos);
    this.hub.committed(this);
  }

  retiredPartitions(committed: ReadonlyMap<string, string>): string[] {
    return this.hub.source.retiredPartitions?.(committed) ?? [];
  }

  comparePositions(a: string, b: string): number {
    return this.hub.source.comparePositions(a, b);
  }

  metrics(): SourceMetrics {
    return this.hub.source.metrics();
  }

  /** Hands out nothing more (the hub closes the real source once every table is done). */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    this.queued = 0;
    this.wake?.();
  }
}
