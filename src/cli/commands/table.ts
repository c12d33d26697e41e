/**
 * `floe table create|describe|list|snapshots|files|alter|drop`, in the spirit of the PyIceberg CLI.
 * Every subcommand prints a table for humans or, with `--format json`, one JSON array.
 */
import type { Catalog, TableIdentifier } from '../../catalog/catalog.js';
import { formatTableIdentifier, parseTableIdentifier } from '../../catalog/catalog.js';
import { AlreadyExistsError, ValidationError } from '../../errors.js';
import { deleteFileKey } from '../../table/delete-file-rules.js';
import { FileContent, isDeletionVector, type DataFile } from '../../iceberg/manifest-types.js';
import { currentSchema, findSortOrder, findSpec } from '../../iceberg/metadata-lookup.js';
import { schemaToString } from '../../iceberg/schema-display.js';
import { columnName } from '../../iceberg/schema-index.js';
import { planTableScan } from '../../query/table-scan.js';
import type { JsonOut } from '../../query/result-values.js';
import { list, pairs, parse, str, UsageError } from '../args.js';
import { CATALOG_FLAGS, catalogFrom, PATH_MAP_FLAG } from '../context.js';
import { FORMAT_FLAG, formatPlain, parseFormat, type OutputFormat } from '../format.js';
import { renderGroup, renderUsage, type CommandGroup, type CommandSpec, type FlagSpecs } from '../help.js';
import type { CommandIO } from '../io.js';
import { parsePartitionArg, parseSchemaArg } from '../../iceberg/notation.js';
import { ALTER_CHANGES, alterCommand } from './table-alter.js';

const COMMON: FlagSpecs = { ...CATALOG_FLAGS, ...FORMAT_FLAG };
const READ: FlagSpecs = { ...COMMON, ...PATH_MAP_FLAG };

/** `floe table …`: each subcommand's flags and help (the parser's definitions). */
export const TABLE_SPECS: Record<TableSub, CommandSpec> = {
  create: {
    name: 'table create',
    args: 'NAMESPACE.TABLE --schema SCHEMA',
    summary: 'Creates a table (and its namespace when missing) and prints its location and metadata file.',
    flags: {
      schema: {
        type: 'string',
        value: '"COL TYPE [not null], ..."',
        help:
          'the columns (required): boolean, int, long, float, double, decimal(P,S), date, time, timestamp, timestamptz, ' +
          'string, uuid, fixed[L], binary, struct<a: int, …>, list<T>, map<K, V>; or an Iceberg schema as JSON',
      },
      'partition-by': {
        type: 'string',
        value: '"TRANSFORMS"',
        help: 'partition spec, e.g. "day(ts), bucket(16, id)": identity (a bare column), bucket(N, c), truncate(W, c), year/month/day/hour(c), void(c)',
      },
      location: {
        type: 'string',
        value: 'LOC',
        help:
          "the table's own directory (default <warehouse>/<namespace>/<table>); never the warehouse root, a directory " +
          'holding the catalog database or another table, nor one inside another table (refused: its orphan sweep would delete their files)',
      },
      property: { type: 'string', multiple: true, value: 'K=V', help: 'a table property, e.g. write.target-file-size-bytes=134217728' },
      'format-version': {
        type: 'string',
        value: '1|2|3',
        help: 'Iceberg format version (default 2); 3 tracks row lineage and takes deletion vectors instead of position delete files',
      },
      ...COMMON,
    },
    notes: 'Example: floe table create db.events --schema "id long not null, ts timestamptz, name string" --partition-by "day(ts)"',
  },
  describe: {
    name: 'table describe',
    args: 'NAMESPACE.TABLE',
    summary: "Prints a table's format version, location, metadata file, partition spec, sort order, key (identifier fields), current snapshot, properties and schema.",
    flags: READ,
  },
  list: {
    name: 'table list',
    args: '[NAMESPACE]...',
    summary: 'Lists the tables of the given namespaces (default: every top-level namespace).',
    flags: COMMON,
  },
  snapshots: {
    name: 'table snapshots',
    args: 'NAMESPACE.TABLE',
    summary: "Lists a table's snapshots, oldest first, with their operation, record counts and refs.",
    flags: READ,
  },
  files: {
    name: 'table files',
    args: 'NAMESPACE.TABLE',
    summary: "Lists the data and delete files of a table's current snapshot (or --snapshot-id's).",
    flags: { 'snapshot-id': { type: 'string', value: 'ID', help: 'the snapshot to list (default the current one)' }, ...READ },
  },
  alter: {
    name: 'table alter',
    args: 'NAMESPACE.TABLE CHANGE ARGS...',
    summary: 'Changes the schema, properties, partition spec or sort order in one commit that fails if the table changed meanwhile; prints the new schema, properties, spec or sort order.',
    flags: {
      after: { type: 'string', value: 'COL', help: 'add-column: place the new column right after COL (a sibling in the same struct; default last)' },
      doc: { type: 'string', value: 'TEXT', help: "add-column: the column's documentation" },
      'dry-run': { type: 'boolean', help: 'prints the result of the change without committing it' },
      ...COMMON,
    },
    notes:
      'Changes:\n' +
      Object.entries(ALTER_CHANGES)
        .map(([k, v]) => `  ${k} ${v}`)
        .join('\n') +
      '\nField ids are never reused (a dropped column\'s id stays retired). Example: floe table alter db.events add-column country string --after user_id',
  },
  drop: {
    name: 'table drop',
    args: 'NAMESPACE.TABLE',
    summary: 'Removes a table from the catalog; its files stay unless --purge.',
    flags: { purge: { type: 'boolean', help: "also deletes the table's files (data, manifests, metadata)" }, ...COMMON },
  },
};

