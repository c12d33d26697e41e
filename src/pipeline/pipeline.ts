/**
 * The streaming pipeline: source → decode → transform → batch → Parquet files → one Iceberg commit
 * that carries both the files and the stream positions they cover.
 *
 * Exactly once, by construction:
 * - A run starts from the positions in the table's current snapshot (the configured initial
 *   position applies only to partitions the table has never seen).
 * - Data files and the new positions land in the same atomic catalog commit. A crash before the
 *   commit leaves unreferenced files (swept by orphan removal) and the old positions, so the
 *   records are read again; a crash after it leaves both.
 * - Every commit validates that the positions in the table are still the ones this run last
 *   committed (or started from). If another writer moved them (a second `floe run` on the same
 *   table by mistake), this run fences itself instead of writing duplicates. Commits that do not
 *   touch positions (compaction) carry them forward unchanged and do not fence anyone.
 *
 * Ingest and writing overlap: when a commit is due, the buffered rows are sealed with the
 * positions they reach and written and committed in the background while the next rows are read.
 * Commits stay in order (a sealed unit waits for the previous commit to finish) and each carries
 * exactly the positions of its own rows, merged with those committed before.
 *
 * Memory stays bounded: at most one sealed unit is being written while one fills; when the filling
 * one is full before the write ends, the pipeline stops pulling, the source's bounded buffers fill
 * and its readers pause (backpressure).
 */
import type { Catalog, TableIdentifier } from '../catalog/catalog.js';
import { parseTableIdentifier } from '../catalog/catalog.js';
import { AlreadyExistsError, FencedError, FloeError, ValidationError } from '../errors.js';
import { ColumnBatchBuilder, newRawStage, type RawStage } from '../data/column-batch.js';
import type { DataFile } from '../iceberg/manifest-types.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { defaultSpec } from '../iceberg/metadata-lookup.js';
import { parsePartitionArg } from '../iceberg/notation.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import { DuckDB } from '../duckdb/instance.js';
import type { IcebergValue, Schema } from '../iceberg/types.js';
import type { Source, SourceMetrics, SourceRecord } from '../source/source.js';
import { Table } from '../table/table.js';
import type { CommitOptions, CommitRetryEvent } from '../table/snapshot-producer.js';
import { writeDataFiles } from '../table/write.js';
import { checkpointPrefix, checkpointSummary, diffPositions, readCheckpoint, samePositions } from './checkpoint.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT, type PipelineConfig } from './config.js';
import { DEAD_LETTER_SCHEMA, deadLetterRow } from './dead-letter.js';
import { base64JsonHint } from './dead-letter-hint.js';
import { DECLINED, NO_ROOM, RecordScanner, STAGED, UNSTAGED } from './record-scan.js';
import { RowBuffer, RowRefusedError, StageRefusedError, type BufferedGroup } from './row-buffer.js';
import { compileTransform, RecordError, schemaForTransform, TRUNCATED, type CompiledTransform, type RecordContext } from './transform.js';

/** Something the pipeline did, for logs and the status line. */
export type PipelineEvent =
  | {
      type: 'started';
      table: string;
      positions: Record<string, string>;
      deadLetterTable?: string;
      /**
       * How usual JSON records are read: by the native scanner (`native/record_scan.c`), with
       * rows staged in columns or appended one by one; by the JavaScript scanner; or not at all
       * (every record the general way: the option is off, or the mapping has no fast path).
       */
      jsonFastPath: 'native, staged' | 'native' | 'javascript' | 'off';
    }
  | {
      type: 'commit';
      snapshotId: string;
      records: number;
      deadLetters: number;
      files: number;
      bytes: number;
      durationMs: number;
      attempts: number;
      positions: Record<string, string>;
    }
  | { type: 'dead-letter'; shard: string; position: string; error: string }
  /** A commit waits for an unavailable catalog (one per retry; see `table/snapshot-producer.ts`). */
  | ({ type: 'commit-retry' } & CommitRetryEvent)
  | { type: 'stopped'; records: number; deadLetters: number; commits: number }
  | { type: 'error'; error: string; code: string };

/** Running totals. */
export interface PipelineStats {
  records: number;
  deadLetters: number;
  skipped: number;
  commits: number;
  bytes: number;
  lastCommitMs: number | undefined;
  lastSnapshotId: string | undefined;
  startedMs: number;
  source: SourceMetrics;
}

