/**
 * SQL over Iceberg tables through DuckDB. Scans are planned in TypeScript (DuckDB's iceberg
 * extension cannot be installed offline, and floe must honour field ids, deletes and moved paths
 * exactly); each table becomes a DuckDB view named like the catalog table (`namespace.table`).
 *
 * Only the catalog tables a statement mentions are planned, so a query never pays for reading
 * every table's manifests.
 */
import type { DuckDBValue } from '@duckdb/node-api';
import type { Catalog, LoadedTable, TableIdentifier } from '../catalog/catalog.js';
import { ValidationError } from '../errors.js';
import type { Expression } from '../iceberg/expressions.js';
import type { PathMapping } from '../io/remap.js';
import { openTableAt } from '../table/open-location.js';
import { DuckDB, sqlIdent } from '../duckdb/instance.js';
import { planTableScan } from './table-scan.js';
import { keywordNamespaceInSyntaxError, missingTableName, quoteKeywordNamespaces, unknownTableMessage, writtenTableName } from './table-names.js';
import { registerTableView, scanToSql } from './table-view.js';
import { DeletionVectorTable } from './deletion-vectors.js';
import { bareCountTarget, countFromMetadata } from './metadata-count.js';

/** Which state of the tables to read. */
export interface SnapshotSelection {
  snapshotId?: bigint;
  asOfTimestampMs?: number;
  ref?: string;
}

/** Options of {@link QueryEngine.open}. */
export interface QueryEngineOptions extends SnapshotSelection {
  /** Catalog whose tables are queryable as `namespace.table`. */
  catalog?: Catalog;
  /** How messages name the catalog (e.g. its URI); default its name. */
  catalogLabel?: string;
  /** Tables opened from storage: NAME (`t` or `ns.t`) → metadata file or table directory. */
  tables?: { name: string; location: string }[];
  /** Prefix rewrites for tables opened from storage. */
  pathMap?: PathMapping[];
  /** DuckDB threads. */
  threads?: number;
}

/** A query's result. */
export interface QueryResult {
  columns: string[];
  rows: DuckDBValue[][];
}

