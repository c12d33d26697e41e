/**
 * Upserts that delete by position (format v3): the writer knows where every live key of the
 * table is (data file, row position: a {@link KeyIndex}), so a commit deletes a key's older row
 * with a deletion vector on its data file instead of an equality delete. Readers then apply a
 * bitmap per file instead of probing every key, and a `count(*)` is metadata (Σ record_count −
 * Σ cardinality, `query/metadata-count.ts`): what keeps reads of a table taking upserts every
 * second close to an append-only one (issue 18). Iceberg's direction too (Flink's
 * `ConvertEqualityDeletes`, Paimon's lookup files); here the index lives in the writer's memory.
 *
 * Exactness is the whole point: a vector on the wrong position deletes a live row. So the index
 * is used only while it is known to describe the table exactly:
 * - it is built from one snapshot, deletes applied (deletion vectors, and equality deletes: rows
 *   they remove count as deleted), every live key exactly once (a duplicate key, or Parquet
 *   position delete files of a table upgraded from v2: not built);
 * - every commit that uses it asserts, on the base it lands on, that nothing happened since the
 *   snapshot the index describes except this writer's own commits (and commits that move no file,
 *   such as a manifest rewrite); anything else (another writer, another process's compaction)
 *   makes the index stale: the commit fails before landing, the caller falls back to equality
 *   deletes (always correct), and the index is built again later (see {@link RETRY_BUILD_MS});
 * - a compaction in the same process rewrites files under the same lock
 *   ({@link UpsertVectors.rewrite}): the rows it copied are found again by their keys in the new
 *   files, so rows deleted while it ran (keys upserted meanwhile) become vectors on the new files
 *   in the compaction's own commit, and the index moves to the new positions. Without this, every
 *   compaction next to a writer deleting every second would be abandoned.
 * A key whose row is deleted by a vector is removed from the index in the same step; an upserted
 * key points to its new row, found by reading the key column of the commit's new files (their
 * row order is their positions).
 *
 * Supported keys: one `int` or `long` column (the index stores 64-bit keys exactly). Other keys
 * (strings, several columns) keep equality deletes. Memory: about 16 bytes a key slot (load ≤
 * 0.7) plus a bit per row of each data file with deletes.
 */
import type { DuckDBConnection, DuckDBIntegerVector, DuckDBUIntegerVector } from '@duckdb/node-api';
import { CommitConflictError, FloeError, ValidationError } from '../errors.js';
import { FileContent, isDeletionVector, type DataFile } from '../iceberg/manifest-types.js';
import type { Snapshot, TableMetadata } from '../iceberg/metadata.js';
import { currentSchema } from '../iceberg/metadata-lookup.js';
import type { FileScanTask } from '../iceberg/scan.js';
import { ancestors, snapshotForRef } from '../iceberg/snapshot.js';
import type { IcebergValue, Schema } from '../iceberg/types.js';
import type { DuckDB } from '../duckdb/instance.js';
import { vectorPositions } from '../query/deletion-vectors.js';
import { equalityDeletedPositions, keyHalvesSql } from '../query/table-view.js';
import { planTableScan } from '../query/table-scan.js';
import { popcount32 } from '../iceberg/roaring-bitmap.js';
import { KeyIndex, keyHalves } from './key-index.js';
import type { RowDelta } from './row-delta.js';
import type { Table } from './table.js';
import { writeDeletionVectors, type WrittenVector } from './vector-files.js';

/** After the index was found stale, how long commits use equality deletes before it is built again (doubling, capped). */
export const RETRY_BUILD_MS = 30_000;
const MAX_RETRY_BUILD_MS = 10 * 60_000;

/** Thrown by a commit's validation when the table moved in a way the index does not know. */
export class StaleKeyIndexError extends ValidationError {}

/** The snapshot an index describes: its id and sequence number. */
interface Described {
  id: bigint;
  seq: bigint;
}

function describe(s: Snapshot): Described {
  return { id: s['snapshot-id'], seq: s['sequence-number'] ?? 0n };
}

/** A data file the index points into. */
interface IndexedFile {
  file: DataFile;
  specId: number;
  /** Its deleted positions, a bit per row; undefined while none. */
  deleted: Uint32Array | undefined;
  /** Its live deletion vector's entry. */
  vector: DataFile | undefined;
}