/** Options of {@link Pipeline.open}. */
export interface PipelineOptions {
  config: PipelineConfig;
  catalog: Catalog;
  source: Source;
  /** Receives events; must not throw. */
  onEvent?: (event: PipelineEvent) => void;
  /** Clock (tests). */
  now?: () => number;
  /**
   * Called at the commit's crash-sensitive points; crash tests kill the process here to prove
   * that no point loses or duplicates records. `afterWrite`: data files written, not committed.
   * `beforeCommit`: manifests not yet written. `afterCommit`: committed, positions not yet
   * acknowledged to the source.
   */
  crashPoint?: (point: 'afterWrite' | 'beforeCommit' | 'afterCommit') => void;
  /**
   * Read usual records straight from their bytes (`record-scan.ts`); default true. False sends
   * every record through TextDecoder, JSON.parse and the transform (tests compare both).
   */
  jsonFastPath?: boolean;
  /**
   * Read the fast path with the native build of its scanner (`native/record_scan.c`) when it was
   * built; default true. False uses the JavaScript scanner (the same rows, slower).
   */
  nativeScanner?: boolean;
  /**
   * Work to run beside ingestion, given the tables this pipeline writes (the table, then the
   * dead-letter table if any); undefined: none. Started once the run has started (after the
   * `started` event), stopped and awaited after the last commit has landed, before the source
   * closes. `openPipeline` (`run/run-pipeline.ts`) runs `config.maintenance` this way: the
   * pipeline itself does no maintenance.
   */
  alongside?: (tables: TableIdentifier[]) => AlongsideWork | undefined;
}

/** Work beside ingestion (see {@link PipelineOptions.alongside}), e.g. the maintenance scheduler. */
export interface AlongsideWork {
  /** Starts it in the background; called once. */
  start(): void;
  /** Stops it and waits for what it was doing; must not reject. */
  stop(): Promise<void>;
}

/** Rows the native scanner stages before they move to the buffer in bulk (DuckDB's vector size). */
const STAGE_ROWS = 2048;

/** Bytes of strings staged per column (a larger share moves the rows to the buffer early). */
const STAGE_REGION_BYTES = 128 * 1024;

/** Records taken from the source per poll. */
const POLL_RECORDS = 10_000;

/**
 * Records per poll while a commit writes in the background, followed by a turn of the event
 * loop: DuckDB pulls the rows being written through callbacks on this thread (column-scan.ts),
 * one 2048-row chunk per turn.
 */
const SLICE_RECORDS = 2048;

/** Longest stretch of ingest without a turn of the event loop, ms. */
const YIELD_MS = 20;

/** Rows, dead letters and positions sealed for one commit. */
interface SealedUnit {
  groups: BufferedGroup[];
  records: number;
  deadLetters: IcebergValue[][];
  /** Positions reached by this unit's records (and dead letters). */
  pending: Map<string, string>;
  sealedMs: number;
}

async function ensureNamespace(catalog: Catalog, id: TableIdentifier): Promise<void> {
  if (await catalog.namespaceExists(id.namespace)) return;
  try {
    await catalog.createNamespace(id.namespace);
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
  }
}

async function openOrCreate(
  catalog: Catalog,
  id: TableIdentifier,
  create: (() => { schema: Schema; partitionBy?: string; properties?: Record<string, string> }) | undefined,
): Promise<Table> {
  if (await catalog.tableExists(id)) return Table.load(catalog, id);
  if (!create) throw new ValidationError(`pipeline: table ${id.namespace.join('.')}.${id.name} does not exist and table.create is false`);
  const { schema, partitionBy, properties } = create();
  await ensureNamespace(catalog, id);
  try {
    await catalog.createTable(id, {
      schema,
      ...(partitionBy ? { partitionSpec: parsePartitionArg(partitionBy, schema, 'config: table.partition_by') } : {}),
      ...(properties ? { properties } : {}),
    });
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e; // another process created it first: fine
  }
  return Table.load(catalog, id);
}

/** Longest error text kept for a dead letter (the value quotes in it are bounded already). */
const MAX_ERROR_CHARS = 2000;

/** An error's message, at most {@link MAX_ERROR_CHARS} characters (then a marker). */
function boundedMessage(e: unknown): string {
  let m: string;
  try {
    m = e instanceof Error ? e.message : String(e);
  } catch {
    m = 'an error without a message';
  }
  return m.length > MAX_ERROR_CHARS ? m.slice(0, MAX_ERROR_CHARS) + TRUNCATED : m;
}

