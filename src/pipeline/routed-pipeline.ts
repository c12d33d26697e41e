/**
 * A routed run (`tables:` in the config, issue #17 part 4): one source, several tables. Each
 * table is written by a {@link Pipeline} of its own (its transform, its table settings and
 * evolution, its dead-letter table, its commits and fencing, exactly as a single-table run), fed
 * by the {@link RouteHub} through a `RoutedSource`; records no table takes go to the unrouted
 * table (`unrouted-table.ts`).
 *
 * Exactly once per table: each table's commits carry the positions of the records routed to it
 * (and of the records routed elsewhere up to them: routing is a pure function of the record);
 * after a restart the source starts from the smallest position over the tables, and each table
 * skips what it already holds. Tables a template made in an earlier run are found at start
 * (tables of the template's namespace matching its `name_pattern`) and take part in that
 * smallest position; a table a template makes while running is stamped, at creation, with the
 * positions routed so far (no record before them was its).
 *
 * Each table's pipeline has its own writer (DuckDB instance, `duckdb.memory_limit` each) and, with
 * `maintenance`, its own scheduler. One run stops as a whole: a table's failure (fenced, a commit
 * that cannot land) stops every table (each makes its final commit) and is rethrown.
 */
import type { Catalog, TableIdentifier } from '../catalog/catalog.js';
import { parseTableIdentifier } from '../catalog/catalog.js';
import { AlreadyExistsError, FloeError, NoSuchNamespaceError, ValidationError } from '../errors.js';
import { parsePartitionArg } from '../iceberg/notation.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import type { Schema } from '../iceberg/types.js';
import type { SourceRecord } from '../source/source.js';
import { Table } from '../table/table.js';
import { checkpointSummary, readCheckpoint } from './checkpoint.js';
import type { PipelineConfig } from './config.js';
import type { RouteConfig } from './config-routing.js';
import { DEAD_LETTER_SCHEMA } from './dead-letter.js';
import { Pipeline, type PipelineOptions, type PipelineStats } from './pipeline.js';
import { DEAD_LETTER_SUFFIX, RouteHub } from './route-hub.js';
import { schemaForTransform } from './transform.js';
import { UnroutedTable } from './unrouted-table.js';

/** The config of one table of a route (a template's with its name made). */
export function tableConfig(route: RouteConfig, name?: string): PipelineConfig {
  const { routing: _routing, ...config } = route.config;
  if (name === undefined) return config;
  return { ...config, table: { ...config.table, name }, deadLetter: { ...config.deadLetter, table: `${name}${DEAD_LETTER_SUFFIX}` } };
}

const fullName = (id: TableIdentifier) => `${id.namespace.join('.')}.${id.name}`;

async function ensureNamespace(catalog: Catalog, id: TableIdentifier): Promise<void> {
  if (await catalog.namespaceExists(id.namespace)) return;
  try {
    await catalog.createNamespace(id.namespace);
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
  }
}

/** Creates the table unless it exists (another process creating it first is fine). */
async function createTable(catalog: Catalog, id: TableIdentifier, schema: Schema, partitionBy?: string, properties?: Record<string, string>): Promise<void> {
  if (await catalog.tableExists(id)) return;
  await ensureNamespace(catalog, id);
  try {
    await catalog.createTable(id, {
      schema,
      ...(partitionBy ? { partitionSpec: parsePartitionArg(partitionBy, schema, 'config: table.partition_by') } : {}),
      ...(properties ? { properties } : {}),
    });
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
  }
}

/** A routed run (see the file comment); `run`, `stop` and `stats` as a {@link Pipeline}'s. */
export class RoutedPipeline {
  private readonly pipelines: Pipeline[] = [];
  private readonly tasks: Promise<unknown>[] = [];
  private unrouted: UnroutedTable | undefined;
  private firstError: unknown;
  private stopping = false;
  private readonly startedMs = Date.now();

  private constructor(
    private readonly options: PipelineOptions,
    private readonly hub: RouteHub,
  ) {}