function splitName(name: string): { schema?: string; table: string } {
  const i = name.lastIndexOf('.');
  if (i < 0) return { table: name };
  return { schema: name.slice(0, i), table: name.slice(i + 1) };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** True when `sql` mentions `ns.table` (optionally quoted, any case). */
export function mentionsTable(sql: string, namespace: string, table: string): boolean {
  const part = (p: string) => `(?:"${escapeRegex(p)}"|${escapeRegex(p)})`;
  const re = new RegExp(`(^|[^\\w"])${part(namespace)}\\s*\\.\\s*${part(table)}($|[^\\w"])`, 'i');
  return re.test(sql);
}

/** A DuckDB session with Iceberg tables registered as views. */
export class QueryEngine {
  private readonly registered = new Set<string>();
  /** The deletion vectors the views read, dropped when the engine closes. */
  private readonly vectors: DeletionVectorTable[] = [];
  /** Row counts from metadata of registered tables (lower-case names), where exact (`metadata-count.ts`). */
  private readonly counts = new Map<string, bigint>();
  /** Views of registered tables not made yet, by lower-case name (made by the first statement that needs them). */
  private readonly views = new Map<string, () => Promise<void>>();
  /** DuckDB's keywords that cannot stand unquoted as a schema name (lower case), once asked. */
  private keywords: Set<string> | undefined;

  private constructor(
    private readonly duckdb: DuckDB,
    private readonly options: QueryEngineOptions,
  ) {}

  /** Opens a DuckDB instance and registers the tables given by location. */
  static async open(options: QueryEngineOptions = {}): Promise<QueryEngine> {
    const duckdb = await DuckDB.open(options.threads !== undefined ? { threads: options.threads } : {});
    const engine = new QueryEngine(duckdb, options);
    try {
      for (const t of options.tables ?? []) {
        const loaded = await openTableAt(t.location, { pathMap: options.pathMap ?? [], name: splitName(t.name).table });
        await engine.registerTable(t.name, loaded);
      }
    } catch (e) {
      duckdb.close();
      throw e;
    }
    return engine;
  }

  /** Registers a loaded table as a view called `name` (`t` or `ns.t`). */
  async registerTable(name: string, table: LoadedTable, filter?: Expression): Promise<void> {
    const scan = await planTableScan(table.io, table.metadata, {
      ...(this.options.snapshotId !== undefined ? { snapshotId: this.options.snapshotId } : {}),
      ...(this.options.asOfTimestampMs !== undefined ? { asOfTimestampMs: this.options.asOfTimestampMs } : {}),
      ...(this.options.ref !== undefined ? { ref: this.options.ref } : {}),
      ...(filter ? { filter } : {}),
    });
    // A filtered registration's view holds fewer rows than its files: no count from metadata.
    const count = filter === undefined ? countFromMetadata(scan.tasks) : undefined;
    if (count !== undefined) this.counts.set(name.toLowerCase(), count);
    else this.counts.delete(name.toLowerCase());
    // The view is made when a statement needs it (`query`): a count answered from manifests reads
    // no data file footer and decodes no deletion vector.
    this.views.set(name.toLowerCase(), async () => {
      // Lazy: vectors are decoded just before a statement runs (see `query`).
      const vectors = new DeletionVectorTable(this.duckdb, table.io, { lazy: true });
      this.vectors.push(vectors);
      const sql = await scanToSql({
        duckdb: this.duckdb,
        deletionVectors: vectors,
        io: table.io,
        metadata: scan.metadata,
        schema: scan.schema,
        tasks: scan.tasks,
        ...(scan.filter ? { filter: scan.filter } : {}),
      });
      const { schema, table: tableName } = splitName(name);
      if (schema !== undefined) {
        await this.duckdb.run(`CREATE SCHEMA IF NOT EXISTS ${sqlIdent(schema)}`);
        await this.duckdb.run(`CREATE OR REPLACE VIEW ${sqlIdent(schema)}.${sqlIdent(tableName)} AS ${sql}`);
      } else {
        await registerTableView(this.duckdb, tableName, sql);
      }
    });
    this.registered.add(name.toLowerCase());
  }

  /**
   * Registers every catalog table the statement mentions and is not registered yet; returns the
   * catalog's namespaces.
   */
  private async registerMentioned(sql: string): Promise<string[]> {
    const catalog = this.options.catalog;
    if (!catalog) return [];
    const idents: TableIdentifier[] = [];
    const namespaces: string[] = [];
    for (const ns of await catalog.listNamespaces()) {
      const nsName = ns.join('.');
      namespaces.push(nsName);
      if (!new RegExp(escapeRegex(nsName), 'i').test(sql)) continue;
      for (const id of await catalog.listTables(ns)) {
        if (mentionsTable(sql, nsName, id.name)) idents.push(id);
      }
    }
    for (const id of idents) {
      const name = `${id.namespace.join('.')}.${id.name}`;
      if (this.registered.has(name.toLowerCase())) continue;
      await this.registerTable(name, await catalog.loadTable(id));
    }
    return namespaces;
  }

  /** The namespaces among `namespaces` that DuckDB reads as keywords (lower case). */
  private async keywordNamespaces(namespaces: readonly string[]): Promise<Set<string>> {
    const single = namespaces.filter((ns) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(ns));
    if (single.length === 0) return new Set();
    if (!this.keywords) {
      // 'unreserved' keywords are fine as schema names; every other kind breaks `FROM kw.t`.
      const rows = await this.duckdb.all(`SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'`);
      this.keywords = new Set(rows.map((r) => String(r.keyword_name).toLowerCase()));
    }
    const keywords = this.keywords;
    return new Set(single.map((ns) => ns.toLowerCase()).filter((ns) => keywords.has(ns)));
  }

  /** Runs one or more SQL statements and returns the last one's rows. */
  async query(sql: string): Promise<QueryResult> {
    if (sql.trim().length === 0) throw new ValidationError('query: empty SQL');
    const namespaces = await this.registerMentioned(sql);
    const text = quoteKeywordNamespaces(sql, await this.keywordNamespaces(namespaces));
    const counted = await this.countFromMetadata(text);
    if (counted) return counted;
    for (const [name, make] of this.views) {
      await make();
      this.views.delete(name);
    }
    for (const v of this.vectors) await v.load();
    let failure: unknown;
    const result = await this.duckdb.withConnection(async (conn) => {
      try {
        const reader = await conn.runAndReadAll(text);
        return { columns: reader.deduplicatedColumnNames(), rows: reader.getRows() };
      } catch (e) {
        failure = e;
        return undefined;
      }
    });
    if (result) return result;
    throw await this.queryError(failure, sql, namespaces);
  }

  /**
   * A bare `SELECT count(*) FROM t` of a registered table whose rows the metadata counts exactly
   * (no deletes, or deletion vectors only): answered without reading a data file.
   */
  private async countFromMetadata(sql: string): Promise<QueryResult | undefined> {
    if (this.counts.size === 0) return undefined;
    const target = await bareCountTarget(this.duckdb, sql);
    if (!target) return undefined;
    const name = (target.schema === undefined ? target.table : `${target.schema}.${target.table}`).toLowerCase();
    const count = this.counts.get(name);
    return count === undefined ? undefined : { columns: [target.column], rows: [[count]] };
  }

  /** floe's error for a failed statement: its own words for unknown tables and keyword namespaces. */
  private async queryError(e: unknown, sql: string, namespaces: readonly string[]): Promise<ValidationError> {
    const message = e instanceof Error ? e.message : String(e);
    const missing = missingTableName(message);
    if (missing !== undefined) {
      const catalog = this.options.catalog;
      const catalogTables: string[] = [];
      if (catalog) {
        for (const ns of await catalog.listNamespaces()) {
          for (const id of await catalog.listTables(ns)) catalogTables.push(`${id.namespace.join('.')}.${id.name}`);
        }
      }
      const text = unknownTableMessage(writtenTableName(sql, missing), {
        ...(catalog ? { catalog: this.options.catalogLabel ?? catalog.name, catalogTables } : {}),
        locationTables: (this.options.tables ?? []).map((t) => t.name),
      });
      return new ValidationError(text, { cause: e });
    }
    const keyword = keywordNamespaceInSyntaxError(message, namespaces);
    if (keyword !== undefined) {
      return new ValidationError(`query: namespace ${keyword} is an SQL keyword: quote it, "${keyword}".table (${message.split('\n')[0]})`, { cause: e });
    }
    return new ValidationError(`query: ${message}`, { cause: e });
  }

  /** Closes the DuckDB instance. */
  close(): void {
    for (const v of this.vectors.splice(0)) void v.drop();
    this.duckdb.close();
  }
}
