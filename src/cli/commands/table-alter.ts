/**
 * `floe table alter NAMESPACE.TABLE CHANGE ARGS…`: one schema, property, partition-spec or sort-order change as
 * one REST-shaped commit, in the spirit of PyIceberg's `update_schema` / `update_spec`. The change
 * is computed from the metadata as loaded and committed with the requirements that make it safe
 * (`requirementsForUpdates`: assert-current-schema-id, assert-last-assigned-field-id,
 * assert-default-spec-id, assert-last-assigned-partition-id, assert-default-sort-order-id): a concurrent change makes the commit
 * fail instead of being overwritten. No retry on purpose: the user decided on the table they saw.
 */
import type { Catalog, TableIdentifier } from '../../catalog/catalog.js';
import { formatTableIdentifier } from '../../catalog/catalog.js';
import { CommitConflictError, ValidationError } from '../../errors.js';
import type { TableRequirement, TableUpdate } from '../../iceberg/commit.js';
import type { SortField, SortOrder, TableMetadata } from '../../iceberg/metadata.js';
import { currentSchema, defaultSortOrder, defaultSpec } from '../../iceberg/metadata-lookup.js';
import { parsePartitionArg, parseSchemaArg } from '../../iceberg/notation.js';
import { partitionSpecToString } from '../../iceberg/partitioning.js';
import { sortOrderToString } from '../../iceberg/sort-order.js';
import { schemaToString } from '../../iceberg/schema-display.js';
import { addColumn, deleteColumn, makeOptional, promoteColumn, renameColumn } from '../../iceberg/schema-evolution.js';
import { findFieldByName } from '../../iceberg/schema-index.js';
import { moveColumnAfter } from '../../iceberg/schema-move.js';
import type { PrimitiveType, Schema } from '../../iceberg/types.js';
import { applyUpdates, requirementsForUpdates } from '../../iceberg/update-metadata.js';
import { UsageError } from '../args.js';
import type { OutputFormat } from '../format.js';
import type { CommandIO } from '../io.js';

/** The changes `floe table alter` knows, with their arguments as the usage shows them. */
export const ALTER_CHANGES: Record<string, string> = {
  'add-column': 'NAME TYPE [--after COL] [--doc TEXT]   (NAME a.b adds inside struct a; new columns are optional)',
  'rename-column': 'OLD NEW',
  widen: 'COL TYPE   (int→long, float→double, decimal(P,S)→decimal(P2,S) with P2≥P)',
  'make-optional': 'COL',
  'drop-column': 'COL',
  'set-property': 'K=V...',
  'unset-property': 'K...',
  'set-partition-spec': '"TRANSFORMS"   (e.g. "day(ts), bucket(8, id)"; "" for unpartitioned)',
  'set-sort-order': '"TERMS"   (e.g. "id desc, day(ts) asc nulls last"; default asc nulls first / desc nulls last; "" for unsorted)',
};

/** What a change shows after it is applied. */
type Shows = 'schema' | 'properties' | 'spec' | 'sort';

/** A planned change: the commit to send and what to print. */
export interface AlterPlan {
  change: string;
  shows: Shows;
  requirements: TableRequirement[];
  updates: TableUpdate[];
}

/** Options of the column changes. */
export interface AlterOptions {
  after?: string;
  doc?: string;
}

function count(change: string, args: string[], n: number | 'some'): void {
  const ok = n === 'some' ? args.length > 0 : args.length === n;
  if (!ok) throw new UsageError(`cli: table alter ${change} expects ${ALTER_CHANGES[change] ?? ''}`);
}

function schemaChange(md: TableMetadata, next: Schema): TableUpdate[] {
  return [
    { action: 'add-schema', schema: next },
    { action: 'set-current-schema', 'schema-id': -1 },
  ];
}

/** Splits on commas outside parentheses (`bucket(8, id), ts`). */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.map((t) => t.trim());
}

/** Parses `id desc, day(ts) asc nulls last` against a schema (order id 1; the table assigns its own). */
function parseSortArg(text: string, schema: Schema): SortOrder {
  const what = 'cli: table alter set-sort-order';
  if (text.trim() === '') return { 'order-id': 0, fields: [] };
  const fields = splitTerms(text).map((term): SortField => {
    const m = /^(.*?)(?:\s+(asc|desc))?(?:\s+nulls\s+(first|last))?$/i.exec(term);
    const expr = m?.[1]?.trim() ?? '';
    if (expr === '') throw new UsageError(`${what}: empty sort term in '${text}'`);
    const parsed = parsePartitionArg(expr, schema, what).fields;
    if (parsed.length !== 1) throw new UsageError(`${what}: cannot parse sort term '${term}'`);
    const direction = (m?.[2]?.toLowerCase() ?? 'asc') as 'asc' | 'desc';
    const nulls = m?.[3]?.toLowerCase() ?? (direction === 'asc' ? 'first' : 'last');
    return { transform: parsed[0]!.transform, 'source-id': parsed[0]!['source-id'], direction, 'null-order': `nulls-${nulls}` as SortField['null-order'] };
  });
  return { 'order-id': 1, fields };
}

