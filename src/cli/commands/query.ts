/**
 * `floe query`: SQL through DuckDB over catalog tables (`namespace.table`) and tables named by
 * location (`--table NAME=LOCATION`); or, with `--engine athena`, on Amazon Athena.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { sqlitePathFromUri } from '../../catalog/sql/db.js';
import { ValidationError } from '../../errors.js';
import { parsePathMapping } from '../../io/remap.js';
import { athenaClientFromEnv, athenaResultToPlainRows, runAthenaQuery } from '../../query/athena/athena-query.js';
import { QueryEngine } from '../../query/engine.js';
import { list, pairs, parse, str, UsageError } from '../args.js';
import { CATALOG_OPTIONS, catalogSettings, optionalCatalogFrom } from '../context.js';
import { formatPlain, formatResult, parseFormat, type OutputFormat } from '../format.js';
import type { CommandIO } from '../io.js';

export const QUERY_USAGE = `usage: floe query [--catalog <uri>] [--warehouse <dir>] [--table NAME=LOCATION]...
                  [--path-map FROM=TO]... [--snapshot-id ID | --as-of TIMESTAMP]
                  [--format table|json|csv] "SQL"
       floe query --engine athena [--workgroup W] [--output-location s3://…] [--database D]
                  [--athena-catalog C] [--format table|json|csv] "SQL"`;

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
  const { values, positionals } = parse('query', argv, {
    ...CATALOG_OPTIONS,
    table: { type: 'string', multiple: true },
    'path-map': { type: 'string', multiple: true },
    'snapshot-id': { type: 'string' },
    'as-of': { type: 'string' },
    format: { type: 'string' },
    engine: { type: 'string' },
    workgroup: { type: 'string' },
    'output-location': { type: 'string' },
    database: { type: 'string' },
    'athena-catalog': { type: 'string' },
  });
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
  const pathMap = list(values, 'path-map').map(parsePathMapping);
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