  /** Opens every table known at start (creating the configured ones) and the unrouted table. */
  static async open(options: PipelineOptions): Promise<RoutedPipeline> {
    const { config, catalog, source } = options;
    const routing = config.routing;
    if (!routing) throw new ValidationError('routing: the config has no tables: section');
    let self: RoutedPipeline | undefined;
    const hub = new RouteHub({
      source,
      routes: routing.routes,
      initial: config.source.initialPosition,
      idleAdvanceMs: Math.max(1000, 10 * config.commit.intervalMs),
      openTable: (route, name, positions) => self!.openLate(route, name, positions),
      unrouted: (record, reason) => self!.unroutedRecord(record, reason),
    });
    self = new RoutedPipeline(options, hub);
    const emitted = new Set<string>();
    for (const route of routing.routes) {
      if (route.template) {
        for (const id of await RoutedPipeline.templateTables(catalog, route, routing.unroutedTable)) {
          const name = fullName(id);
          if (emitted.has(name) || routing.routes.some((r) => !r.template && r.config.table.name === name)) continue;
          emitted.add(name);
          hub.countTemplateTable(route);
          self.pipelines.push(await Pipeline.open({ ...options, config: tableConfig(route, name), source: hub.tableSource(name, new Map()) }));
        }
        continue;
      }
      emitted.add(route.config.table.name);
      self.pipelines.push(await Pipeline.open({ ...options, config: tableConfig(route), source: hub.tableSource(route.config.table.name, new Map()) }));
    }
    if (config.deadLetter.policy === 'dlq') {
      const id = parseTableIdentifier(routing.unroutedTable);
      await createTable(catalog, id, DEAD_LETTER_SCHEMA);
      const table = await Table.load(catalog, id);
      const names = table.schema().fields.map((f) => f.name).join(',');
      if (names !== DEAD_LETTER_SCHEMA.fields.map((f) => f.name).join(',')) {
        throw new ValidationError(`config: dead_letter.table: ${routing.unroutedTable} exists with other columns (${names})`);
      }
      const positions = readCheckpoint(snapshotForRef(table.metadata, 'main'), source.id);
      const unroutedSource = hub.unroutedTableSource(table.name, positions);
      self.unrouted = new UnroutedTable(table, unroutedSource, config.commit.intervalMs, (c) =>
        self!.emit({ type: 'commit', snapshotId: c.snapshotId, records: 0, deadLetters: c.deadLetters, files: c.deadLetters > 0 ? 1 : 0, bytes: 0, durationMs: 0, attempts: 1, positions: {} }),
      );
    }
    return self;
  }

  /** Tables of a template's namespace its pattern matches (not dead-letter tables, not the unrouted one). */
  private static async templateTables(catalog: Catalog, route: RouteConfig, unrouted: string): Promise<TableIdentifier[]> {
    const t = route.template!;
    let ids: TableIdentifier[];
    try {
      ids = await catalog.listTables(t.namespace);
    } catch (e) {
      if (e instanceof NoSuchNamespaceError) return [];
      throw e;
    }
    return ids
      .filter((id) => id.namespace.join('.') === t.namespace.join('.') && !id.name.endsWith(DEAD_LETTER_SUFFIX) && fullName(id) !== unrouted && t.pattern.test(fullName(id)))
      .sort((a, b) => fullName(a).localeCompare(fullName(b)));
  }

  private emit(e: Parameters<NonNullable<PipelineOptions['onEvent']>>[0]): void {
    try {
      this.options.onEvent?.(e);
    } catch {
      // A broken listener must not break ingestion.
    }
  }

  /** A record no table takes: per `dead_letter.policy`. */
  private unroutedRecord(record: SourceRecord, reason: string): void {
    const policy = this.options.config.deadLetter.policy;
    if (policy === 'fail') {
      throw new ValidationError(`pipeline: record at shard ${record.partitionId} position ${record.position}: ${reason} (dead_letter.policy is 'fail')`);
    }
    this.emit({ type: 'dead-letter', shard: record.partitionId, position: record.position, error: reason });
    this.unrouted?.reasons.set(record, reason);
  }