/**
 * The row buffer failed other than by refusing one row (which is that record's dead letter: see
 * `RowRefusedError`) or the staged rows (taken again one by one: `StageRefusedError`): rows may
 * be half stored, which no dead letter can take back, so the run stops, naming the record.
 */
function bufferFailure(record: SourceRecord, e: unknown): FloeError {
  return new FloeError('INTERNAL', `pipeline: record at shard ${record.partitionId} position ${record.position}: the row buffer failed (a bug in floe; please report it): ${boundedMessage(e)}`, { cause: e });
}

/** The streaming job. */
export class Pipeline {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly buffer: RowBuffer;
  private readonly row: IcebergValue[];
  /** The JSON fast path for this mapping, if it has one (`record-scan.ts`). */
  private readonly scanner: RecordScanner | undefined;
  /** Rows staged by the native scanner (see `RowBuffer.attachStage`), when it stages. */
  private readonly stage: RawStage | undefined;
  /**
   * The records of the staged rows and their processing times (row k's at k), to take them
   * again one by one when the stage cannot be moved into the buffer ({@link moveStage}).
   */
  private readonly stagedRecords: SourceRecord[] = [];
  private readonly stagedTimes: bigint[] = [];
  private recordContext: RecordContext | undefined;
  private deadLetters: IcebergValue[][] = [];
  /** The sealed unit being written and committed in the background, if any. */
  private inflight: Promise<void> | undefined;
  /** A background commit's failure, rethrown by the run loop. */
  private commitError: unknown;
  /**
   * The DuckDB instance that writes this pipeline's files, single-threaded: DuckDB pulls the rows
   * from this thread one chunk at a time anyway, and more threads only compete with ingest for
   * the cores (1 core: 312k → 378k events/s; 2 cores: the same). Open while {@link run} runs.
   */
  private duckdb: DuckDB | undefined;
  private bufferedBytes = 0;
  /** Positions reached since the last commit. */
  private readonly pending = new Map<string, string>();
  /** Positions this run last committed (or found in the table at start): the fencing token. */
  private committed: Map<string, string>;
  /** Positions recorded in the dead-letter table: records at or before them are already there. */
  private deadLetterCommitted: Map<string, string>;
  private stopping = false;
  private readonly stopController = new AbortController();
  private readonly statsValue: Omit<PipelineStats, 'source'>;

  private constructor(
    private readonly options: PipelineOptions,
    private readonly table: Table,
    private readonly deadLetterTable: Table | undefined,
    private readonly transform: CompiledTransform,
  ) {
    this.buffer = new RowBuffer(transform.schema, defaultSpec(table.metadata, 'table'));
    this.row = new Array<IcebergValue>(transform.schema.fields.length).fill(null);
    this.scanner = options.jsonFastPath === false ? undefined : RecordScanner.for(transform, { native: options.nativeScanner ?? true });
    if (this.scanner?.stageable && this.buffer.spec.fields.length === 0) {
      // The native scanner writes accepted rows into columns itself; the buffer takes them in
      // bulk (unpartitioned tables: every row goes to the one file of the commit).
      this.stage = newRawStage(transform.schema.fields.length, STAGE_ROWS, STAGE_REGION_BYTES);
      this.scanner.attachStage(this.stage);
      this.buffer.attachStage(this.stage);
    }
    const stream = options.source.id;
    this.committed = readCheckpoint(snapshotForRef(table.metadata, 'main'), stream);
    this.deadLetterCommitted = deadLetterTable ? readCheckpoint(snapshotForRef(deadLetterTable.metadata, 'main'), stream) : new Map();
    this.statsValue = {
      records: 0,
      deadLetters: 0,
      skipped: 0,
      commits: 0,
      bytes: 0,
      lastCommitMs: undefined,
      lastSnapshotId: undefined,
      startedMs: this.now(),
    };
  }