/** A new data file's keys in position order (low and high halves). */
interface FileKeys {
  lo: Int32Array;
  hi: Int32Array;
}

/** What a commit adds and removes for its deletes, and how the index follows once it landed. */
export interface PreparedVectors {
  /** The new vectors (one Puffin file): add them with the rows. */
  readonly vectors: readonly WrittenVector[];
  /** The vectors they replace: remove them in the same commit. */
  readonly replaced: readonly DataFile[];
  /** Adds {@link vectors} to `delta` and removes {@link replaced} there. */
  addTo(delta: RowDelta): RowDelta;
  /** Throws {@link StaleKeyIndexError} unless `base` is what the index describes; run on every attempt. */
  validate(base: TableMetadata): void;
  /** The commit landed as `snapshot`: the index follows. */
  committed(snapshot: Snapshot): void;
  /** The commit failed: deletes the Puffin file. */
  abandon(): Promise<void>;
}

/** What a compaction's commit adds and removes besides its own files ({@link UpsertVectors.rewrite}). */
export interface RewriteVectors {
  /** Vectors of the new files: rows deleted since the compaction read its snapshot. */
  readonly add: readonly WrittenVector[];
  /** The live vectors of the rewritten files at the commit. */
  readonly remove: readonly DataFile[];
  /** Throws {@link StaleKeyIndexError} unless `base` is what the index describes. */
  validate(base: TableMetadata): void;
}

function bitSet(bits: Uint32Array, pos: number): void {
  bits[pos >>> 5]! |= 1 << (pos & 31);
}

function bitTest(bits: Uint32Array | undefined, pos: number): boolean {
  return bits !== undefined && (bits[pos >>> 5]! & (1 << (pos & 31))) !== 0;
}

/** How many bits of `bits` are set. */
function popcount(bits: Uint32Array): number {
  let n = 0;
  for (let w = 0; w < bits.length; w++) n += popcount32(bits[w]!);
  return n;
}

function keyOfValue(v: IcebergValue | undefined, what: string): [number, number] {
  if (typeof v === 'bigint') return keyHalves(v);
  if (typeof v === 'number' && Number.isInteger(v)) return keyHalves(BigInt(v));
  throw new FloeError('INTERNAL', `${what}: a key value is not an integer (${String(v)}); a bug in floe, please report it`);
}

/** Why a table's key cannot be indexed (undefined when it can). */
export function keyIndexUnsupported(md: TableMetadata, keyIds: readonly number[]): string | undefined {
  if (md['format-version'] < 3) return `deletion vectors need a format version 3 table (this one is v${md['format-version']})`;
  if (keyIds.length !== 1) return 'the key has several columns (only a single int or long key is indexed)';
  const field = currentSchema(md, 'table').fields.find((f) => f.id === keyIds[0]);
  if (field?.type !== 'long' && field?.type !== 'int') return `the key column is ${typeof field?.type === 'string' ? field.type : 'not a primitive'} (only a single int or long key is indexed)`;
  return undefined;
}

/** See the file comment. */
export class UpsertVectors {
  private index = new KeyIndex();
  /** Files by ordinal (the index's file numbers, from 1). */
  private files = new Map<number, IndexedFile>();
  private ordinals = new Map<string, number>();
  private nextOrdinal = 1;
  /** The snapshot the index describes; `null`: an empty table; undefined: no usable index. */
  private described: Described | null | undefined = undefined;
  private retryAt = 0;
  private retryMs = RETRY_BUILD_MS;
  private lock: Promise<unknown> = Promise.resolve();
  /** Why the index is not in use (the last build's or staleness reason), for events. */
  reason: string | undefined = 'not built yet';

  private constructor(
    private readonly table: Table,
    private readonly keyId: number,
    private readonly duckdb: DuckDB,
    private readonly now: () => number,
  ) {}

  /**
   * An index for upserts of `keyIds` into `table`, built from the current snapshot when it can be
   * (else commits use equality deletes until a later build succeeds); undefined when the table or
   * key cannot have one ({@link keyIndexUnsupported}).
   */
  static async open(table: Table, keyIds: readonly number[], duckdb: DuckDB, now: () => number = Date.now): Promise<UpsertVectors | undefined> {
    if (keyIndexUnsupported(table.metadata, keyIds) !== undefined) return undefined;
    const v = new UpsertVectors(table, keyIds[0]!, duckdb, now);
    await v.exclusive(() => v.build());
    return v;
  }

