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
 * - Every commit asserts the positions of exactly the partitions (shards) it carries: each must
 *   still be, in the table, the one this run last committed for it (or started it from). It
 *   writes only those positions; the others are carried forward from the table's snapshot at
 *   commit time, so writers on different shards (workers sharing a stream through leases) never
 *   fence each other, and commits that carry no positions (compaction) fence nobody. A shard
 *   moved by another writer fences the commit: with a source that can rewind (leases), every
 *   uncommitted row is dropped and the source reads again from the table's positions (the moved
 *   shard only if it still owns it); otherwise (a second `floe run` on the same table by mistake)
 *   the run stops instead of writing duplicates.
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
import { AlreadyExistsError, CommitConflictError, FencedError, FloeError, ValidationError } from '../errors.js';
import { ColumnBatchBuilder, newRawStage, type RawStage } from '../data/column-batch.js';
import type { DataFile } from '../iceberg/manifest-types.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { defaultSpec } from '../iceberg/metadata-lookup.js';
import { parsePartitionArg } from '../iceberg/notation.js';
import { columnName } from '../iceberg/schema-index.js';
import { validateIdentifierFields } from '../iceberg/schema-parse.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import { DuckDB } from '../duckdb/instance.js';
import type { IcebergValue, Schema } from '../iceberg/types.js';
import type { RecordBlock, Source, SourceMetrics, SourceRecord } from '../source/source.js';
import { RecordView } from '../source/record-view.js';
import { Table } from '../table/table.js';
import type { CommitOptions, CommitResult, CommitRetryEvent } from '../table/snapshot-producer.js';
import { writeDataFiles } from '../table/write.js';
import { deleteLayout, ensureDeleteLayout, ensureIdentifierFields, keyFieldIds, writeEqualityDeletes } from '../table/equality-deletes.js';
import { KeyedChanges } from './keyed-changes.js';
import { keyIndexUnsupported, StaleKeyIndexError, UpsertVectors, type PreparedVectors } from '../table/upsert-vectors.js';
import { sleep } from '../retry.js';
import { checkpointPrefix, checkpointSummary, diffPositions, readCheckpoint, samePositions } from './checkpoint.js';
import { DEFAULT_DUCKDB_MEMORY_LIMIT, type PipelineConfig } from './config.js';
import { DEAD_LETTER_SCHEMA, deadLetterRow } from './dead-letter.js';
import { planTableEvolution } from './table-evolution.js';
import { mergeGroups, UnmappedFields, type SealedColumns } from './unmapped.js';
import { applyUpdates } from '../iceberg/update-metadata.js';
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
  /**
   * The table was changed: at start, to what the config says (`table-evolution.ts`: columns
   * added or widened, partition spec, properties), or by a commit adding the columns of new
   * fields (`transform.unmapped: add_columns`, `columns` their dotted names).
   */
  | { type: 'evolved'; table: string; changes: string[]; snapshotId?: string }
  /**
   * A commit was fenced on `fenced` (another writer moved them) or the source restarted a shard
   * with rows still uncommitted: `dropped` uncommitted rows were dropped and the source reads
   * again from the table's `positions`.
   */
  | { type: 'rewound'; reason: string; fenced: string[]; dropped: number; positions: Record<string, string> }
  /** A commit waits for an unavailable catalog (one per retry; see `table/snapshot-producer.ts`). */
  | ({ type: 'commit-retry' } & CommitRetryEvent)
  | { type: 'stopped'; records: number; deadLetters: number; commits: number }
  /**
   * Upsert tables: how commits delete the older rows of their keys, at start and whenever it
   * changes (`table/upsert-vectors.ts`): by position with deletion vectors (`keys` indexed in
   * `memoryBytes`, built in `durationMs`), or by equality, and `reason` why.
   */
  | { type: 'upsert-deletes'; table: string; deletes: 'deletion-vectors' | 'equality-deletes'; reason?: string; keys?: number; memoryBytes?: number; durationMs?: number }
  | { type: 'error'; error: string; code: string };

/** Running totals. */
export interface PipelineStats {
  records: number;
  deadLetters: number;
  skipped: number;
  /** Records without a value (Kafka tombstones) an upsert table skipped (`table.upsert`). */
  tombstones?: number;
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
  alongside?: (tables: TableIdentifier[], context: AlongsideContext) => AlongsideWork | undefined;
}