  /**
   * Opens (creating if configured) the table and the dead-letter table and compiles the mapping.
   * Everything that can be checked is checked here, before any record is read.
   */
  static async open(options: PipelineOptions): Promise<Pipeline> {
    const { config, catalog } = options;
    const id = parseTableIdentifier(config.table.name);
    const table = await openOrCreate(
      catalog,
      id,
      config.table.create
        ? () => ({
            schema: schemaForTransform(config.transform, 'config: transform'),
            ...(config.table.partitionBy ? { partitionBy: config.table.partitionBy } : {}),
            properties: config.table.properties,
          })
        : undefined,
    );
    const schema = table.schema();
    const transform = compileTransform(config.transform, schema, 'config: transform');
    let deadLetterTable: Table | undefined;
    if (config.deadLetter.policy === 'dlq') {
      deadLetterTable = await openOrCreate(catalog, parseTableIdentifier(config.deadLetter.table), () => ({ schema: DEAD_LETTER_SCHEMA }));
      const dlSchema = deadLetterTable.schema();
      const names = dlSchema.fields.map((f) => f.name).join(',');
      if (names !== DEAD_LETTER_SCHEMA.fields.map((f) => f.name).join(',')) {
        throw new ValidationError(`config: dead_letter.table: ${config.deadLetter.table} exists with other columns (${names})`);
      }
    }
    return new Pipeline(options, table, deadLetterTable, transform);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  private emit(e: PipelineEvent): void {
    try {
      this.options.onEvent?.(e);
    } catch {
      // A broken listener must not break ingestion.
    }
  }

  /** Current totals and source metrics. */
  stats(): PipelineStats {
    return { ...this.statsValue, source: this.options.source.metrics() };
  }

  /** The table being written. */
  get targetTable(): Table {
    return this.table;
  }

  /** Asks the run loop to make a final commit and return. */
  stop(): void {
    this.stopping = true;
    this.stopController.abort();
  }

  /**
   * Runs until {@link stop} is called (or the source fails), then makes a final commit and closes
   * the source. Rejects on a fatal error (fenced, commit failure, `fail` dead-letter policy); the
   * table is consistent in every case.
   */
  async run(): Promise<PipelineStats> {
    const { source, config } = this.options;
    const interval = config.commit.intervalMs;
    const byteBound = Math.min(config.commit.maxBytes, config.commit.targetFileSizeBytes);
    // The writer's DuckDB opens while the source lists its shards (start-up time).
    const opening = DuckDB.open({
      threads: 1,
      memoryLimit: config.duckdb?.memoryLimitBytes ?? DEFAULT_DUCKDB_MEMORY_LIMIT,
      ...(config.duckdb?.tempDirectory ? { tempDirectory: config.duckdb.tempDirectory } : {}),
    });
    opening.catch(() => undefined); // awaited below; no unhandled rejection meanwhile
    try {
      await source.start(this.committed, config.source.initialPosition);
    } catch (e) {
      await opening.then((d) => d.close(), () => undefined);
      throw e;
    }
    let duckdb: DuckDB;
    try {
      duckdb = await opening;
    } catch (e) {
      await source.close();
      throw e;
    }
    this.duckdb = duckdb;
    this.emit({
      type: 'started',
      table: this.table.name,
      positions: Object.fromEntries(this.committed),
      ...(this.deadLetterTable ? { deadLetterTable: this.deadLetterTable.name } : {}),
      jsonFastPath: this.scanner === undefined ? 'off' : !this.scanner.native ? 'javascript' : this.stage !== undefined ? 'native, staged' : 'native',
    });
    // Work beside ingestion (table maintenance: its own commits, retried like ours); stopped last.
    const alongside = this.startAlongside();
    // The first records read are committed at once: after a start (or restart), what waited in
    // the stream lands without waiting a whole interval. Then at most one interval apart.
    let lastCommit = this.now() - interval;
    let lastYield = this.now();
    try {
      while (!this.stopping) {
        if (this.commitError !== undefined) throw this.commitError;
        const writing = this.inflight !== undefined;
        // Until the next commit is due; once due (nothing was buffered), until records come.
        const remaining = lastCommit + interval - this.now();
        const wait = remaining > 0 ? remaining : interval;
        const batch = await source.poll({
          maxRecords: Math.max(1, Math.min(writing ? SLICE_RECORDS : POLL_RECORDS, config.commit.maxRecords - this.buffer.length)),
          maxBytes: Math.max(1, byteBound - this.bufferedBytes),
          waitMs: wait,
          signal: this.stopController.signal,
        });
        const processingTimeUs = BigInt(this.now()) * 1000n;
        for (const record of batch.records) this.ingest(record, processingTimeUs);
        for (const [p, pos] of batch.positions) this.pending.set(p, pos);
        const due = this.now() >= lastCommit + interval;
        const full = this.buffer.length >= config.commit.maxRecords || this.bufferedBytes >= byteBound;
        if ((due || full) && this.pending.size > 0) {
          // In order, one at a time: the previous commit must have landed before this one seals.
          await this.inflight;
          if (this.commitError !== undefined) throw this.commitError;
          this.startCommit();
          lastCommit = this.now();
        }
        // Due with nothing buffered: no empty snapshot, and the next records commit at once.
        // A source with records always ready resolves polls at once: give the event loop a turn
        // after each slice while DuckDB pulls the rows being written, and at least every 20 ms
        // (timers, signals, the source's own I/O).
        if (batch.records.length > 0 && (writing || this.now() - lastYield >= YIELD_MS)) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = this.now();
        }
      }
      await this.inflight;
      if (this.commitError !== undefined) throw this.commitError;
      if (this.pending.size > 0) {
        this.startCommit();
        await this.inflight;
        if (this.commitError !== undefined) throw this.commitError;
      }
    } catch (e) {
      const err = e as Error;
      this.emit({ type: 'error', error: err.message, code: e instanceof FloeError ? e.code : 'UNEXPECTED' });
      throw e;
    } finally {
      // A commit still in flight is valid on its own: let it land (or fail) before closing.
      await this.inflight;
      await alongside?.stop();
      await source.close();
      duckdb.close();
      this.duckdb = undefined;
    }
    this.emit({ type: 'stopped', records: this.statsValue.records, deadLetters: this.statsValue.deadLetters, commits: this.statsValue.commits });
    return this.stats();
  }

