/**
 * `floe query`: SQL through DuckDB over catalog tables (`namespace.table`) and tables named by
 * location (`--table NAME=LOCATION`).
 */
import { ValidationError } from '../../errors.js';
import { parsePathMapping } from '../../io/remap.js';
import { QueryEngine } from '../../query/engine.js';
import { list, pairs, parse, str, UsageError } from '../args.js';
import { CATALOG_OPTIONS, optionalCatalogFrom } from '../context.js';
import { formatResult, parseFormat } from '../format.js';
import type { CommandIO } from '../io.js';

export const QUERY_USAGE = `usage: floe query [--catalog <uri>] [--warehouse <dir>] [--table NAME=LOCATION]...
                  [--path-map FROM=TO]... [--snapshot-id ID | --as-of TIMESTAMP]
                  [--format table|json|csv] "SQL"`;

/** Parses `--as-of`: epoch milliseconds or an ISO-8601 date/time (UTC unless it says otherwise). */
export function parseAsOf(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(text) || /^\d{4}-\d\d-\d\d$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new UsageError(`cli: --as-of: cannot parse '${text}' as a timestamp (ISO-8601 or epoch ms)`);
  return ms;
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
  });
  if (positionals.length !== 1) throw new UsageError(`cli: query expects exactly one SQL argument\n${QUERY_USAGE}`);
  const sql = positionals[0]!;
  const format = parseFormat(str(values, 'format'));
  const snapshotText = str(values, 'snapshot-id');
  const asOfText = str(values, 'as-of');
  if (snapshotText !== undefined && asOfText !== undefined) throw new UsageError('cli: --snapshot-id and --as-of are exclusive');
  if (snapshotText !== undefined && !/^-?\d+$/.test(snapshotText)) {
    throw new UsageError(`cli: --snapshot-id must be an integer, got '${snapshotText}'`);
  }
  const tables = pairs('--table', list(values, 'table')).map(([name, location]) => ({ name, location }));
  const pathMap = list(values, 'path-map').map(parsePathMapping);
  const catalog = optionalCatalogFrom(values, io.env);
  if (!catalog && tables.length === 0) {
    throw new ValidationError('cli: query: no catalog found and no --table given (create a table first, or pass --catalog/--warehouse/--table)');
  }
  const engine = await QueryEngine.open({
    ...(catalog ? { catalog } : {}),
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