/** What the work beside ingestion may use of the pipeline's own state. */
export interface AlongsideContext {
  /**
   * The upsert writer's key index of the table, when commits delete by position: a compaction of
   * the table commits through it (`maintenance/compact.ts`), else it would be abandoned by every
   * commit's vectors.
   */
  upsertVectors?: UpsertVectors;
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

/** Conflict retries of workers sharing a stream (see `Pipeline.conflictOptions`). */
const LEASE_CONFLICT_RETRY = Object.freeze({ maxAttempts: 100, baseDelayMs: 10, maxDelayMs: 200 });

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

/**
 * A commit fenced on some partitions: another writer moved their positions in the table since
 * this run's base. Nothing of the commit landed.
 */
export class ShardsFencedError extends FencedError {
  constructor(
    message: string,
    /** The partitions whose positions moved. */
    readonly partitions: string[],
  ) {
    super(message);
  }
}

/** Rows, dead letters and positions sealed for one commit. */
interface SealedUnit {
  groups: BufferedGroup[];
  /** Rows read with earlier schemas (see `Pipeline.held`), written with {@link schema}. */
  held: { schema: Schema; groups: BufferedGroup[] }[];
  /** The schema of {@link groups}: the table's, or with the columns of {@link columns}. */
  schema: Schema;
  /** Columns `add_columns` added for this unit's rows: committed with them. */
  columns: SealedColumns | undefined;
  records: number;
  deadLetters: IcebergValue[][];
  /** Upsert tables: the key of every row upserted or deleted (one equality delete each). */
  deleteKeys: IcebergValue[][] | undefined;
  /** Positions reached by this unit's records (and dead letters). */
  pending: Map<string, string>;
  /** The restart count of each pending partition when sealed (see `Pipeline.restarts`). */
  restarts: Map<string, number>;
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

/** True when the table appears within about two seconds (created by another process). */
async function createdByAnother(catalog: Catalog, id: TableIdentifier): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    if (await catalog.tableExists(id).catch(() => false)) return true;
    await sleep(200);
  }
  return false;
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
    // Another process created it first (workers of one application start together): fine. A
    // catalog may refuse the second creation otherwise than AlreadyExists (the location holds the
    // first one's files before its catalog entry is visible): look again for a moment.
    if (!(e instanceof AlreadyExistsError) && !(await createdByAnother(catalog, id))) throw e;
  }
  return Table.load(catalog, id);
}

/**
 * Makes the table what the config says (`table-evolution.ts`): one commit with its requirements,
 * planned again on the reloaded table if another writer changed it meanwhile; reported as an
 * `evolved` event.
 */
async function evolveTable(table: Table, config: PipelineConfig, onEvent: PipelineOptions['onEvent']): Promise<void> {
  let changes = planTableEvolution(table.metadata, config).changes;
  if (changes.length === 0) return;
  await table.update((md) => {
    const plan = planTableEvolution(md, config);
    changes = plan.changes;
    return { requirements: plan.requirements.filter((r) => r.type !== 'assert-table-uuid'), updates: plan.updates };
  });
  try {
    onEvent?.({ type: 'evolved', table: table.name, changes });
  } catch {
    // A broken listener must not break ingestion.
  }
}

/**
 * Under `table.evolve: false`, refuses a `table.upsert.key` other than the table's identifier
 * fields (which the run would otherwise set, a schema change), saying how to fix it.
 */