  /** Starts the work beside ingestion, if any, on the table and the dead-letter table. */
  private startAlongside(): AlongsideWork | undefined {
    const work = this.options.alongside?.([this.table.identifier, ...(this.deadLetterTable ? [this.deadLetterTable.identifier] : [])]);
    work?.start();
    return work;
  }

  /** Decodes and transforms one record into the buffer, or dead-letters it. */
  private ingest(record: SourceRecord, processingTimeUs: bigint): void {
    this.bufferedBytes += record.data.length;
    this.statsValue.bytes += record.data.length;
    // One context reused for every record (and one row: see ingestRow).
    const ctx = (this.recordContext ??= { record, streamName: this.options.source.id, processingTimeUs, text: undefined });
    ctx.record = record;
    ctx.processingTimeUs = processingTimeUs;
    // The fast path reads the usual record straight from its bytes; anything else it declines
    // goes the general way below, which gives the same row or the record's exact error.
    const scanner = this.scanner;
    if (scanner !== undefined) {
      let r = UNSTAGED;
      const stage = this.stage;
      if (stage !== undefined) {
        r = this.scanStaged(scanner, record, ctx);
        if (r === NO_ROOM) {
          this.moveStage();
          r = this.scanStaged(scanner, record, ctx);
        }
        if (r === STAGED) {
          const k = stage.state[0]! - 1;
          this.stagedRecords[k] = record;
          this.stagedTimes[k] = processingTimeUs;
          this.statsValue.records++;
          if (k + 1 === stage.capacity) this.moveStage();
          return;
        }
        // The row goes in on its own (below), after the staged ones.
        this.moveStage();
      }
      // Not staged (no stage; strings larger than the stage holds; a computed value it cannot
      // hold): the row goes in on its own, after any staged ones. Declined: the general path.
      if (r !== DECLINED && this.scan(scanner, record, ctx)) {
        try {
          this.buffer.appendRaw(scanner.row);
        } catch (e) {
          if (!(e instanceof RowRefusedError)) throw bufferFailure(record, e);
          // The scanner checked the bytes: they decode.
          let scanned: string | undefined;
          try {
            scanned = this.decoder.decode(record.data);
          } catch {
            scanned = undefined;
          }
          this.deadLetter(record, boundedMessage(e), scanned, processingTimeUs);
          return;
        }
        this.statsValue.records++;
        return;
      }
    }
    this.ingestRow(record, processingTimeUs, ctx);
  }

