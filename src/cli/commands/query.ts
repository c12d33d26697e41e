/**
 * `floe query`: SQL through DuckDB over catalog tables (`namespace.table`) and tables named by
 * location (`--table NAME=LOCATION`); or, with `--engine athena`, on Amazon Athena.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { sqlitePathFromUri } from '../../catalog/sql/db.js';
import { ValidationError } from '../../errors.js';
import { athenaClientFromEnv, athenaResultToPlainRows, runAthenaQuery } from '../../query/athena/athena-query.js';
import { QueryEngine } from '../../query/engine.js';
import { list, pairs, parse, str, UsageError } from '../args.js';
import { CATALOG_FLAGS, catalogSettings, optionalCatalogFrom, PATH_MAP_FLAG, pathMapFrom } from '../context.js';
import { FORMAT_FLAG, formatPlain, formatResult, parseFormat, type OutputFormat } from '../format.js';
import { renderUsage, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';

/** `floe query`: what it parses and what its help says. */
export const QUERY_SPEC: CommandSpec = {
  name: 'query',
  args: '"SQL"',
  summary:
    'Runs one SQL statement through DuckDB over Iceberg tables: the catalog\'s tables as namespace.table, and tables ' +
    'named by location with --table; or on Amazon Athena with --engine athena.',
  flags: {
    ...CATALOG_FLAGS,
    table: {
      type: 'string',
      multiple: true,
      value: 'NAME=LOCATION',
      help:
        'adds a table by location: a metadata JSON file or a table directory (newest metadata). A table opened from ' +
        'another directory than its metadata records resolves its paths inside the directory it was opened from',
    },
    ...PATH_MAP_FLAG,
    'snapshot-id': { type: 'string', value: 'ID', help: 'reads the tables as of this snapshot (time travel)' },
    'as-of': { type: 'string', value: 'TIMESTAMP', help: 'reads the tables as of this time: ISO-8601 (UTC unless it says otherwise) or epoch ms' },
    format: FORMAT_FLAG.format!,
    engine: { type: 'string', value: 'duckdb|athena', help: 'where the statement runs (default duckdb)' },
    workgroup: { type: 'string', value: 'W', help: 'athena: the workgroup (default primary)' },
    'output-location': { type: 'string', value: 's3://…', help: "athena: where results go (required unless the workgroup sets one)" },
    database: { type: 'string', value: 'D', help: 'athena: the default database of unqualified table names' },
    'athena-catalog': { type: 'string', value: 'C', help: 'athena: the data catalog (default AwsDataCatalog)' },
  },
  notes: `Catalog and --table tables may be mixed in one statement. floe query creates nothing: a --warehouse or
--catalog SQLite catalog that does not exist is an error. --engine athena takes none of --catalog,
--warehouse, --catalog-name, --table, --path-map, --snapshot-id, --as-of (time travel is Athena SQL:
FOR TIMESTAMP AS OF …); AWS_REGION, AWS_ENDPOINT_URL_ATHENA and the default credential chain apply.`,
};

/** The usage text of `floe query`. */
export const QUERY_USAGE = renderUsage(QUERY_SPEC);

const ATHENA_ONLY = ['workgroup', 'output-location', 'database', 'athena-catalog'] as const;
const DUCKDB_ONLY = ['catalog', 'warehouse', 'catalog-name', 'table', 'path-map', 'snapshot-id', 'as-of'] as const;

/** `--engine athena`: the statement runs on Athena (tables from the Glue Data Catalog). */
async function athenaQuery(sql: string, values: Record<string, unknown>, format: OutputFormat, io: CommandIO): Promise<number> {
  for (const flag of DUCKDB_ONLY) {
    if (values[flag] !== undefined) {
      throw new UsageError(
        `cli: --${flag} does not apply to --engine athena (Athena reads tables from its data catalog; time travel is SQL: FOR TIMESTAMP AS OF …)`,
      );
    }
  }
  const client = athenaClientFromEnv({ env: io.env });
  try {
    const workGroup = str(values, 'workgroup');
    const outputLocation = str(values, 'output-location');
    const database = str(values, 'database');
    const catalog = str(values, 'athena-catalog');
    const result = await runAthenaQuery(client, sql, {
      ...(workGroup ? { workGroup } : {}),
      ...(outputLocation ? { outputLocation } : {}),
      ...(database ? { database } : {}),
      ...(catalog ? { catalog } : {}),
    });
    io.stdout(formatPlain(athenaResultToPlainRows(result), format));
  } finally {
    client.destroy();
  }
  return 0;
}

