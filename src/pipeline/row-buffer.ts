/**
 * The rows a pipeline holds between two commits, grouped by partition as they arrive and encoded
 * column by column (`data/encoded-column.ts`), so that a commit writes each group as one Parquet
 * file without touching a value again, and the garbage collector never sees the buffered rows.
 */
import { BufferPool } from '../data/buffer-pool.js';
import { clearRawStage, ColumnBatchBuilder, RAW_UTF8, rawValue, releaseBatch } from '../data/column-batch.js';
import type { ColumnBatch, RawRow, RawStage } from '../data/column-batch.js';
import { FloeError, ValidationError } from '../errors.js';
import type { PartitionSpec } from '../iceberg/metadata.js';
import { parseTransform, transformFunction } from '../iceberg/transforms.js';
import type { IcebergValue, Schema } from '../iceberg/types.js';

/**
 * A row the buffer refused (a value its column cannot hold, a partition value that cannot be
 * computed): nothing of it was kept, the buffer holds what it held before. The pipeline makes
 * the record a dead letter; any other error of the buffer is its own (staged rows) and stops.
 */
export class RowRefusedError extends FloeError {
  constructor(cause: unknown) {
    super('ROW_REFUSED', `buffer: the row was refused (a bug in floe; please report it): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * The staged rows could not be moved into the buffer (see {@link RowBuffer.flushStage}): the
 * buffer holds what it held before them and the stage is empty. Their records can be taken again
 * one by one (the pipeline does, so that only a bad one is a dead letter).
 */
export class StageRefusedError extends FloeError {
  constructor(
    /** How many staged rows were given back. */
    readonly rows: number,
    cause: unknown,
  ) {
    super('INTERNAL', `buffer: ${rows} staged rows were refused (a bug in floe; please report it): ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** One partition's rows. */
export interface BufferedGroup {
  /** Partition tuple (the spec's field order); empty for an unpartitioned spec. */
  partition: IcebergValue[];
  batch: ColumnBatch;
}

interface Group {
  partition: IcebergValue[];
  builder: ColumnBatchBuilder;
}

/** Buffers rows by partition for one table schema and partition spec. */
export class RowBuffer {
  private groups = new Map<string, Group>();
  private rows = 0;
  private readonly partitioners: ((row: readonly IcebergValue[]) => IcebergValue)[];
  /** Positions of the partition source columns, and a row holding just their values. */
  private readonly sourceIndexes: number[] = [];
  private readonly sourceRow: IcebergValue[];
  /** The partition tuple of the row being grouped (reused from row to row). */
  private readonly scratchPartition: IcebergValue[];
  /** Rows per group at the last drain: the next builders start that large. */
  private expected = 1024;
  /** Buffers of written units, reused by the next ones (see `data/buffer-pool.ts`). */
  private readonly pool = new BufferPool();
  /**
   * The groups made since the last drain, in order, for a lookup without building a key when
   * every partition value is a primitive (the usual case: a few partitions per commit).
   */
  private recent: Group[] = [];
  /** Per partition source column: strings recently decoded from raw rows (partition values repeat). */
  private readonly decoded: { bytes: Uint8Array; text: string }[][];

  constructor(
    private readonly schema: Schema,
    readonly spec: PartitionSpec,
  ) {
    this.partitioners = spec.fields.map((pf) => {
      const index = schema.fields.findIndex((f) => f.id === pf['source-id']);
      const field = schema.fields[index];
      if (!field) {
        throw new ValidationError(
          `pipeline: partition field '${pf.name}' has source id ${pf['source-id']}, which is not a top-level column (nested partition sources are not supported for writes)`,
        );
      }
      const apply = transformFunction(parseTransform(pf.transform), field.type);
      this.sourceIndexes.push(index);
      return (row) => apply(row[index] ?? null);
    });
    this.sourceRow = new Array<IcebergValue>(schema.fields.length).fill(null);
    this.scratchPartition = new Array<IcebergValue>(this.partitioners.length).fill(null);
    this.decoded = schema.fields.map(() => []);
  }

  /** Where the native scanner stages rows for this buffer (see {@link attachStage}). */
  private stage: RawStage | undefined;

  /** Rows buffered since the last {@link drain} (staged rows included). */
  get length(): number {
    return this.rows + (this.stage?.state[0] ?? 0);
  }

  /**
   * Takes the rows a native scanner stages (`RecordScanner.scanStaged`) as rows of this buffer,
   * in order with the rows appended otherwise (staged rows are moved in before any other row).
   * Only for an unpartitioned spec: all rows go to one group.
   */
  attachStage(stage: RawStage): void {
    if (this.partitioners.length > 0) throw new ValidationError('pipeline: staged rows need an unpartitioned table');
    this.stage = stage;
  }

  /**
   * Moves the staged rows into the buffer and empties the stage (call when it is full). All or
   * nothing: when they cannot be moved, the stage is emptied all the same, the buffer holds what
   * it held before, and {@link StageRefusedError} says how many rows were given back.
   */
  flushStage(): void {
    const stage = this.stage;
    if (stage === undefined || stage.state[0] === 0) return;
    const n = stage.state[0]!;
    const g = this.group(this.sourceRow);
    try {
      g.builder.appendStaged(stage);
    } catch (e) {
      clearRawStage(stage);
      // appendStaged rolls back; a half row left behind all the same is the buffer's own failure.
      throw g.builder.whole ? new StageRefusedError(n, e) : e;
    }
    clearRawStage(stage);
    this.rows += n;
  }

  /**
   * Adds a row (values of the top-level fields in schema order), all or nothing: a row that
   * cannot be buffered throws {@link RowRefusedError} and leaves the buffer as it was.
   */
  append(row: readonly IcebergValue[]): void {
    this.flushStage();
    let g: Group | undefined;
    try {
      g = this.group(row);
      g.builder.append(row);
    } catch (e) {
      throw refused(g, e);
    }
    this.rows++;
  }

  /** Adds a row given as pieces of a record's bytes (the JSON fast path); all or nothing, as {@link append}. */
  appendRaw(raw: RawRow): void {
    this.flushStage();
    let g: Group | undefined;
    try {
      if (this.partitioners.length === 0) g = this.group(this.sourceRow);
      else {
        // Only the partition source columns are decoded to values.
        const row = this.sourceRow;
        for (const i of this.sourceIndexes) row[i] = raw.tags[i] === RAW_UTF8 ? this.decode(raw, i) : rawValue(raw, i);
        g = this.group(row);
      }
      g.builder.appendRaw(raw);
    } catch (e) {
      throw refused(g, e);
    }
    this.rows++;
  }

  /** The string in column `i` of a raw row, reusing a recent decoding of the same bytes. */
  private decode(raw: RawRow, i: number): string {
    const bytes = raw.bytes;
    const from = raw.from[i]!;
    const n = raw.to[i]! - from;
    const seen = this.decoded[i]!;
    for (let k = 0; k < seen.length; k++) {
      const e = seen[k]!;
      const b = e.bytes;
      if (b.length !== n) continue;
      let j = 0;
      while (j < n && b[j] === bytes[from + j]) j++;
      if (j === n) return e.text;
    }
    const text = rawValue(raw, i) as string;
    if (n <= 64) {
      // A small, recent set: partition values have few distinct values per commit, or else
      // caching them does not pay.
      if (seen.length >= 16) seen.shift();
      seen.push({ bytes: bytes.slice(from, from + n), text });
    }
    return text;
  }

  /** The group of a row's partition (created on first use). */
  private group(row: readonly IcebergValue[]): Group {
    if (this.partitioners.length === 0) {
      const only = this.recent[0];
      if (only !== undefined) return only;
    }
    let partition: IcebergValue[] | undefined;
    if (this.partitioners.length > 0) {
      // Into a scratch tuple: a row of a group seen recently (the usual case) allocates nothing.
      const scratch = this.scratchPartition;
      let primitive = true;
      for (let j = 0; j < scratch.length; j++) {
        const v = this.partitioners[j]!(row);
        scratch[j] = v;
        if (v instanceof Uint8Array) primitive = false;
      }
      // Primitive values (strings, numbers, bigints, booleans, null) compare by value with ===.
      const recent = this.recent;
      if (recent.length <= 32 && primitive) {
        for (let k = 0; k < recent.length; k++) {
          const values = recent[k]!.partition;
          let same = true;
          for (let j = 0; j < values.length && same; j++) same = values[j] === scratch[j];
          if (same) return recent[k]!;
        }
      }
      partition = scratch.slice();
    }
    const key = partition === undefined ? '' : partition.map(keyPart).join('\u0001');
    let g = this.groups.get(key);
    if (!g) {
      g = { partition: partition ?? [], builder: new ColumnBatchBuilder(this.schema, { encode: true, expectedRows: this.expected, pool: this.pool }) };
      this.groups.set(key, g);
      this.recent.push(g);
    }
    return g;
  }

  /**
   * Takes back the buffers of drained groups whose files are written, for the next units. The
   * groups' batches must not be read afterwards.
   */
  recycle(groups: readonly BufferedGroup[]): void {
    this.pool.newRound();
    for (const g of groups) releaseBatch(g.batch);
  }

  /** The buffered groups (one batch each); the buffer starts empty again. */
  drain(): BufferedGroup[] {
    this.flushStage();
    const out: BufferedGroup[] = [];
    for (const g of this.groups.values()) {
      const batch = g.builder.build();
      // A group made for a row that was then refused has no rows: no file for it.
      if (batch.length > 0) out.push({ partition: g.partition, batch });
      else releaseBatch(batch);
    }
    // Next builders start near the last average size (saves regrowing), within reason (up to
    // 2^19 rows: a full unit at the default 250,000 rows, or twice that, never regrows). Rounded up to a power of
    // two below 32,768 rows and to a multiple of 32,768 above, so that units of a steady stream
    // ask for buffers of the same sizes and reuse the pool's.
    const average = Math.ceil(this.rows / Math.max(1, out.length));
    const rounded = average <= 32_768 ? 2 ** Math.ceil(Math.log2(Math.max(1024, average))) : Math.ceil(average / 32_768) * 32_768;
    this.expected = Math.min(524_288, rounded);
    this.groups = new Map();
    this.recent = [];
    this.rows = 0;
    return out;
  }
}

/**
 * The error of a row that failed: refused (the record's dead letter) when its group's columns are
 * whole again, else the error as it is (a half row left behind: the pipeline must stop).
 */
function refused(g: { builder: ColumnBatchBuilder } | undefined, e: unknown): unknown {
  return g === undefined || g.builder.whole ? new RowRefusedError(e) : e;
}

function keyPart(v: IcebergValue): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v) + typeof v;
}