type TableSub = 'create' | 'describe' | 'list' | 'snapshots' | 'files' | 'alter' | 'drop';

/** `floe table` as a group. */
export const TABLE_GROUP: CommandGroup = {
  name: 'table',
  summary: 'Creates, describes, lists and drops tables, in the spirit of the PyIceberg CLI. Every subcommand prints a table, or with --format json one JSON array.',
  subcommands: Object.values(TABLE_SPECS),
};

/** The usage text of `floe table`. */
export const TABLE_USAGE = renderGroup(TABLE_GROUP);

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function emit(io: CommandIO, format: OutputFormat, columns: string[], rows: JsonOut[][]): void {
  io.stdout(formatPlain({ columns, rows }, format));
}

function one(positionals: string[], what: string): TableIdentifier {
  if (positionals.length !== 1) throw new UsageError(`cli: table ${what} expects NAMESPACE.TABLE\n${renderUsage(TABLE_SPECS[what as TableSub] ?? TABLE_SPECS.describe)}`);
  try {
    return parseTableIdentifier(positionals[0]!);
  } catch (e) {
    // A malformed name on the command line is bad usage (exit 2), not a catalog failure.
    if (e instanceof ValidationError) throw new UsageError(`cli: table ${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Runs `floe table …`. */
export async function tableCommand(argv: string[], io: CommandIO): Promise<number> {
  const [subArg, ...rest] = argv;
  if (!subArg || !Object.hasOwn(TABLE_SPECS, subArg)) {
    throw new UsageError(`cli: unknown table subcommand '${subArg ?? ''}'\n${TABLE_USAGE}`);
  }
  const sub = subArg as TableSub;
  const { values, positionals } = parse(TABLE_SPECS[sub], rest, TABLE_GROUP.subcommands);
  const format = parseFormat(str(values, 'format'));
  const catalog = await catalogFrom(values, io.env);
  try {
    switch (sub) {
      case 'create':
        return await create(catalog, one(positionals, sub), values, io, format);
      case 'describe':
        return await describe(catalog, one(positionals, sub), io, format);
      case 'list':
        return await listTables(catalog, positionals, io, format);
      case 'snapshots':
        return await snapshots(catalog, one(positionals, sub), io, format);
      case 'files':
        return await files(catalog, one(positionals, sub), values, io, format);
      case 'alter': {
        const [name, change, ...args] = positionals;
        const after = str(values, 'after');
        const doc = str(values, 'doc');
        const opts = { dryRun: values['dry-run'] === true, ...(after !== undefined ? { after } : {}), ...(doc !== undefined ? { doc } : {}) };
        return await alterCommand(catalog, one(name === undefined ? [] : [name], sub), change, args, opts, io, format);
      }
      default:
        await catalog.dropTable(one(positionals, sub), { purge: values.purge === true });
        emit(io, format, ['dropped', 'purged'], [[formatTableIdentifier(one(positionals, sub)), values.purge === true]]);
        return 0;
    }
  } finally {
    await catalog.close();
  }
}

async function create(
  catalog: Catalog,
  id: TableIdentifier,
  values: Record<string, unknown>,
  io: CommandIO,
  format: OutputFormat,
): Promise<number> {
  const schemaText = str(values, 'schema');
  if (!schemaText) throw new UsageError(`cli: table create needs --schema\n${renderUsage(TABLE_SPECS.create)}`);
  const schema = parseSchemaArg(schemaText, 'cli: --schema');
  const partitionText = str(values, 'partition-by');
  const partitionSpec = partitionText ? parsePartitionArg(partitionText, schema, 'cli: --partition-by') : undefined;
  const properties = Object.fromEntries(pairs('--property', list(values, 'property')));
  const fv = str(values, 'format-version');
  if (fv !== undefined && fv !== '1' && fv !== '2' && fv !== '3') throw new UsageError(`cli: --format-version must be 1, 2 or 3, got '${fv}'`);
  if (!(await catalog.namespaceExists(id.namespace))) {
    try {
      await catalog.createNamespace(id.namespace);
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
  const location = str(values, 'location');
  const t = await catalog.createTable(id, {
    schema,
    ...(partitionSpec ? { partitionSpec } : {}),
    ...(location ? { location } : {}),
    properties,
    ...(fv ? { formatVersion: Number(fv) as 1 | 2 | 3 } : {}),
  });
  emit(io, format, ['table', 'location', 'metadata'], [[formatTableIdentifier(id), t.metadata.location, t.metadataLocation]]);
  return 0;
}

async function describe(catalog: Catalog, id: TableIdentifier, io: CommandIO, format: OutputFormat): Promise<number> {
  const t = await catalog.loadTable(id);
  const md = t.metadata;
  const schema = currentSchema(md, 'table');
  const spec = findSpec(md, md['default-spec-id']);
  const order = findSortOrder(md, md['default-sort-order-id']);
  const current = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
  // The key (identifier fields) by name; an id the schema lacks (a broken table) shows as its id.
  const identifierFields = (schema['identifier-field-ids'] ?? []).map((fid) => columnName(schema, fid) ?? String(fid));
  if (format === 'json') {
    io.stdout(
      JSON.stringify([
        {
          table: formatTableIdentifier(id),
          'format-version': md['format-version'],
          'table-uuid': md['table-uuid'],
          location: md.location,
          'metadata-location': t.metadataLocation,
          schema: JSON.parse(JSON.stringify(schema)),
          'partition-spec': spec?.fields ?? [],
          'sort-order': order?.fields ?? [],
          'identifier-fields': identifierFields,
          properties: md.properties,
          'current-snapshot-id': md['current-snapshot-id']?.toString() ?? null,
          'current-snapshot-summary': current?.summary ?? null,
        },
      ]) + '\n',
    );
    return 0;
  }
  const specText = spec?.fields.length
    ? spec.fields.map((f) => `${f.name}: ${f.transform}(${f['source-id']}) [${f['field-id']}]`).join('\n')
    : 'unpartitioned';
  const orderText = order?.fields.length
    ? order.fields.map((f) => `${f.transform}(${f['source-id']}) ${f.direction} ${f['null-order']}`).join(', ')
    : 'unsorted';
  const lines = [
    `Table            ${formatTableIdentifier(id)}`,
    `Format version   ${md['format-version']}`,
    `Table UUID       ${md['table-uuid']}`,
    `Location         ${md.location}`,
    `Metadata         ${t.metadataLocation}`,
    `Last updated     ${iso(md['last-updated-ms'])}`,
    `Partition spec   ${specText.replace(/\n/g, '\n                 ')}`,
    `Sort order       ${orderText}`,
    `Key (identifier) ${identifierFields.length ? identifierFields.join(', ') : 'none'}`,
    `Current snapshot ${current ? `${current['snapshot-id']} (${current.summary.operation}, ${iso(current['timestamp-ms'])}, ${current.summary['total-records'] ?? '?'} records)` : 'none'}`,
    `Properties       ${Object.entries(md.properties).map(([k, v]) => `${k}=${v}`).join('\n                 ') || 'none'}`,
    `Schema (id ${schema['schema-id']}):`,
    schemaToString(schema)
      .split('\n')
      .map((l) => '  ' + l)
      .join('\n'),
  ];
  io.stdout(lines.join('\n') + '\n');
  return 0;
}

async function listTables(catalog: Catalog, positionals: string[], io: CommandIO, format: OutputFormat): Promise<number> {
  const namespaces = positionals.length ? positionals.map((p) => p.split('.')) : await catalog.listNamespaces();
  const rows: JsonOut[][] = [];
  for (const ns of namespaces) {
    for (const id of await catalog.listTables(ns)) rows.push([id.namespace.join('.'), id.name]);
  }
  emit(io, format, ['namespace', 'table'], rows);
  return 0;
}

async function snapshots(catalog: Catalog, id: TableIdentifier, io: CommandIO, format: OutputFormat): Promise<number> {
  const md = (await catalog.loadTable(id)).metadata;
  const refsBySnapshot = new Map<bigint, string[]>();
  for (const [name, ref] of Object.entries(md.refs)) {
    refsBySnapshot.set(ref['snapshot-id'], [...(refsBySnapshot.get(ref['snapshot-id']) ?? []), name]);
  }
  const rows: JsonOut[][] = [...md.snapshots]
    .sort((a, b) => a['timestamp-ms'] - b['timestamp-ms'])
    .map((s) => [
      s['snapshot-id'].toString(),
      s['parent-snapshot-id']?.toString() ?? null,
      s['sequence-number']?.toString() ?? null,
      iso(s['timestamp-ms']),
      s.summary.operation,
      s.summary['added-records'] ?? '0',
      s.summary['total-records'] ?? null,
      s.summary['total-data-files'] ?? null,
      (refsBySnapshot.get(s['snapshot-id']) ?? []).join(','),
      format === 'table' ? null : (s.summary as unknown as { [k: string]: JsonOut }),
    ]);
  const columns = ['snapshot_id', 'parent_id', 'sequence_number', 'timestamp', 'operation', 'added_records', 'total_records', 'total_data_files', 'refs', 'summary'];
  if (format === 'table') {
    emit(io, format, columns.slice(0, -1), rows.map((r) => r.slice(0, -1)));
  } else {
    emit(io, format, columns, rows);
  }
  return 0;
}

async function files(
  catalog: Catalog,
  id: TableIdentifier,
  values: Record<string, unknown>,
  io: CommandIO,
  format: OutputFormat,
): Promise<number> {
  const t = await catalog.loadTable(id);
  const snap = str(values, 'snapshot-id');
  if (snap !== undefined && !/^-?\d+$/.test(snap)) throw new UsageError(`cli: --snapshot-id must be an integer, got '${snap}'`);
  const scan = await planTableScan(t.io, t.metadata, snap ? { snapshotId: BigInt(snap) } : {});
  const contentName = (f: DataFile) =>
    f.content === FileContent.DATA ? 'data' : isDeletionVector(f) ? 'deletion-vector' : f.content === FileContent.POSITION_DELETES ? 'position-deletes' : 'equality-deletes';
  const partitionText = (p: unknown[]) =>
    JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  const seen = new Set<string>();
  const rows: JsonOut[][] = [];
  for (const task of scan.tasks) {
    const all = [{ file: task.file, seq: task.dataSequenceNumber }, ...task.deletes.map((d) => ({ file: d.file, seq: d.dataSequenceNumber }))];
    for (const { file, seq } of all) {
      // Deletion vectors share Puffin files: each one is its blob (path and offset).
      const key = deleteFileKey(file);
      if (seen.has(key)) continue;
      seen.add(key);
      rows.push([file.file_path, contentName(file), file.file_format, partitionText(file.partition), file.record_count, file.file_size_in_bytes, seq.toString()]);
    }
  }
  emit(io, format, ['file_path', 'content', 'file_format', 'partition', 'record_count', 'file_size_in_bytes', 'sequence_number'], rows);
  return 0;
}