/** Parses `--as-of`: epoch milliseconds or an ISO-8601 date/time (UTC unless it says otherwise). */
export function parseAsOf(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) || /^\d{4}-\d\d-\d\d$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new UsageError(`cli: --as-of: cannot parse '${text}' as a timestamp (ISO-8601 or epoch ms)`);
  return ms;
}

/** The SQLite file of a catalog URI, or undefined for a remote or in-memory catalog. */
function localCatalogFile(uri: string): string | undefined {
  if (/^(https?|glue|s3tables|arn):/i.test(uri.trim())) return undefined;
  try {
    const path = sqlitePathFromUri(uri);
    return path === ':memory:' ? undefined : resolve(path);
  } catch {
    return undefined; // not a SQLite URI: opening the catalog says why
  }
}

/**
 * A read command creates nothing: a named SQLite catalog that does not exist is an error (opening
 * it would create the directory and an empty catalog database), naming what is missing.
 */
function checkCatalogExists(values: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  const s = catalogSettings(values, env);
  const file = localCatalogFile(s.uri);
  if (!s.explicit || file === undefined || existsSync(file)) return;
  const warehouseMissing = localCatalogFile(s.warehouse) !== undefined && !existsSync(s.warehouse);
  const what = warehouseMissing && file === resolve(s.warehouse, 'catalog.db') ? `warehouse ${s.warehouse} does not exist` : `catalog database ${file} does not exist`;
  throw new ValidationError(
    `cli: query: ${what} (floe query only reads, it creates nothing). Check --warehouse/--catalog ` +
      '(or FLOE_WAREHOUSE/FLOE_CATALOG), or create a table there first (floe table create, floe run)',
  );
}

/** Runs `floe query`. */
export async function queryCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parse(QUERY_SPEC, argv);
  if (positionals.length !== 1) throw new UsageError(`cli: query expects exactly one SQL argument\n${QUERY_USAGE}`);
  const sql = positionals[0]!;
  const format = parseFormat(str(values, 'format'));
  const engineName = str(values, 'engine') ?? 'duckdb';
  if (engineName === 'athena') return athenaQuery(sql, values, format, io);
  if (engineName !== 'duckdb') throw new UsageError(`cli: --engine must be duckdb or athena, got '${engineName}'`);
  for (const flag of ATHENA_ONLY) {
    if (values[flag] !== undefined) throw new UsageError(`cli: --${flag} only applies to --engine athena`);
  }
  const snapshotText = str(values, 'snapshot-id');
  const asOfText = str(values, 'as-of');
  if (snapshotText !== undefined && asOfText !== undefined) throw new UsageError('cli: --snapshot-id and --as-of are exclusive');
  if (snapshotText !== undefined && !/^-?\d+$/.test(snapshotText)) {
    throw new UsageError(`cli: --snapshot-id must be an integer, got '${snapshotText}'`);
  }
  const tables = pairs('--table', list(values, 'table')).map(([name, location]) => ({ name, location }));
  const pathMap = pathMapFrom(values);
  checkCatalogExists(values, io.env);
  const catalog = await optionalCatalogFrom(values, io.env);
  if (!catalog && tables.length === 0) {
    throw new ValidationError('cli: query: no catalog found and no --table given (create a table first, or pass --catalog/--warehouse/--table)');
  }
  const engine = await QueryEngine.open({
    ...(catalog ? { catalog, catalogLabel: `${catalog.name} (${catalogSettings(values, io.env).uri})` } : {}),
    tables,
    pathMap,
    ...(snapshotText !== undefined ? { snapshotId: BigInt(snapshotText) } : {}),
    ...(asOfText !== undefined ? { asOfTimestampMs: parseAsOf(asOfText) } : {}),
  });
  try {
    const result = await engine.query(sql);
    io.stdout(formatResult(result, format));
  } finally {
    engine.close();
    await catalog?.close();
  }
  return 0;
}