  /** A table a template named while running: created (and stamped) if new, then run. */
  private async openLate(route: RouteConfig, name: string, reached: ReadonlyMap<string, string>) {
    const { catalog, source } = this.options;
    const config = tableConfig(route, name);
    const id = parseTableIdentifier(name);
    if (!config.table.create && !(await catalog.tableExists(id))) {
      throw new ValidationError(`routing: table ${name} (from template '${route.template!.text}') does not exist and table.create is false`);
    }
    await createTable(catalog, id, schemaForTransform(config.transform, 'config: transform'), config.table.partitionBy, config.table.properties);
    const table = await Table.load(catalog, id);
    let positions = readCheckpoint(snapshotForRef(table.metadata, 'main'), source.id);
    if (positions.size === 0 && reached.size > 0) {
      // No record before these positions was this table's: it starts after them.
      const stamped = await table.newAppend({ summary: checkpointSummary(source.id, reached) }).appendFiles([], table.metadata['default-spec-id']).commit();
      positions = readCheckpoint(stamped.snapshot, source.id);
    }
    const child = this.hub.lateTableSource(name, positions);
    const pipeline = await Pipeline.open({ ...this.options, config, source: child });
    this.pipelines.push(pipeline);
    if (this.stopping) pipeline.stop();
    this.track(pipeline.run());
    return child;
  }

  private track(p: Promise<unknown>): void {
    this.tasks.push(
      p.catch((e: unknown) => {
        this.firstError ??= e;
        this.stop();
      }),
    );
  }

  /**
   * Runs every table until {@link stop} (or a failure: every table stops, the first error is
   * rethrown), then closes the source.
   */
  async run(): Promise<PipelineStats> {
    const { source, config } = this.options;
    for (const p of this.pipelines) this.track(p.run());
    if (this.unrouted) {
      const unrouted = this.unrouted;
      const unroutedSource = this.hub.unroutedSource!;
      this.track(unroutedSource.start(new Map(unroutedSource.committedPositions), config.source.initialPosition).then(() => unrouted.run()));
    }
    try {
      await this.hub.pump();
    } catch (e) {
      this.firstError ??= e;
      this.stop();
    }
    // Tables opened while stopping are tracked too: wait until none is added.
    for (let seen = 0; seen < this.tasks.length; ) {
      const n = this.tasks.length;
      await Promise.all(this.tasks.slice(seen));
      seen = n;
    }
    await source.close();
    if (this.firstError !== undefined) {
      const e = this.firstError;
      this.emit({ type: 'error', error: e instanceof Error ? e.message : String(e), code: e instanceof FloeError ? e.code : 'UNEXPECTED' });
      throw e;
    }
    return this.stats();
  }

  /** Asks every table to make its final commit and stop. */
  stop(): void {
    this.stopping = true;
    this.hub.stop();
    for (const p of this.pipelines) p.stop();
    this.unrouted?.stop();
  }

  /** Totals over the tables (records counted once per table they went to). */
  stats(): PipelineStats {
    const all = this.pipelines.map((p) => p.stats());
    const sum = (f: (s: PipelineStats) => number) => all.reduce((n, s) => n + f(s), 0);
    const last = all.filter((s) => s.lastCommitMs !== undefined).sort((a, b) => b.lastCommitMs! - a.lastCommitMs!)[0];
    return {
      records: sum((s) => s.records),
      deadLetters: sum((s) => s.deadLetters) + (this.unrouted?.taken ?? 0),
      skipped: sum((s) => s.skipped),
      commits: sum((s) => s.commits),
      bytes: sum((s) => s.bytes),
      lastCommitMs: last?.lastCommitMs,
      lastSnapshotId: last?.lastSnapshotId,
      startedMs: this.startedMs,
      source: this.options.source.metrics(),
    };
  }
}