  /**
   * The general path: decodes, parses and transforms one record into the buffer, or dead-letters
   * it. Any staged rows must have been moved in before ({@link moveStage}).
   */
  private ingestRow(record: SourceRecord, processingTimeUs: bigint, ctx: RecordContext): void {
    // One row reused for every record: the buffer copies the values out.
    const row = this.row;
    let text: string | undefined;
    // Every failure from here to the row is this record's: a dead letter (or, under `policy:
    // fail`, a stop naming its shard and position), whatever threw it, even a bug. A record must
    // never stop the pipeline with an error that names no record (every restart would die on it).
    try {
      try {
        text = this.decoder.decode(record.data);
      } catch {
        throw new RecordError('decode: record is not valid UTF-8');
      }
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (e) {
        throw new RecordError(`decode: record is not JSON: ${boundedMessage(e)}${base64JsonHint(text)}`);
      }
      ctx.text = text;
      this.transform.applyInto(obj, ctx, row);
    } catch (e) {
      ctx.text = undefined;
      const error = e instanceof RecordError ? boundedMessage(e) : `transform: unexpected failure (a bug in floe; please report it): ${boundedMessage(e)}`;
      this.deadLetter(record, error, text, processingTimeUs);
      return;
    }
    ctx.text = undefined;
    try {
      this.buffer.append(row);
    } catch (e) {
      // A row the buffer refused left nothing behind (appends are all or nothing): this record's
      // dead letter, like a transform failure. Anything else is the buffer's own and stops.
      if (!(e instanceof RowRefusedError)) throw bufferFailure(record, e);
      this.deadLetter(record, boundedMessage(e), text, processingTimeUs);
      return;
    }
    this.statsValue.records++;
  }

  /**
   * Moves the staged rows into the buffer. When they cannot be moved (a bug: the buffer is then as
   * it was before them, see `RowBuffer.flushStage`), their records go in again one by one the
   * general way, in order: a bad one becomes a dead letter with its shard and position, the good
   * ones are kept. Nothing is done twice when the move works.
   */
  private moveStage(): void {
    const stage = this.stage;
    const staged = stage?.state[0] ?? 0;
    if (staged === 0) return;
    let n: number;
    try {
      this.buffer.flushStage();
      return;
    } catch (e) {
      // Named after the last staged record (the stage is empty by now).
      if (!(e instanceof StageRefusedError)) throw bufferFailure(this.stagedRecords[staged - 1]!, e);
      n = e.rows;
    }
    const ctx = this.recordContext!;
    const { record, processingTimeUs } = ctx;
    // Counted when staged; counted again as each goes in.
    this.statsValue.records -= n;
    for (let k = 0; k < n; k++) {
      const again = this.stagedRecords[k]!;
      const time = this.stagedTimes[k]!;
      ctx.record = again;
      ctx.processingTimeUs = time;
      this.ingestRow(again, time, ctx);
    }
    ctx.record = record;
    ctx.processingTimeUs = processingTimeUs;
  }

  /**
   * The fast path's scan into the stage; an exception (a computed value, a bug) is a decline:
   * the general path then reads the record, and its failure is a dead letter.
   */
  private scanStaged(scanner: RecordScanner, record: SourceRecord, ctx: RecordContext): number {
    try {
      return scanner.scanStaged(record.data, ctx);
    } catch {
      return DECLINED;
    }
  }

  /** {@link scanStaged} for the row-by-row scan. */
  private scan(scanner: RecordScanner, record: SourceRecord, ctx: RecordContext): boolean {
    try {
      return scanner.scan(record.data, ctx);
    } catch {
      return false;
    }
  }


  private deadLetter(record: SourceRecord, error: string, text: string | undefined, nowUs: bigint): void {
    const policy = this.options.config.deadLetter.policy;
    const where = `shard ${record.partitionId} position ${record.position}`;
    if (policy === 'fail') {
      throw new ValidationError(`pipeline: record at ${where}: ${error} (dead_letter.policy is 'fail')`);
    }
    this.emit({ type: 'dead-letter', shard: record.partitionId, position: record.position, error });
    if (policy === 'skip') {
      this.statsValue.skipped++;
      return;
    }
    // Already in the dead-letter table from a run that crashed before its main commit.
    const done = this.deadLetterCommitted.get(record.partitionId);
    if (done !== undefined && this.options.source.comparePositions(record.position, done) <= 0) return;
    this.deadLetters.push(deadLetterRow(this.options.source.id, record, error, text, nowUs));
    this.statsValue.deadLetters++;
  }