function refuseOtherKey(table: Table, keyIds: readonly number[], key: readonly string[]): void {
  const schema = table.schema();
  const have = schema['identifier-field-ids'] ?? [];
  if (have.length === keyIds.length && keyIds.every((id) => have.includes(id))) return;
  const names = have.map((id) => columnName(schema, id) ?? String(id));
  throw new ValidationError(
    `config: table.evolve is false and the table ${table.name}'s identifier fields (its key) are ${names.length ? `[${names.join(', ')}]` : 'none'}, ` +
      `not table.upsert.key [${key.join(', ')}]: set table.evolve: true (the run then makes the key the identifier fields, a schema change)` +
      `${names.length ? `, or set table.upsert.key to [${names.join(', ')}]` : ''}; \`floe table alter\` does not change identifier fields (another engine can: Iceberg Java's UpdateSchema.setIdentifierFields)`,
  );
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

/**
 * Throws when the table's partition specs changed under this run so that its deletes would no
 * longer be written where they must be (`equality-deletes.ts`): the next start plans them again.
 */
function checkDeleteLayout(base: TableMetadata, upsert: { keyIds: number[]; deleteSpecId: number }, name: string): void {
  const layout = deleteLayout(base, upsert.keyIds);
  if (layout.specId !== upsert.deleteSpecId) {
    throw new FencedError(`pipeline: the partition specs of ${name} changed under this run (equality deletes go to spec ${layout.specId ?? '(a new unpartitioned spec)'} now, not ${upsert.deleteSpecId}); stopping without committing (the next start reads the records again)`);
  }
}

/** A schema to create with its key columns (`table.upsert.key`) required, as identifier fields must be. */
function keyColumnsRequired(schema: Schema, key: readonly string[] | undefined): Schema {
  if (!key) return schema;
  const out: Schema = { ...schema, fields: schema.fields.map((f) => (key.includes(f.name) ? { ...f, required: true } : f)) };
  // The key is the created table's identifier fields from the start (no schema commit of its own,
  // nothing for `table.evolve: false` to refuse); a key that cannot be is left to `keyFieldIds`'s message.
  const ids = key.map((name) => out.fields.find((f) => f.name === name)?.id);
  if (!ids.every((id): id is number => id !== undefined) || new Set(ids).size !== ids.length) return out;
  try {
    validateIdentifierFields(out, ids, 'config: table.upsert.key');
  } catch {
    return out;
  }
  return { ...out, 'identifier-field-ids': ids };
}

/** The streaming job. */
export class Pipeline {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  // The next four change with the schema when `transform.unmapped: add_columns` adds columns.
  private buffer!: RowBuffer;
  private row!: IcebergValue[];
  /** The JSON fast path for this mapping, if it has one (`record-scan.ts`). */
  private scanner: RecordScanner | undefined;
  /** Rows staged by the native scanner (see `RowBuffer.attachStage`), when it stages. */
  private stage: RawStage | undefined;
  /** `transform.unmapped` other than `ignore` (`unmapped.ts`). */
  private readonly unmapped: UnmappedFields | undefined;
  /**
   * Rows of the unit being filled read with an earlier schema (before `add_columns` changed it),
   * with that schema: written with the unit's last one (`conformBatch`).
   */
  private held: { schema: Schema; groups: BufferedGroup[] }[] = [];
  private heldRows = 0;
  /** The table's current schema id and last column id as this run last committed or found them. */
  private tableSchemaId: number;
  private tableLastColumnId: number;
  /**
   * The records of the staged rows and their processing times (row k's at k), to take them
   * again one by one when the stage cannot be moved into the buffer ({@link moveStage}).
   */
  /** Staged records; a record read through {@link view} is kept as its block and index instead. */
  private readonly stagedRecords: (SourceRecord | undefined)[] = [];
  private readonly stagedBlocks: (RecordBlock | undefined)[] = [];
  private readonly stagedIndexes: number[] = [];
  private readonly stagedTimes: bigint[] = [];
  /**
   * Blocks whose records have all been read, released ({@link RecordBlock.release}: their memory
   * reused by the source) once the stage holds no row of theirs ({@link releaseDoneBlocks}).
   */
  private readonly doneBlocks: RecordBlock[] = [];
  /** The view that reads the records of a batch's runs (`SourceBatch.runs`). */
  private readonly view = new RecordView();
  /** Upsert tables: the unit's last change per key (rows reach the buffer when the unit seals). */
  private readonly changes: KeyedChanges | undefined;
  /** Records taken into {@link changes} since the last seal. */
  private changeRecords = 0;
  private recordContext: RecordContext | undefined;
  private deadLetters: IcebergValue[][] = [];
  /** The sealed unit being written and committed in the background, if any. */
  private inflight: Promise<void> | undefined;
  /** A background commit's failure, rethrown (or recovered from) by the run loop. */
  private commitError: unknown;
  /** Rows of the unit whose commit failed (dropped by a rewind). */
  private failedRecords = 0;
  /**
   * The DuckDB instance that writes this pipeline's files, single-threaded: DuckDB pulls the rows
   * from this thread one chunk at a time anyway, and more threads only compete with ingest for
   * the cores (1 core: 312k → 378k events/s; 2 cores: the same). Open while {@link run} runs.
   */
  private duckdb: DuckDB | undefined;
  /** Upsert tables deleting by position: the key index (`table/upsert-vectors.ts`). */
  private vectors: UpsertVectors | undefined;
  /** The last `upsert-deletes` mode reported. */
  private vectorsReported: boolean | undefined;
  private bufferedBytes = 0;
  /** Positions reached since the last commit. */
  private readonly pending = new Map<string, string>();
  /**
   * Per partition, the position this run last committed, or found in the table at start, or the
   * source restarted it from: the fencing token each commit asserts for the partitions it carries.
   */
  private committed: Map<string, string>;
  /**
   * Times each partition was restarted by the source (`SourceBatch.restarted`): a commit sealed
   * before a restart must not overwrite the token the restart set.
   */
  private readonly restarts = new Map<string, number>();
  /** Partitions with positions in the unit being committed. */
  private inflightPartitions: ReadonlySet<string> = new Set();
  /** Positions recorded in the dead-letter table: records at or before them are already there. */
  private deadLetterCommitted: Map<string, string>;
  private stopping = false;
  private readonly stopController = new AbortController();
  private readonly statsValue: Omit<PipelineStats, 'source'>;

  private constructor(
    private readonly options: PipelineOptions,
    private readonly table: Table,
    private readonly deadLetterTable: Table | undefined,
    private transform: CompiledTransform,
    /** `table.upsert`: the key's field ids and the spec its equality deletes are written with. */
    private readonly upsert: { keyIds: number[]; deleteSpecId: number } | undefined = undefined,
  ) {
    this.readWith(transform);
    this.changes = upsert ? new KeyedChanges(options.config, transform, upsert.keyIds) : undefined;
    const policy = options.config.transform.unmapped ?? 'ignore';
    this.tableSchemaId = table.metadata['current-schema-id'];
    this.tableLastColumnId = table.metadata['last-column-id'];
    if (policy !== 'ignore') {
      const nextSchemaId = Math.max(...table.metadata.schemas.map((s) => s['schema-id'])) + 1;
      this.unmapped = new UnmappedFields(policy, transform.schema, this.tableLastColumnId, nextSchemaId, options.config.transform);
      this.unmapped.learn(transform);
    }
    const stream = options.source.id;
    this.committed = readCheckpoint(snapshotForRef(table.metadata, 'main'), stream);
    this.deadLetterCommitted = deadLetterTable ? readCheckpoint(snapshotForRef(deadLetterTable.metadata, 'main'), stream) : new Map();
    this.statsValue = {
      records: 0,
      deadLetters: 0,
      skipped: 0,
      tombstones: 0,
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
            schema: keyColumnsRequired(schemaForTransform(config.transform, 'config: transform'), config.table.upsert?.key),
            ...(config.table.partitionBy ? { partitionBy: config.table.partitionBy } : {}),
            properties: config.table.properties,
          })
        : undefined,
    );
    await evolveTable(table, config, options.onEvent);
    let upsert: { keyIds: number[]; deleteSpecId: number } | undefined;
    if (config.table.upsert) {
      // The key becomes the table's identifier fields; deletes get their spec (`equality-deletes.ts`).
      const keyIds = keyFieldIds(table.metadata, config.table.upsert.key, 'config: table.upsert.key');
      if (!config.table.evolve) refuseOtherKey(table, keyIds, config.table.upsert.key);
      if (await ensureIdentifierFields(table, keyIds)) {
        options.onEvent?.({ type: 'evolved', table: table.name, changes: [`identifier fields: ${config.table.upsert.key.join(', ')}`] });
      }
      upsert = { keyIds, deleteSpecId: (await ensureDeleteLayout(table, keyIds)).specId };
    }
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
    return new Pipeline(options, table, deadLetterTable, transform, upsert);
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

  /** Reads records with `transform`: its buffer, row, fast-path scanner and stage. */
  private readWith(transform: CompiledTransform): void {
    const options = this.options;
    this.buffer = new RowBuffer(transform.schema, defaultSpec(this.table.metadata, 'table'));
    this.row = new Array<IcebergValue>(transform.schema.fields.length).fill(null);
    const strictKeys = (options.config.transform.unmapped ?? 'ignore') !== 'ignore';
    // Upsert tables take every record the general way (`keyed-changes.ts`: operations, envelopes).
    this.scanner = options.jsonFastPath === false || options.config.table.upsert ? undefined : RecordScanner.for(transform, { native: options.nativeScanner ?? true, strictKeys });
    this.stage = undefined;
    if (this.scanner?.stageable && this.buffer.spec.fields.length === 0) {
      // The native scanner writes accepted rows into columns itself; the buffer takes them in
      // bulk (unpartitioned tables: every row goes to the one file of the commit).
      this.stage = newRawStage(transform.schema.fields.length, STAGE_ROWS, STAGE_REGION_BYTES);
      this.scanner.attachStage(this.stage);
      this.buffer.attachStage(this.stage);
    }
  }

  /**
   * `add_columns` changed the schema: the rows read so far are held for this unit's commit, and
   * the next records are read with the new schema (mapping compiled again: new columns read the
   * field of their name; the fast path's key tree learns them).
   */
  private adoptSchema(): void {
    const unmapped = this.unmapped!;
    this.moveStage();
    const rows = this.buffer.length;
    this.held.push({ schema: this.transform.schema, groups: this.buffer.drain() });
    this.heldRows += rows;
    this.transform = compileTransform(this.options.config.transform, unmapped.schema, 'config: transform');
    unmapped.learn(this.transform);
    this.readWith(this.transform);
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
    if (this.upsert !== undefined && config.table.upsert?.deletes !== 'equality') await this.openVectors(duckdb, this.upsert.keyIds);
    else if (this.upsert !== undefined) this.reportVectors('table.upsert.deletes is equality');
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
        if (this.commitError !== undefined) await this.recoverOrThrow(false);
        const writing = this.inflight !== undefined;
        // Until the next commit is due; once due (nothing was buffered), until records come.
        const remaining = lastCommit + interval - this.now();
        const wait = remaining > 0 ? remaining : interval;
        const batch = await source.poll({
          maxRecords: Math.max(1, Math.min(writing ? SLICE_RECORDS : POLL_RECORDS, config.commit.maxRecords - this.bufferedRows())),
          maxBytes: Math.max(1, byteBound - this.bufferedBytes),
          waitMs: wait,
          signal: this.stopController.signal,
          runs: true,
        });
        if (batch.restarted !== undefined && batch.restarted.size > 0 && !this.takeRestarts(batch.restarted)) {
          // A shard restarted while rows of it are still uncommitted: drop everything not
          // committed (this batch too) and read again from the table.
          await this.rewind([], `the source restarted shard(s) ${[...batch.restarted.keys()].join(', ')} with rows not yet committed`, false);
          continue;
        }
        const processingTimeUs = BigInt(this.now()) * 1000n;
        for (const record of batch.records) this.ingest(record, processingTimeUs);
        // Records in columns (Kinesis): one view moved along, no object per record.
        if (batch.runs !== undefined) {
          const view = this.view;
          // Runs of usual records go to the stage in one native call each; the one a run stops
          // at (declined, or not fitting) is read alone, the way it always was.
          const runnable = this.stage !== undefined && this.scanner?.runnable === true;
          // Upsert tables keep records until their unit seals: their blocks are never released.
          const releasing = this.changes === undefined;
          for (const run of batch.runs) {
            const ranges = runnable ? run.block.ranges?.() : undefined;
            for (let i = run.from; i < run.to; i++) {
              if (ranges !== undefined) {
                i += this.stageRun(run.block, ranges, i, run.to, processingTimeUs);
                if (i >= run.to) break;
              }
              this.ingest(view.at(run.block, i), processingTimeUs);
            }
            // Its last record read: the block is done once no staged row may need it again.
            if (releasing && run.to === run.block.length && run.block.release !== undefined) this.doneBlocks.push(run.block);
          }
          this.releaseDoneBlocks();
        }
        for (const [p, pos] of batch.positions) this.pending.set(p, pos);
        const due = this.now() >= lastCommit + interval;
        const full = this.bufferedRows() >= config.commit.maxRecords || this.bufferedBytes >= byteBound;
        if ((due || full) && this.pending.size > 0) {
          // In order, one at a time: the previous commit must have landed before this one seals.
          await this.inflight;
          if (this.commitError !== undefined) {
            await this.recoverOrThrow(false);
            continue; // the buffers were dropped
          }
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
      if (this.commitError !== undefined) await this.recoverOrThrow(true);
      if (this.pending.size > 0) {
        this.startCommit();
        await this.inflight;
        if (this.commitError !== undefined) await this.recoverOrThrow(true);
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

  /** Rows held for the next commit (an upsert table's: one per key changed). */
  private bufferedRows(): number {
    return this.buffer.length + this.heldRows + (this.changes?.size ?? 0);
  }

  /**
   * Takes the source's restarts as fencing tokens. False (nothing taken) when a restarted
   * partition still has uncommitted rows here: the old and the new reading would overlap.
   */
  private takeRestarts(restarted: ReadonlyMap<string, string | undefined>): boolean {
    for (const p of restarted.keys()) if (this.pending.has(p) || this.inflightPartitions.has(p)) return false;
    for (const [p, base] of restarted) {
      if (base === undefined) this.committed.delete(p);
      else this.committed.set(p, base);
      this.restarts.set(p, (this.restarts.get(p) ?? 0) + 1);
    }
    return true;
  }

  /**
   * After a failed commit: a commit fenced on some shards (or that lost every conflict retry)
   * with a source that can rewind is recovered from ({@link rewind}); anything else is thrown.
   */
  private async recoverOrThrow(stopping: boolean): Promise<void> {
    const e = this.commitError;
    if (e === undefined) return;
    if (this.options.source.rewind === undefined || !(e instanceof ShardsFencedError || e instanceof CommitConflictError)) throw e;
    this.commitError = undefined;
    await this.rewind(e instanceof ShardsFencedError ? e.partitions : [], (e as Error).message, stopping);
  }

  /**
   * Drops every row not committed (the unit that failed, the one filling), reloads the positions
   * from the table and has the source read again from them (unless stopping). Safe whatever
   * landed: the table's positions say exactly what is in it.
   */
  private async rewind(fenced: string[], reason: string, stopping: boolean): Promise<void> {
    await this.inflight;
    const late = this.commitError;
    this.commitError = undefined;
    if (late !== undefined) {
      if (!(late instanceof ShardsFencedError || late instanceof CommitConflictError)) throw late;
      if (late instanceof ShardsFencedError) fenced = [...new Set([...fenced, ...late.partitions])];
    }
    this.moveStage();
    const dropped = this.buffer.length + this.heldRows + this.failedRecords + this.changeRecords;
    this.changes?.clear();
    this.changeRecords = 0;
    this.buffer.recycle(this.buffer.drain());
    this.held = [];
    this.heldRows = 0;
    this.pending.clear();
    this.deadLetters = [];
    this.bufferedBytes = 0;
    this.failedRecords = 0;
    this.statsValue.records -= dropped;
    const stream = this.options.source.id;
    await this.table.refresh();
    const positions = readCheckpoint(snapshotForRef(this.table.metadata, 'main'), stream);
    this.committed = new Map(positions);
    if (this.deadLetterTable) {
      await this.deadLetterTable.refresh();
      this.deadLetterCommitted = readCheckpoint(snapshotForRef(this.deadLetterTable.metadata, 'main'), stream);
    }
    if (!stopping) await this.options.source.rewind?.(positions);
    this.emit({ type: 'rewound', reason, fenced, dropped, positions: Object.fromEntries(positions) });
  }

  /** Starts the work beside ingestion, if any, on the table and the dead-letter table. */
  private startAlongside(): AlongsideWork | undefined {
    const work = this.options.alongside?.([this.table.identifier, ...(this.deadLetterTable ? [this.deadLetterTable.identifier] : [])], this.vectors ? { upsertVectors: this.vectors } : {});
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
          if (record === this.view) {
            // The view moves on: keep where its record is, to make it again if ever needed.
            this.stagedRecords[k] = undefined;
            this.stagedBlocks[k] = this.view.block;
            this.stagedIndexes[k] = this.view.index;
          } else {
            this.stagedRecords[k] = record;
          }
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
    // (`this.row`: read again after the check of unmapped fields, which may change the schema.)
    let text: string | undefined;
    if (this.changes !== undefined && record.data.length === 0) {
      // A record without a value (a Kafka tombstone): no change to take, and no error.
      this.statsValue.tombstones = (this.statsValue.tombstones ?? 0) + 1;
      return;
    }
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
      if (this.changes !== undefined) {
        if (obj === null) {
          // `null` as the whole value: a tombstone written as JSON.
          ctx.text = undefined;
          this.statsValue.tombstones = (this.statsValue.tombstones ?? 0) + 1;
          return;
        }
        // The unit's entry of the record's key becomes its row or its delete (`keyed-changes.ts`).
        this.changes.take(obj, ctx);
        ctx.text = undefined;
        this.changeRecords++;
        this.statsValue.records++;
        return;
      }
      if (this.unmapped !== undefined && this.unmapped.check(obj)) this.adoptSchema();
      this.transform.applyInto(obj, ctx, this.row);
    } catch (e) {
      ctx.text = undefined;
      const error = e instanceof RecordError ? boundedMessage(e) : `transform: unexpected failure (a bug in floe; please report it): ${boundedMessage(e)}`;
      this.deadLetter(record, error, text, processingTimeUs);
      return;
    }
    ctx.text = undefined;
    try {
      this.buffer.append(this.row);
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
      // A block is kept only while a staged row may need its record again.
      if (this.stagedBlocks.length > 0) this.stagedBlocks.fill(undefined);
      this.releaseDoneBlocks();
      return;
    } catch (e) {
      // Named after the last staged record (the stage is empty by now).
      if (!(e instanceof StageRefusedError)) throw bufferFailure(this.stagedRecord(staged - 1), e);
      n = e.rows;
    }
    const ctx = this.recordContext!;
    const { record, processingTimeUs } = ctx;
    // Counted when staged; counted again as each goes in.
    this.statsValue.records -= n;
    for (let k = 0; k < n; k++) {
      const again = this.stagedRecord(k);
      const time = this.stagedTimes[k]!;
      ctx.record = again;
      ctx.processingTimeUs = time;
      this.ingestRow(again, time, ctx);
    }
    ctx.record = record;
    ctx.processingTimeUs = processingTimeUs;
  }

  /**
   * Stages records `from`..`to` (exclusive) of `block` with {@link RecordScanner.scanStagedRun}
   * (one native call per stage's worth), keeping for each what {@link ingest} keeps for a staged
   * record read through the view. Returns how many were staged: the record after them (if before
   * `to`) was declined or did not fit, and is read alone by {@link ingest}.
   */
  private stageRun(block: RecordBlock, ranges: { ends: Int32Array; starts: Int32Array | null }, from: number, to: number, processingTimeUs: bigint): number {
    const scanner = this.scanner!;
    const stage = this.stage!;
    const record = this.view.at(block, from);
    const ctx = (this.recordContext ??= { record, streamName: this.options.source.id, processingTimeUs, text: undefined });
    ctx.record = record;
    ctx.processingTimeUs = processingTimeUs;
    const { ends, starts } = ranges;
    let i = from;
    while (i < to) {
      if (stage.state[0]! >= stage.capacity) this.moveStage();
      const r0 = stage.state[0]!;
      let n: number;
      try {
        n = scanner.scanStagedRun(block.data, ends, starts, i, Math.min(to, i + stage.capacity - r0), ctx);
      } catch {
        n = 0; // as scanStaged: the record is read alone, and its failure is its own
      }
      let bytes = 0;
      for (let k = 0; k < n; k++) {
        const row = r0 + k;
        this.stagedRecords[row] = undefined;
        this.stagedBlocks[row] = block;
        this.stagedIndexes[row] = i + k;
        this.stagedTimes[row] = processingTimeUs;
        const end = ends[i + k]!;
        bytes += end - (starts !== null ? starts[i + k]! : i + k === 0 ? 0 : ends[i + k - 1]!);
      }
      this.bufferedBytes += bytes;
      this.statsValue.bytes += bytes;
      this.statsValue.records += n;
      i += n;
      if (n === 0 || stage.state[0]! < stage.capacity) break;
      this.moveStage();
    }
    return i - from;
  }

  /**
   * Releases the blocks read to their end when no staged row may need its record again (an
   * empty stage, or none): every row of theirs is in the buffer's columns (copies), and a dead
   * letter keeps a copy of its bytes.
   */
  private releaseDoneBlocks(): void {
    const blocks = this.doneBlocks;
    if (blocks.length === 0 || (this.stage !== undefined && this.stage.state[0]! > 0)) return;
    for (const b of blocks) b.release!();
    blocks.length = 0;
  }

  /** Staged record `k` (made again from its block when it was read through the view). */
  private stagedRecord(k: number): SourceRecord {
    return this.stagedRecords[k] ?? this.stagedBlocks[k]!.record(this.stagedIndexes[k]!);
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
    const deleteKeys = this.sealChanges();
    const pending = new Map(this.pending);
    const unit: SealedUnit = {
      deleteKeys,
      records: deleteKeys !== undefined ? this.changeRecords : this.buffer.length + this.heldRows,
      held: this.held,
      schema: this.transform.schema,
      columns: this.unmapped?.seal(),
      groups: this.buffer.drain(),
      deadLetters: this.deadLetters,
      pending,
      restarts: new Map([...pending.keys()].map((p) => [p, this.restarts.get(p) ?? 0])),
      sealedMs: this.now(),
    };
    this.pending.clear();
    this.deadLetters = [];
    this.held = [];
    this.heldRows = 0;
    this.changeRecords = 0;
    this.bufferedBytes = 0;
    this.inflightPartitions = new Set(pending.keys());
    const done = this.commit(unit).then(
      () => {
        if (this.inflight === done) this.inflight = undefined;
        this.inflightPartitions = new Set();
      },
      (e: unknown) => {
        if (this.commitError === undefined) this.failedRecords = unit.records;
        this.commitError ??= e;
        if (this.inflight === done) this.inflight = undefined;
        this.inflightPartitions = new Set();
      },
    );
    this.inflight = done;
  }

  /** Builds the key index of an upsert table that can have one, and reports how deletes are written. */
  private async openVectors(duckdb: DuckDB, keyIds: number[]): Promise<void> {
    const started = this.now();
    try {
      this.vectors = await UpsertVectors.open(this.table, keyIds, duckdb);
    } catch (e) {
      // Equality deletes are always correct: an index that cannot be built costs speed only.
      this.emit({ type: 'upsert-deletes', table: this.table.name, deletes: 'equality-deletes', reason: `the key index could not be built: ${boundedMessage(e)}` });
      return;
    }
    const reason = this.vectors ? undefined : keyIndexUnsupported(this.table.metadata, keyIds);
    this.reportVectors(reason, this.now() - started);
  }

  /** Emits `upsert-deletes` when the mode changed since the last report. */
  private reportVectors(reason: string | undefined, durationMs?: number): void {
    const v = this.vectors;
    const active = v?.active === true;
    if (this.vectorsReported === active) return;
    this.vectorsReported = active;
    this.emit(
      active
        ? { type: 'upsert-deletes', table: this.table.name, deletes: 'deletion-vectors', keys: v!.size, memoryBytes: v!.memoryBytes, ...(durationMs !== undefined ? { durationMs } : {}) }
        : { type: 'upsert-deletes', table: this.table.name, deletes: 'equality-deletes', reason: reason ?? v?.reason ?? 'unknown', ...(durationMs !== undefined ? { durationMs } : {}) },
    );
  }

  /**
   * Upsert tables: moves the unit's last row of each upserted key into the buffer and returns
   * the key of every row upserted or deleted; undefined for an append-only table. The transform
   * checked each row when its record was taken, so a refusal here is floe's own failure.
   */
  private sealChanges(): IcebergValue[][] | undefined {
    if (this.changes === undefined) return undefined;
    const { rows, keys } = this.changes.seal();
    for (const row of rows) {
      try {
        this.buffer.append(row);
      } catch (e) {
        throw new FloeError('INTERNAL', `pipeline: the row buffer refused an upserted row (a bug in floe; please report it): ${boundedMessage(e)}`, { cause: e });
      }
    }
    return keys;
  }

  /**
   * How commits ride out an unavailable catalog: for `commit.retry_budget`, one event per retry;
   * a stop ends the waiting (the rows not committed are read again by the next run).
   */
  private conflictOptions(): Pick<CommitOptions, 'conflictDefaults'> {
    // Workers sharing a stream (`source.application`) each commit every interval: conflicts in
    // the catalog are the rule, and only the branch moved (their shards differ). With Java's
    // backoff (100 ms doubling) 8 writers saw p99 freshness of 3.3 to 5.3 s; with 10 to 200 ms,
    // 2.2 s (`bench/many-writers-results.md`). A table's own `commit.retry.*` properties win.
    return this.options.config.source.application !== undefined ? { conflictDefaults: LEASE_CONFLICT_RETRY } : {};
  }

  private outageOptions(): Pick<CommitOptions, 'outage' | 'onRetry' | 'signal'> {
    const budgetMs = this.options.config.commit.retryBudgetMs;
    return {
      ...(budgetMs !== undefined ? { outage: { budgetMs } } : {}),
      onRetry: (e) => this.emit({ type: 'commit-retry', ...e }),
      signal: this.stopController.signal,
    };
  }

  /** The fencing tokens of exactly the partitions of `pending` (those without: no position). */
  private fencingTokens(pending: ReadonlyMap<string, string>): Map<string, string> {
    const expected = new Map<string, string>();
    for (const p of pending.keys()) {
      const token = this.committed.get(p);
      if (token !== undefined) expected.set(p, token);
    }
    return expected;
  }

  /**
   * Throws {@link ShardsFencedError} when the table's position of a partition of `pending` is not
   * its fencing token in `expected` (another writer moved it).
   */
  private checkFence(base: TableMetadata, pending: ReadonlyMap<string, string>, expected: ReadonlyMap<string, string>): void {
    const stream = this.options.source.id;
    const all = readCheckpoint(snapshotForRef(base, 'main'), stream);
    const actual = new Map<string, string>();
    for (const p of pending.keys()) {
      const pos = all.get(p);
      if (pos !== undefined) actual.set(p, pos);
    }
    if (samePositions(expected, actual)) return;
    const moved = [...pending.keys()].filter((p) => expected.get(p) !== actual.get(p));
    const then = this.options.source.rewind ? 'dropping the rows not committed and reading again from the table' : 'another writer is active, stopping without committing';
    throw new ShardsFencedError(`pipeline: fenced: the positions of ${stream} in ${this.table.name} moved under this run (${diffPositions(expected, actual)}); ${then}`, moved);
  }

  /** Writes a sealed unit's rows and commits them with the positions they cover. */
  private async commit(unit: SealedUnit): Promise<void> {
    const started = unit.sealedMs;
    const stream = this.options.source.id;
    // Positions the source can derive from others (finished parent shards) leave the table.
    const retired = this.options.source.retiredPartitions?.(new Map([...this.committed, ...unit.pending])) ?? [];
    // Only this unit's positions are written: the table's other positions are carried forward
    // from the snapshot the commit lands on (another writer's shards included).
    const carried = new Map(unit.pending);
    for (const id of retired) carried.delete(id);
    const dropCheckpoints = retired.map((id) => checkpointPrefix(stream) + id);
    const summary = checkpointSummary(stream, carried);

    // Dead letters first, stamped with the same positions: if we crash before the main commit,
    // the replayed records find themselves already dead-lettered and are not written twice.
    const deadLetters = unit.deadLetters;
    if (this.deadLetterTable && deadLetters.length > 0) {
      const dlq = this.deadLetterTable;
      if (this.options.source.rewind) {
        // Shared shards (leases): a worker whose shard moved must not dead-letter its records
        // (the new owner does); the main commit checks again, atomically.
        await this.table.refresh();
        this.checkFence(this.table.metadata, unit.pending, this.fencingTokens(unit.pending));
      }
      const rows = new ColumnBatchBuilder(dlq.schema());
      for (const r of deadLetters) rows.append(r);
      const { files, specId } = await writeDataFiles(dlq.io, dlq.metadata, rows.build(), this.duckdb ? { db: this.duckdb } : {});
      await dlq.newAppend({ summary, dropCheckpoints, ...this.outageOptions(), ...this.conflictOptions() }).appendFiles(files, specId).commit();
      for (const [p, pos] of carried) this.deadLetterCommitted.set(p, pos);
    }

    // One file per partition group, written with the spec the rows were grouped by.
    const specId = this.buffer.spec['spec-id'];
    const files: DataFile[] = [];
    // With new columns, files are written with the schema the commit makes current.
    const columns = unit.columns;
    const writeMd = columns
      ? applyUpdates(this.table.metadata, [{ action: 'add-schema', schema: columns.schema, 'last-column-id': columns.lastColumnId }, { action: 'set-current-schema', 'schema-id': -1 }])
      : this.table.metadata;
    const groups = unit.held.length === 0 ? unit.groups : mergeGroups([...unit.held, { schema: unit.schema, groups: unit.groups }], unit.schema);
    for (const g of groups) {
      const written = await writeDataFiles(this.table.io, writeMd, g.batch, { specId, partition: g.partition, ...(this.duckdb ? { db: this.duckdb } : {}) });
      files.push(...written.files);
    }
    unit.held = [];
    // The rows are in their files: their buffers go to the next units (nothing reads them again,
    // a failed commit fails the run rather than rewriting them).
    this.buffer.recycle(unit.groups);
    unit.groups = [];
    // Upsert tables: the older rows of every key touched are deleted in the same snapshot as the
    // new rows: by position (deletion vectors) while the key index describes the table, else by
    // equality (one equality delete per key).
    const upsert = this.upsert;
    const keys = unit.deleteKeys ?? [];
    unit.deleteKeys = undefined;
    const writeEqualityDeletesOf = async (): Promise<DataFile[]> => {
      if (upsert === undefined || keys.length === 0) return [];
      const columns = new Map(upsert.keyIds.map((id, j) => [id, keys.map((k) => k[j] ?? null)]));
      const written = await writeEqualityDeletes(this.table.io, writeMd, { length: keys.length, columns }, {
        equalityIds: upsert.keyIds,
        specId: upsert.deleteSpecId,
        ...(this.duckdb ? { db: this.duckdb } : {}),
      });
      return written.files;
    };
    const deletes: DataFile[] = [];
    // The fencing tokens of exactly the shards this unit carries.
    const expected = this.fencingTokens(unit.pending);
    const land = (vectors: PreparedVectors | undefined): Promise<CommitResult> => {
      const commitOptions: CommitOptions = {
        summary,
        dropCheckpoints,
        ...this.outageOptions(),
        ...this.conflictOptions(),
        ...(columns ? { schemaChange: { schema: columns.schema, lastColumnId: columns.lastColumnId } } : {}),
        validate: (base: TableMetadata) => {
          this.options.crashPoint?.('beforeCommit');
          if (columns && (base['current-schema-id'] !== this.tableSchemaId || base['last-column-id'] !== this.tableLastColumnId)) {
            throw new FencedError(
              `pipeline: the schema of ${this.table.name} changed under this run (schema ${this.tableSchemaId} → ${base['current-schema-id']}, last column id ${this.tableLastColumnId} → ${base['last-column-id']}) while it was adding columns for new fields; stopping without committing (the next start reads the records again with the table's schema)`,
            );
          }
          this.checkFence(base, unit.pending, expected);
          if (upsert !== undefined) checkDeleteLayout(base, upsert, this.table.name);
          vectors?.validate(base);
        },
      };
      if (upsert === undefined) return this.table.newAppend(commitOptions).appendFiles(files, specId).commit();
      // Rows and deletes with the positions in one snapshot (a RowDelta: `table/row-delta.ts`).
      const delta = this.table.newRowDelta(commitOptions).addRowsFiles(files, specId).addDeleteFiles(deletes, upsert.deleteSpecId);
      return (vectors?.addTo(delta) ?? delta).commit();
    };
    const index = this.vectors;
    let result: CommitResult;
    if (index === undefined) {
      deletes.push(...(await writeEqualityDeletesOf()));
      this.options.crashPoint?.('afterWrite');
      result = await land(undefined);
    } else {
      // One commit at a time with the index (a compaction of the table commits through it too).
      result = await index.exclusive(async () => {
        let prepared: PreparedVectors | undefined;
        try {
          prepared = await index.prepare(keys, files.map((file) => ({ file, specId })));
        } catch (e) {
          index.invalidate(`the key index failed: ${boundedMessage(e)}`);
        }
        this.reportVectors(undefined);
        if (prepared === undefined) {
          deletes.push(...(await writeEqualityDeletesOf()));
          this.options.crashPoint?.('afterWrite');
          return land(undefined);
        }
        this.options.crashPoint?.('afterWrite');
        try {
          const landed = await land(prepared);
          prepared.committed(landed.snapshot);
          return landed;
        } catch (e) {
          if (e instanceof FloeError && e.code === 'COMMIT_STATE_UNKNOWN') {
            index.invalidate('a commit ended in an unknown state');
            throw e;
          }
          await prepared.abandon();
          if (!(e instanceof StaleKeyIndexError)) throw e;
          // Another writer moved the table: this commit deletes by equality, which is always right.
          index.invalidate(e.message);
          this.reportVectors(undefined);
          deletes.push(...(await writeEqualityDeletesOf()));
          return land(undefined);
        }
      });
    }
    this.options.crashPoint?.('afterCommit');
    if (columns) {
      this.tableSchemaId = result.metadata['current-schema-id'];
      this.tableLastColumnId = result.metadata['last-column-id'];
      this.emit({ type: 'evolved', table: this.table.name, changes: columns.changes, snapshotId: result.snapshot['snapshot-id'].toString() });
    }

    // A shard restarted since this unit was sealed keeps the token of its restart.
    for (const [p, pos] of unit.pending) if ((this.restarts.get(p) ?? 0) === unit.restarts.get(p)) this.committed.set(p, pos);
    for (const id of retired) this.committed.delete(id);
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
      files: files.length + deletes.length,
      bytes: [...files, ...deletes].reduce((s, f) => s + f.file_size_in_bytes, 0),
      durationMs: this.now() - started,
      attempts: result.attempts,
      positions: Object.fromEntries(committedNow),
    });
  }
}