/**
 * Computes the commit for one change against `md` (pure). Bad arguments and refused evolutions
 * throw UsageError (`cli: table alter <change>: …`, exit 2).
 */
export function planAlter(md: TableMetadata, change: string, args: string[], opts: AlterOptions = {}): AlterPlan {
  if (!Object.hasOwn(ALTER_CHANGES, change)) {
    throw new UsageError(`cli: table alter: unknown change '${change}' (one of ${Object.keys(ALTER_CHANGES).join(', ')})`);
  }
  if ((opts.after !== undefined || opts.doc !== undefined) && change !== 'add-column') {
    throw new UsageError(`cli: table alter ${change}: --after and --doc apply to add-column only`);
  }
  const schema = currentSchema(md, 'table');
  const schemaId = Math.max(...md.schemas.map((s) => s['schema-id'])) + 1;
  let shows: Shows = 'schema';
  let updates: TableUpdate[];
  try {
    switch (change) {
      case 'add-column': {
        count(change, args, 2);
        const [path, typeText] = args as [string, string];
        const dot = path.lastIndexOf('.');
        const parent = dot > 0 ? path.slice(0, dot) : undefined;
        const name = dot > 0 ? path.slice(dot + 1) : path;
        const one = parseSchemaArg(`x ${typeText}`, `cli: table alter add-column: type '${typeText}'`);
        const col = one.fields[0];
        if (!col || one.fields.length !== 1) throw new UsageError(`cli: table alter add-column: '${typeText}' is not one type`);
        if (col.required) throw new UsageError(`cli: table alter add-column: '${path}' cannot be required (existing rows have no value); new columns are optional`);
        const added = addColumn(
          schema,
          { ...(parent ? { parent } : {}), name, type: col.type, ...(opts.doc !== undefined ? { doc: opts.doc } : {}) },
          { schemaId, lastColumnId: md['last-column-id'] },
        );
        let next = added.schema;
        if (opts.after !== undefined) {
          const f = findFieldByName(next, path);
          if (f) next = moveColumnAfter(next, f.id, opts.after, path);
        }
        updates = [{ action: 'add-schema', schema: next, 'last-column-id': added.lastColumnId }, { action: 'set-current-schema', 'schema-id': -1 }];
        break;
      }
      case 'rename-column':
        count(change, args, 2);
        updates = schemaChange(md, renameColumn(schema, args[0]!, args[1]!, { schemaId }));
        break;
      case 'widen':
        count(change, args, 2);
        updates = schemaChange(md, promoteColumn(schema, args[0]!, args[1]!.trim() as PrimitiveType, { schemaId, formatVersion: md['format-version'] }));
        break;
      case 'make-optional':
        count(change, args, 1);
        updates = schemaChange(md, makeOptional(schema, args[0]!, { schemaId }));
        break;
      case 'drop-column': {
        count(change, args, 1);
        const f = findFieldByName(schema, args[0]!);
        const spec = defaultSpec(md, 'table');
        if (f && spec.fields.some((p) => (p['source-ids'] ?? [p['source-id']]).includes(f.id))) {
          throw new UsageError(`cli: table alter drop-column: '${args[0]}' is a source of the partition spec; change the spec first (set-partition-spec)`);
        }
        const order = md['sort-orders'].find((o) => o['order-id'] === md['default-sort-order-id']);
        if (f && order?.fields.some((s) => (s['source-ids'] ?? [s['source-id']]).includes(f.id))) {
          throw new UsageError(`cli: table alter drop-column: '${args[0]}' is used by the sort order`);
        }
        updates = schemaChange(md, deleteColumn(schema, args[0]!, { schemaId }));
        break;
      }
      case 'set-property': {
        count(change, args, 'some');
        shows = 'properties';
        const set: Record<string, string> = {};
        for (const a of args) {
          const eq = a.indexOf('=');
          if (eq <= 0) throw new UsageError(`cli: table alter set-property: expected K=V, got '${a}'`);
          set[a.slice(0, eq)] = a.slice(eq + 1);
        }
        updates = [{ action: 'set-properties', updates: set }];
        break;
      }
      case 'unset-property':
        count(change, args, 'some');
        shows = 'properties';
        for (const k of args) {
          if (!Object.hasOwn(md.properties, k)) throw new UsageError(`cli: table alter unset-property: the table has no property '${k}'`);
        }
        updates = [{ action: 'remove-properties', removals: [...args] }];
        break;
      case 'set-sort-order':
        count(change, args, 1);
        shows = 'sort';
        updates = [
          { action: 'add-sort-order', 'sort-order': parseSortArg(args[0]!, schema) },
          { action: 'set-default-sort-order', 'sort-order-id': -1 },
        ];
        break;
      default: {
        count(change, args, 1);
        shows = 'spec';
        const parsed = parsePartitionArg(args[0]!, schema, 'cli: table alter set-partition-spec');
        // Without field ids the table keeps the id of a field it had (same source, transform and
        // name) and gives new fields ids after last-partition-id.
        const fields = parsed.fields.map(({ 'field-id': _id, ...f }) => f);
        updates = [
          { action: 'add-spec', spec: { 'spec-id': 0, fields } as never },
          { action: 'set-default-spec', 'spec-id': -1 },
        ];
      }
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (e instanceof ValidationError) {
      throw new UsageError(e.message.startsWith('cli:') ? e.message : `cli: table alter ${change}: ${e.message}`, { cause: e });
    }
    throw e;
  }
  // Check the change applies (and show it) before anything is committed.
  try {
    applyUpdates(md, updates);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`cli: table alter ${change}: ${e.message}`, { cause: e });
    throw e;
  }
  return { change, shows, requirements: requirementsForUpdates(md, updates), updates };
}