  /**
   * Seals the buffered rows, dead letters and positions into a unit and starts writing and
   * committing it in the background ({@link inflight}); the buffers start empty.
   */
  private startCommit(): void {
    // Staged rows first: taking them again one by one may make dead letters of this unit.
    this.moveStage();
    const unit: SealedUnit = {
      records: this.buffer.length,
      groups: this.buffer.drain(),
      deadLetters: this.deadLetters,
      pending: new Map(this.pending),
      sealedMs: this.now(),
    };
    this.pending.clear();
    this.deadLetters = [];
    this.bufferedBytes = 0;
    const done = this.commit(unit).then(
      () => {
        if (this.inflight === done) this.inflight = undefined;
      },
      (e: unknown) => {
        this.commitError ??= e;
        if (this.inflight === done) this.inflight = undefined;
      },
    );
    this.inflight = done;
  }

  /**
   * How commits ride out an unavailable catalog: for `commit.retry_budget`, one event per retry;
   * a stop ends the waiting (the rows not committed are read again by the next run).
   */
  private outageOptions(): Pick<CommitOptions, 'outage' | 'onRetry' | 'signal'> {
    const budgetMs = this.options.config.commit.retryBudgetMs;
    return {
      ...(budgetMs !== undefined ? { outage: { budgetMs } } : {}),
      onRetry: (e) => this.emit({ type: 'commit-retry', ...e }),
      signal: this.stopController.signal,
    };
  }

  /** Writes a sealed unit's rows and commits them with the positions they cover. */
  private async commit(unit: SealedUnit): Promise<void> {
    const started = unit.sealedMs;
    const stream = this.options.source.id;
    const positions = new Map([...this.committed, ...unit.pending]);
    // Positions the source can derive from others (finished parent shards) leave the table.
    const retired = this.options.source.retiredPartitions?.(positions) ?? [];
    for (const id of retired) positions.delete(id);
    const dropCheckpoints = retired.map((id) => checkpointPrefix(stream) + id);
    const summary = checkpointSummary(stream, positions);

    // Dead letters first, stamped with the same positions: if we crash before the main commit,
    // the replayed records find themselves already dead-lettered and are not written twice.
    const deadLetters = unit.deadLetters;
    if (this.deadLetterTable && deadLetters.length > 0) {
      const dlq = this.deadLetterTable;
      const rows = new ColumnBatchBuilder(dlq.schema());
      for (const r of deadLetters) rows.append(r);
      const { files, specId } = await writeDataFiles(dlq.io, dlq.metadata, rows.build(), this.duckdb ? { db: this.duckdb } : {});
      await dlq.newAppend({ summary, dropCheckpoints, ...this.outageOptions() }).appendFiles(files, specId).commit();
      this.deadLetterCommitted = new Map(positions);
    }

    // One file per partition group, written with the spec the rows were grouped by.
    const specId = this.buffer.spec['spec-id'];
    const files: DataFile[] = [];
    for (const g of unit.groups) {
      const written = await writeDataFiles(this.table.io, this.table.metadata, g.batch, { specId, partition: g.partition, ...(this.duckdb ? { db: this.duckdb } : {}) });
      files.push(...written.files);
    }
    // The rows are in their files: their buffers go to the next units (nothing reads them again,
    // a failed commit fails the run rather than rewriting them).
    this.buffer.recycle(unit.groups);
    unit.groups = [];
    this.options.crashPoint?.('afterWrite');
    const expected = this.committed;
    const result = await this.table
      .newAppend({
        summary,
        dropCheckpoints,
        ...this.outageOptions(),
        validate: (base: TableMetadata) => {
          this.options.crashPoint?.('beforeCommit');
          const actual = readCheckpoint(snapshotForRef(base, 'main'), stream);
          if (!samePositions(expected, actual)) {
            throw new FencedError(
              `pipeline: fenced: the positions of ${stream} in ${this.table.name} moved under this run (${diffPositions(expected, actual)}); another writer is active, stopping without committing`,
            );
          }
        },
      })
      .appendFiles(files, specId)
      .commit();
    this.options.crashPoint?.('afterCommit');

    this.committed = positions;
    const committedNow = unit.pending;
    this.options.source.markCommitted(committedNow);
    this.statsValue.commits++;
    this.statsValue.lastCommitMs = this.now();
    this.statsValue.lastSnapshotId = result.snapshot['snapshot-id'].toString();
    this.emit({
      type: 'commit',
      snapshotId: result.snapshot['snapshot-id'].toString(),
      records: unit.records,
      deadLetters: deadLetters.length,
      files: files.length,
      bytes: files.reduce((s, f) => s + f.file_size_in_bytes, 0),
      durationMs: this.now() - started,
      attempts: result.attempts,
      positions: Object.fromEntries(committedNow),
    });
  }
}