  /** True while commits delete by position. */
  get active(): boolean {
    return this.described !== undefined;
  }

  /** Live keys indexed. */
  get size(): number {
    return this.index.size;
  }

  /** Bytes held by the index and the deleted-position bitmaps. */
  get memoryBytes(): number {
    let n = this.index.capacityBytes;
    for (const f of this.files.values()) n += f.deleted?.byteLength ?? 0;
    return n;
  }

  /** Runs `fn` with no other commit of this index in progress (commits and compactions take turns). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  /** Forgets the index (the table moved under it); commits use equality deletes until a later build. */
  invalidate(reason: string): void {
    this.described = undefined;
    this.reason = reason;
    this.index = new KeyIndex();
    this.files.clear();
    this.ordinals.clear();
    this.retryAt = this.now() + this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_BUILD_MS);
  }

  /**
   * Builds the index from the table's current snapshot; false (with {@link reason}) when the
   * snapshot has deletes it cannot describe or a key twice. Call under {@link exclusive}.
   */
  async build(): Promise<boolean> {
    this.described = undefined;
    this.index = new KeyIndex();
    this.files.clear();
    this.ordinals.clear();
    await this.table.refresh();
    const md = this.table.metadata;
    const head = snapshotForRef(md, 'main');
    if (!head) {
      this.described = null;
      this.reason = undefined;
      return true;
    }
    const scan = await planTableScan(this.table.io, md, { ref: 'main' });
    const positionFile = scan.tasks.flatMap((t) => t.deletes).find((d) => d.file.content === FileContent.POSITION_DELETES && !isDeletionVector(d.file));
    if (positionFile) {
      this.reason = `the table has position delete files (${positionFile.file.file_path}); a compaction removes them`;
      return false;
    }
    const schema = currentSchema(md, 'table');
    // Rows live equality deletes remove (this writer's own, from before the index, or another
    // writer's): not indexed, and held in the files' deleted bits, so a vector written later
    // names them too (the spec allows a vector to repeat a delete; the row stays deleted).
    const equalityDeleted = await equalityDeletedPositions({ duckdb: this.duckdb, io: this.table.io, metadata: md, schema, tasks: scan.tasks }, `upsert: ${this.table.name}`);
    const total = scan.tasks.reduce((n, t) => n + t.file.record_count, 0);
    const index = new KeyIndex(total);
    for (const task of scan.tasks) {
      const vector = task.deletes.find((d) => isDeletionVector(d.file))?.file;
      const entry = this.register(task.file, task.specId, vector);
      const eqPositions = equalityDeleted.get(task.file.file_path);
      if (vector || eqPositions) {
        const bits = new Uint32Array(Math.ceil(task.file.record_count / 32));
        if (vector) {
          const what = `${vector.file_path} at offset ${vector.content_offset} (the deletion vector of ${task.file.file_path})`;
          const bytes = await this.table.io.readRange(vector.file_path, vector.content_offset!, vector.content_size_in_bytes!);
          for (const p of vectorPositions(bytes, vector, what)) bitSet(bits, p);
        }
        for (const p of eqPositions ?? []) {
          if (p >= task.file.record_count) throw new ValidationError(`upsert: ${this.table.name}: an equality delete names position ${p} of ${task.file.file_path}, beyond its ${task.file.record_count} rows`);
          bitSet(bits, p);
        }
        entry.deleted = bits;
      }
      const keys = await this.readKeys(md, schema, task);
      for (let pos = 0; pos < keys.lo.length; pos++) {
        if (bitTest(entry.deleted, pos)) continue;
        if (index.set(keys.lo[pos]!, keys.hi[pos]!, entry.ordinal, pos) !== 0) {
          this.files.clear();
          this.ordinals.clear();
          this.reason = `a key is in the table twice (one row in ${task.file.file_path}, position ${pos}); upserts delete it by equality`;
          return false;
        }
      }
    }
    this.index = index;
    this.described = describe(head);
    this.reason = undefined;
    this.retryMs = RETRY_BUILD_MS;
    return true;
  }

  /**
   * Plans and writes the vectors deleting the current rows of `keys` (every key a commit upserts
   * or deletes) and reads the keys of the commit's new data files; undefined when the index is
   * not in use (the caller writes equality deletes). Call under {@link exclusive}, and finish with
   * `committed` or `abandon` before leaving it.
   */
  async prepare(keys: readonly (readonly IcebergValue[])[], newFiles: readonly WrittenVector[]): Promise<PreparedVectors | undefined> {
    if (this.described === undefined) {
      if (this.now() < this.retryAt) return undefined;
      if (!(await this.build())) {
        this.retryAt = this.now() + this.retryMs;
        return undefined;
      }
    }
    const md = this.table.metadata;
    const what = `upsert: ${this.table.name}`;
    const touched = keys.map((k) => keyOfValue(k[0], what));
    // Positions to delete, by file ordinal.
    const planned = new Map<number, number[]>();
    for (const [lo, hi] of touched) {
      const slot = this.index.find(lo, hi);
      if (slot < 0) continue;
      const ordinal = this.index.fileAt(slot);
      const list = planned.get(ordinal);
      if (list) list.push(this.index.positionAt(slot));
      else planned.set(ordinal, [this.index.positionAt(slot)]);
    }
    const schema = currentSchema(md, 'table');
    const added: { file: WrittenVector; keys: FileKeys }[] = [];
    for (const f of newFiles) added.push({ file: f, keys: await this.readKeys(md, schema, taskOf(f)) });

    // Each affected file's new vector holds its earlier positions too (one live vector per file).
    const bitsAfter = new Map<number, Uint32Array>();
    const toWrite = [...planned].map(([ordinal, positions]) => {
      const f = this.files.get(ordinal)!;
      const bits = f.deleted ? f.deleted.slice() : new Uint32Array(Math.ceil(f.file.record_count / 32));
      for (const p of positions) {
        if (bitTest(f.deleted, p)) throw new FloeError('INTERNAL', `${what}: the key index points at deleted position ${p} of ${f.file.file_path} (a bug in floe; please report it)`);
        bitSet(bits, p);
      }
      bitsAfter.set(ordinal, bits);
      return { ordinal, vector: { data: f.file, specId: f.specId, positions: { bits, cardinality: popcount(bits) } } };
    });
    const written = toWrite.length > 0 ? await writeDeletionVectors(this.table.io, md, toWrite.map((w) => w.vector)) : undefined;
    const replaced = toWrite.flatMap((w) => this.files.get(w.ordinal)!.vector ?? []);
    const expected = this.described;
    const vectors = written?.vectors ?? [];
    return {
      vectors,
      replaced,
      addTo: (delta) => {
        for (const v of vectors) delta.addDeletes(v.file, v.specId);
        for (const d of replaced) delta.removeDeletes(d);
        return delta;
      },
      validate: (base) => this.check(base, expected),
      committed: (snapshot) => {
        toWrite.forEach((w, i) => {
          const f = this.files.get(w.ordinal)!;
          f.deleted = bitsAfter.get(w.ordinal);
          f.vector = written!.vectors[i]!.file;
        });
        // Upserted keys point at their new rows (overwriting their entries); keys only deleted go.
        const fresh = new Set<number>();
        for (const a of added) {
          const ordinal = this.register(a.file.file, a.file.specId, undefined).ordinal;
          fresh.add(ordinal);
          for (let pos = 0; pos < a.keys.lo.length; pos++) this.index.set(a.keys.lo[pos]!, a.keys.hi[pos]!, ordinal, pos);
        }
        for (const [lo, hi] of touched) {
          const slot = this.index.find(lo, hi);
          if (slot >= 0 && !fresh.has(this.index.fileAt(slot))) this.index.delete(lo, hi);
        }
        this.described = describe(snapshot);
      },
      abandon: async () => {
        if (written) await this.table.io.delete(written.path).catch(() => undefined);
      },
    };
  }

  /**
   * A compaction's commit, kept exact with this writer's deletes: `rewritten` are the paths of the
   * data files it replaces, `outputs` its new files (their rows: the rewritten files' live rows at
   * the snapshot it read). Reads the outputs' keys, then, under {@link exclusive}: rows whose key
   * has moved on since (upserted or deleted meanwhile) get vectors on the new files, and
   * `commit` is called with them and the rewritten files' live vectors to remove (`snapshotOf`
   * names the snapshot it committed); once it lands
   * the index points at the new files. Undefined (commit not called) when the index is not in use
   * or does not know every rewritten file: the compaction commits the usual way.
   */
  async rewrite<T>(
    rewritten: ReadonlySet<string>,
    outputs: readonly WrittenVector[],
    commit: (extra: RewriteVectors) => Promise<T>,
    snapshotOf: (committed: T) => Snapshot,
  ): Promise<T | undefined> {
    if (this.described === undefined) return undefined;
    const md = this.table.metadata;
    const schema = currentSchema(md, 'table');
    const keys: FileKeys[] = [];
    for (const f of outputs) keys.push(await this.readKeys(md, schema, taskOf(f)));
    return this.exclusive(async () => {
      const expected = this.described;
      if (expected === undefined || [...rewritten].some((p) => !this.ordinals.has(p))) return undefined;
      const what = `compact: ${this.table.name}`;
      const gone = new Set([...rewritten].map((p) => this.ordinals.get(p)!));
      // By ordinal, for the loop over every copied row (a Set lookup each cost seconds at 10M).
      const goneFlags = new Uint8Array(this.nextOrdinal);
      for (const o of gone) goneFlags[o] = 1;
      // Per output: its dead positions, and per row the index slot of a live one (-1: dead).
      const dead: number[][] = outputs.map(() => []);
      const slots: Int32Array[] = [];
      let moved = 0;
      keys.forEach((k, i) => {
        const out = new Int32Array(k.lo.length);
        const d = dead[i]!;
        for (let pos = 0; pos < k.lo.length; pos++) {
          const slot = this.index.find(k.lo[pos]!, k.hi[pos]!);
          if (slot >= 0 && goneFlags[this.index.fileAt(slot)] === 1) {
            out[pos] = slot;
            moved++;
          } else {
            out[pos] = -1;
            d.push(pos);
          }
        }
        slots.push(out);
      });
      // Every live row of the rewritten files is in the new files exactly once: as many moves as
      // the index has keys in them (a key twice in the copied rows, or a row missing, differs).
      let live = 0;
      for (const o of gone) {
        const f = this.files.get(o)!;
        live += f.file.record_count - (f.deleted ? popcount(f.deleted) : 0);
      }
      if (moved !== live) {
        throw new ValidationError(`${what}: the new files hold ${moved} rows of live keys where the rewritten files hold ${live} (a key twice in the table when the compaction read it?); abandoned`);
      }
      const withDead = outputs.map((f, i) => ({ f, i })).filter(({ i }) => dead[i]!.length > 0);
      const written = withDead.length > 0
        ? await writeDeletionVectors(this.table.io, md, withDead.map(({ f, i }) => ({ data: f.file, specId: f.specId, positions: dead[i]! })))
        : undefined;
      const remove = [...gone].flatMap((o) => this.files.get(o)!.vector ?? []);
      let result: T;
      try {
        result = await commit({ add: written?.vectors ?? [], remove, validate: (base) => this.check(base, expected) });
      } catch (e) {
        // An unknown outcome may have landed: keep the vectors' file, and trust the index no more.
        if (e instanceof FloeError && e.code === 'COMMIT_STATE_UNKNOWN') this.invalidate('a compaction commit ended in an unknown state');
        else if (written) await this.table.io.delete(written.path).catch(() => undefined);
        throw e;
      }
      for (const o of gone) {
        this.ordinals.delete(this.files.get(o)!.file.file_path);
        this.files.delete(o);
      }
      outputs.forEach((f, i) => {
        const entry = this.register(f.file, f.specId, undefined);
        const j = withDead.findIndex((w) => w.i === i);
        if (j >= 0) {
          const bits = new Uint32Array(Math.ceil(f.file.record_count / 32));
          for (const p of dead[i]!) bitSet(bits, p);
          entry.deleted = bits;
          entry.vector = written!.vectors[j]!.file;
        }
        // No insert or delete happened since the slots were found (the lock): move in place.
        const sl = slots[i]!;
        for (let pos = 0; pos < sl.length; pos++) if (sl[pos]! >= 0) this.index.moveAt(sl[pos]!, entry.ordinal, pos);
      });
      this.described = describe(snapshotOf(result));
      // The writer's table object learns of the compaction now (its next commit builds on it).
      await this.table.refresh().catch(() => undefined);
      return result;
    });
  }

  /**
   * Throws {@link StaleKeyIndexError} unless every snapshot after `expected` on `base`'s main
   * moved no file; a CommitConflictError (the commit reloads the table and tries again) when
   * `base` is only older than the index (another `Table` object of this process committed).
   */
  private check(base: TableMetadata, expected: Described | null | undefined): void {
    const head = snapshotForRef(base, 'main');
    if (expected === undefined) throw new StaleKeyIndexError(`upsert: ${this.table.name}: the key index is not in use`);
    if (expected === null ? head === undefined : head?.['snapshot-id'] === expected.id) return;
    if (expected !== null && (head === undefined || (head['sequence-number'] ?? 0n) < expected.seq)) {
      throw new CommitConflictError(`upsert: ${this.table.name}: the table's metadata is older than the key index (snapshot ${expected.id}); reloading`);
    }
    if (head) {
      for (const s of ancestors(base, head['snapshot-id'])) {
        if (expected !== null && s['snapshot-id'] === expected.id) return;
        const moved = ['added-data-files', 'deleted-data-files', 'added-delete-files', 'removed-delete-files', 'added-dvs', 'removed-dvs'].some((k) => Number(s.summary[k] ?? 0) > 0);
        if (moved || s.summary.operation !== 'replace') {
          throw new StaleKeyIndexError(`upsert: ${this.table.name}: snapshot ${s['snapshot-id']} (${s.summary.operation}) was committed by another writer; the key index no longer describes the table`);
        }
      }
    }
    throw new StaleKeyIndexError(`upsert: ${this.table.name}: snapshot ${expected === null ? '(none: the table was empty)' : expected.id}, which the key index describes, is no longer an ancestor of the table's current snapshot`);
  }

  private register(file: DataFile, specId: number, vector: DataFile | undefined): IndexedFile & { ordinal: number } {
    const ordinal = this.nextOrdinal++;
    const entry: IndexedFile = { file, specId, deleted: undefined, vector };
    this.files.set(ordinal, entry);
    this.ordinals.set(file.file_path, ordinal);
    return Object.assign(entry, { ordinal });
  }

  /** One data file's keys in position order. */
  private async readKeys(md: TableMetadata, schema: Schema, task: FileScanTask): Promise<FileKeys> {
    const sql = await keyHalvesSql({ duckdb: this.duckdb, io: this.table.io, metadata: md, schema, task, keyId: this.keyId });
    const n = task.file.record_count;
    const lo = new Int32Array(n);
    const hi = new Int32Array(n);
    let row = 0;
    await this.duckdb.withConnection(async (conn: DuckDBConnection) => {
      const result = await conn.stream(sql);
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const los = chunk.getColumnVector(0) as DuckDBUIntegerVector;
        const his = chunk.getColumnVector(1) as DuckDBIntegerVector;
        const poss = chunk.getColumnVector(2) as DuckDBIntegerVector;
        const count = chunk.rowCount; // a native call each time it is read
        for (let i = 0; i < count; i++, row++) {
          const l = los.getItem(i);
          const h = his.getItem(i);
          if (l === null || h === null) throw new ValidationError(`upsert: ${this.table.name}: data file ${task.file.file_path} has a null key at position ${row}`);
          if (poss.getItem(i) !== row || row >= n) throw new ValidationError(`upsert: ${this.table.name}: data file ${task.file.file_path} does not hold the ${n} rows its manifest entry says`);
          lo[row] = l | 0;
          hi[row] = h;
        }
      }
    });
    if (row !== n) throw new ValidationError(`upsert: ${this.table.name}: data file ${task.file.file_path} holds ${row} rows, its manifest entry says ${n}`);
    return { lo, hi };
  }
}

/** A planning task for a file of the current snapshot or a new one (no deletes: every row). */
function taskOf(f: WrittenVector): FileScanTask {
  return { file: f.file, specId: f.specId, dataSequenceNumber: 0n, fileSequenceNumber: 0n, partition: f.file.partition, deletes: [] };
}