/**
 * Commits a plan. A requirement that no longer holds (someone changed the table since it was
 * loaded) becomes CommitConflictError `cli: table alter …: the table changed …`.
 */
export async function commitAlter(catalog: Catalog, id: TableIdentifier, plan: AlterPlan): Promise<TableMetadata> {
  try {
    return (await catalog.commitTable(id, plan.requirements, plan.updates)).metadata;
  } catch (e) {
    if (e instanceof CommitConflictError) {
      throw new CommitConflictError(
        `cli: table alter ${plan.change}: the table changed since it was loaded, nothing was committed (${e.message}); run the command again`,
        { cause: e },
      );
    }
    throw e;
  }
}

/** Prints the schema, properties or spec of `md` after a change. */
export function printAlter(io: CommandIO, format: OutputFormat, id: TableIdentifier, plan: AlterPlan, md: TableMetadata, committed: boolean): void {
  const schema = currentSchema(md, 'table');
  const spec = defaultSpec(md, 'table');
  const order = defaultSortOrder(md, 'table');
  if (format === 'json') {
    const row: Record<string, unknown> = { table: formatTableIdentifier(id), change: plan.change, committed };
    if (plan.shows === 'schema') Object.assign(row, { 'schema-id': schema['schema-id'], 'last-column-id': md['last-column-id'], schema });
    if (plan.shows === 'properties') row.properties = md.properties;
    if (plan.shows === 'spec') Object.assign(row, { 'spec-id': spec['spec-id'], 'last-partition-id': md['last-partition-id'], 'partition-spec': spec.fields });
    if (plan.shows === 'sort') Object.assign(row, { 'sort-order-id': order['order-id'], 'sort-order': order.fields });
    io.stdout(JSON.stringify([row]) + '\n');
    return;
  }
  const head = `${committed ? 'Committed' : 'Dry run (not committed)'}: ${plan.change} on ${formatTableIdentifier(id)}`;
  let body: string;
  if (plan.shows === 'schema') body = `Schema (id ${schema['schema-id']}, last column id ${md['last-column-id']}):\n${schemaToString(schema)}`;
  else if (plan.shows === 'properties') body = `Properties:\n${Object.entries(md.properties).map(([k, v]) => `  ${k}=${v}`).join('\n') || '  none'}`;
  else if (plan.shows === 'sort') body = `Sort order (id ${order['order-id']}): ${order.fields.length ? sortOrderToString(order, schema) : 'unsorted'}`;
  else body = `Partition spec (id ${spec['spec-id']}, last partition id ${md['last-partition-id']}): ${spec.fields.length ? partitionSpecToString(spec) : 'unpartitioned'}`;
  io.stdout(`${head}\n${body}\n`);
}

/** Runs `floe table alter` after the flags were parsed. */
export async function alterCommand(
  catalog: Catalog,
  id: TableIdentifier,
  change: string | undefined,
  args: string[],
  opts: AlterOptions & { dryRun: boolean },
  io: CommandIO,
  format: OutputFormat,
): Promise<number> {
  if (change === undefined) throw new UsageError(`cli: table alter expects NAMESPACE.TABLE CHANGE ARGS… (changes: ${Object.keys(ALTER_CHANGES).join(', ')})`);
  const md = (await catalog.loadTable(id)).metadata;
  const plan = planAlter(md, change, args, opts);
  if (opts.dryRun) {
    printAlter(io, format, id, plan, applyUpdates(md, plan.updates), false);
    return 0;
  }
  printAlter(io, format, id, plan, await commitAlter(catalog, id, plan), true);
  return 0;
}
