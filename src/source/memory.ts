/**
 * An in-memory Source: partitions of records held (or generated) in the process. Used by the
 * benchmarks to measure the pipeline after the source, and by tests that need a source without a
 * server. Positions are record indexes (`"41"` = records 0..41 consumed), so it resumes exactly
 * like a real stream.
 */
import { ValidationError } from '../errors.js';
import type {
  InitialPosition,
  PartitionMetrics,
  PollOptions,
  RecordBlock,
  RecordRun,
  Source,
  SourceBatch,
  SourceMetrics,
  SourceRecord,
} from './source.js';
import { partitionMetrics } from './source.js';

/** A partition's records: a fixed list, or a generator of record `i` (unbounded when `length` is Infinity). */
export interface MemoryPartition {
  id: string;
  length: number;
  record: (i: number) => { data: Uint8Array; partitionKey?: string; arrivalTimeMs?: number };
}

/** Options of {@link MemorySource}. */
export interface MemorySourceOptions {
  id: string;
  partitions: MemoryPartition[];
  /**
   * Hand records out as runs of blocks (`SourceBatch.runs`) to a poll that asks for them, as the
   * Kinesis source does: for tests of that path. Default false.
   */
  blocks?: boolean;
}

interface State {
  p: MemoryPartition;
  next: number;
  read: number;
  bytes: number;
  committed: string | undefined;
}

const NO_META: Readonly<Record<string, string>> = Object.freeze({});

/**
 * A record of this source. A class rather than an object literal: V8 tracks the survival of
 * objects made by a literal and, when a collection finds nearly all of them alive (a poll's batch
 * being read), allocates that literal's objects in the old generation from then on, where only a
 * full collection frees them (tens of MB of resident memory at full rate).
 */
class MemoryRecord implements SourceRecord {
  readonly meta = NO_META;
  constructor(
    readonly partitionId: string,
    readonly position: string,
    readonly data: Uint8Array,
    readonly partitionKey: string,
    readonly arrivalTimeMs: number,
  ) {}
}

const blockCounts = { made: 0, released: 0, releasedTwice: 0 };

/** Blocks made, released, and released more than once since the process began (tests). */
export function memoryBlockCounts(): Readonly<typeof blockCounts> {
  return { ...blockCounts };
}

/** Records of one partition copied into one block (see {@link MemorySourceOptions.blocks}). */
class MemoryBlock implements RecordBlock {
  readonly length: number;
  readonly data: Uint8Array;
  private readonly starts: Int32Array;
  constructor(
    readonly partitionId: string,
    private readonly records: SourceRecord[],
  ) {
    this.length = records.length;
    blockCounts.made++;
    this.starts = new Int32Array(records.length + 1);
    let total = 0;
    for (let i = 0; i < records.length; i++) {
      this.starts[i] = total;
      total += records[i]!.data.byteLength;
    }
    this.starts[records.length] = total;
    this.data = new Uint8Array(total);
    for (let i = 0; i < records.length; i++) this.data.set(records[i]!.data, this.starts[i]!);
  }
  dataStart(i: number): number {
    return this.starts[i]!;
  }
  dataEnd(i: number): number {
    return this.starts[i + 1]!;
  }
  ranges(): { ends: Int32Array; starts: Int32Array | null } {
    return { ends: this.starts.subarray(1), starts: this.starts };
  }
  private released = false;
  /**
   * Overwrites the block's payloads with 0xff, as a reused buffer would: a consumer reading a
   * record after releasing its block reads bytes that are no longer its own (what the tests look for).
   */
  release(): void {
    if (this.released) blockCounts.releasedTwice++;
    else blockCounts.released++;
    this.released = true;
    this.data.fill(0xff);
  }
  position(i: number): string {
    return this.records[i]!.position;
  }
  partitionKey(i: number): string {
    return this.records[i]!.partitionKey;
  }
  arrivalTimeMs(i: number): number {
    return this.records[i]!.arrivalTimeMs;
  }
  meta(i: number): Readonly<Record<string, string>> {
    return this.records[i]!.meta;
  }
  record(i: number): SourceRecord {
    const r = this.records[i]!;
    return { ...r, data: this.data.subarray(this.dataStart(i), this.dataEnd(i)) };
  }
}

/** A poll's records (a partition's in a row) as one run per partition. */
function toRuns(records: SourceRecord[]): RecordRun[] {
  const runs: RecordRun[] = [];
  let from = 0;
  for (let i = 1; i <= records.length; i++) {
    if (i < records.length && records[i]!.partitionId === records[from]!.partitionId) continue;
    const block = new MemoryBlock(records[from]!.partitionId, records.slice(from, i));
    runs.push({ block, from: 0, to: block.length });
    from = i;
  }
  return runs;
}

/** A Source over in-memory partitions. */
export class MemorySource implements Source {
  readonly id: string;
  private readonly states: State[];
  private rotate = 0;
  private closed = false;

  private readonly blocks: boolean;

  constructor(options: MemorySourceOptions) {
    this.id = options.id;
    this.blocks = options.blocks ?? false;
    this.states = options.partitions.map((p) => ({ p, next: 0, read: 0, bytes: 0, committed: undefined }));
  }

  private initial: InitialPosition = { type: 'TRIM_HORIZON' };

  async start(startPositions: ReadonlyMap<string, string>, initial: InitialPosition): Promise<void> {
    this.initial = initial;
    for (const s of this.states) {
      const pos = startPositions.get(s.p.id);
      if (pos !== undefined) {
        if (!/^\d+$/.test(pos)) throw new ValidationError(`memory-source: partition ${s.p.id}: invalid position '${pos}'`);
        s.next = Number(pos) + 1;
      } else if (initial.type === 'LATEST') {
        s.next = Number.isFinite(s.p.length) ? s.p.length : 0;
      }
    }
  }

  async poll(options: PollOptions): Promise<SourceBatch> {
    const records: SourceRecord[] = [];
    const positions = new Map<string, string>();
    if (this.closed) return { records, positions };
    let bytes = 0;
    const n = this.states.length;
    // Round-robin over partitions so every partition advances, as a real multi-shard read would.
    for (let k = 0; k < n && records.length < options.maxRecords; k++) {
      const s = this.states[(this.rotate + k) % n]!;
      const share = Math.max(1, Math.ceil((options.maxRecords - records.length) / (n - k)));
      let taken = 0;
      while (s.next < s.p.length && taken < share && records.length < options.maxRecords) {
        const r = s.p.record(s.next);
        if (bytes > 0 && bytes + r.data.length > options.maxBytes) break;
        records.push(
          // keyless records: the partition id as key (no string per record)
          new MemoryRecord(s.p.id, String(s.next), r.data, r.partitionKey ?? s.p.id, r.arrivalTimeMs ?? Date.now()),
        );
        bytes += r.data.length;
        s.read++;
        s.bytes += r.data.length;
        s.next++;
        taken++;
      }
      if (taken > 0) positions.set(s.p.id, String(s.next - 1));
    }
    this.rotate = (this.rotate + 1) % Math.max(1, n);
    if (this.blocks && options.runs === true && records.length > 0) return { records: [], runs: toRuns(records), positions };
    if (records.length === 0 && options.waitMs) {
      // Nothing left: behave like an idle stream (wait, unless stopped).
      await new Promise<void>((resolve) => {
        const onAbort = (): void => {
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          options.signal?.removeEventListener('abort', onAbort);
          resolve();
        }, Math.min(options.waitMs ?? 0, 50));
        options.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    return { records, positions };
  }

  /** See {@link Source.rewind}: every partition reads again after its position in `positions`. */
  async rewind(positions: ReadonlyMap<string, string>): Promise<void> {
    for (const s of this.states) s.next = 0;
    await this.start(positions, this.initial);
  }

  markCommitted(positions: ReadonlyMap<string, string>): void {
    for (const s of this.states) {
      const p = positions.get(s.p.id);
      if (p !== undefined) s.committed = p;
    }
  }

  comparePositions(a: string, b: string): number {
    return Number(a) - Number(b);
  }

  /** True when every finite partition has been handed out completely. */
  get drained(): boolean {
    return this.states.every((s) => s.next >= s.p.length);
  }

  metrics(): SourceMetrics {
    const partitions: PartitionMetrics[] = this.states.map((s) =>
      partitionMetrics(s.p.id, s.next >= s.p.length ? 'ended' : 'reading', {
        millisBehindLatest: 0,
        recordsRead: s.read,
        bytesRead: s.bytes,
        lastPosition: s.next > 0 ? String(s.next - 1) : undefined,
        committedPosition: s.committed,
      }),
    );
    return {
      recordsRead: partitions.reduce((a, p) => a + p.recordsRead, 0),
      bytesRead: partitions.reduce((a, p) => a + p.bytesRead, 0),
      throttles: 0,
      retries: 0,
      bufferedRecords: 0,
      bufferedBytes: 0,
      peakBufferedBytes: 0,
      millisBehindLatest: 0,
      discoveries: 1,
      partitions,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
