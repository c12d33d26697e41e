/**
 * SQL over an Iceberg table: turns planned {@link FileScanTask}s and a schema into one DuckDB
 * SELECT that yields the table's rows (`format/spec.md` §Column Projection, §Delete Files).
 *
 * Columns are resolved by field id, never by name: each Parquet file's ids come from DuckDB's
 * `parquet_schema()`. A file written without ids is mapped through the table's name mapping
 * (`schema.name-mapping.default`), or failing that through the names of the scan's schema.
 * A column absent from a file reads as its identity-partition value (from the manifest), else
 * its `initial-default`, else NULL. Values are cast to the schema's types, which applies type
 * promotion (int→long, float→double, decimal widening).
 *
 * Deletes: position deletes are anti-joined on `file_row_number` against the delete files' rows
 * whose `file_path` equals the data file's path *as written in the manifest* (before any FileIO
 * remapping); equality deletes are anti-joined on their `equality_ids` columns with
 * `IS NOT DISTINCT FROM` (NULL matches NULL, as the spec requires).
 *
 * Every `read_parquet` passes `hive_partitioning = false`: DuckDB otherwise auto-detects
 * `key=value` directories (the layout Iceberg writers use for identity partitions, e.g.
 * `data/b=true/…`) and replaces the file's column of that name with the directory's text value,
 * turning a boolean or date column into VARCHAR. Partition values come from the manifest only.
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { parseJson, type JsonValue } from '../iceberg/json.js';
import { fromJsonValue } from '../iceberg/conversions.js';
import { bind, isBound } from '../iceberg/expression-binding.js';
import type { BoundExpression, Expression } from '../iceberg/expressions.js';
import { FileContent, isDeletionVector, type DataFile } from '../iceberg/manifest-types.js';
import type { PartitionSpec, TableMetadata } from '../iceberg/metadata.js';
import type { DeleteFileRef, FileScanTask } from '../iceberg/scan.js';
import { indexById, indexParents } from '../iceberg/schema-index.js';
import { decimalParams, primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergType, IcebergValue, NestedField, PrimitiveType, Schema } from '../iceberg/types.js';
import { duckdbType } from '../duckdb/types.js';
import { sqlIdent, sqlString, type DuckDB } from '../duckdb/instance.js';
import { planTableScan, type TableScan, type TableScanOptions } from './table-scan.js';
import { equalityDeleteScopes, GLOBAL_SCOPE } from './delete-scopes.js';
import type { FileIO } from '../io/file-io.js';
import { DeletionVectorTable } from './deletion-vectors.js';
import { LAST_UPDATED_SEQUENCE_NUMBER_FIELD_ID, ROW_ID_FIELD_ID, ROW_LINEAGE_FIELDS } from '../iceberg/row-lineage.js';

// ---------------------------------------------------------------------------------------------
// SQL text helpers

function decimalText(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  const digits = (neg ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${text}` : text;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function asBigInt(v: IcebergValue, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  throw new ValidationError(`query: ${what}: expected an integer, got ${String(v)}`);
}

/**
 * Renders a single Iceberg value as a DuckDB expression of the type's DuckDB counterpart.
 * Integers are accepted as number or bigint (a promoted column's old values are numbers).
 */
export function sqlLiteral(type: PrimitiveType, v: IcebergValue, what = 'literal'): string {
  const target = duckdbType(type);
  if (v === null) return `CAST(NULL AS ${target})`;
  switch (primitiveKind(type)) {
    case 'boolean':
      return v ? 'TRUE' : 'FALSE';
    case 'int':
    case 'long':
      return `CAST(${asBigInt(v, what)} AS ${target})`;
    case 'float':
    case 'double': {
      if (typeof v !== 'number' && typeof v !== 'bigint') break;
      const n = Number(v);
      const text = Number.isNaN(n) ? 'NaN' : n === Infinity ? 'Infinity' : n === -Infinity ? '-Infinity' : String(n);
      return `CAST('${text}' AS ${target})`;
    }
    case 'decimal': {
      const { scale } = decimalParams(type) ?? { scale: 0 };
      return `CAST('${decimalText(asBigInt(v, what), scale)}' AS ${target})`;
    }
    case 'date':
      return `CAST(DATE '1970-01-01' + ${asBigInt(v, what)} AS DATE)`;
    case 'time':
      return `CAST(TIME '00:00:00' + to_microseconds(CAST(${asBigInt(v, what)} AS BIGINT)) AS ${target})`;
    case 'timestamp':
      return `make_timestamp(CAST(${asBigInt(v, what)} AS BIGINT))`;
    case 'timestamptz':
      // The micros are UTC: interpret the naive timestamp in UTC, whatever the session zone.
      return `timezone('UTC', make_timestamp(CAST(${asBigInt(v, what)} AS BIGINT)))`;
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return `CAST(make_timestamp_ns(CAST(${asBigInt(v, what)} AS BIGINT)) AS ${target})`;
    case 'string':
      if (typeof v === 'string') return sqlString(v);
      break;
    case 'uuid':
      if (typeof v === 'string') return `CAST(${sqlString(v)} AS UUID)`;
      break;
    case 'fixed':
    case 'binary':
      if (v instanceof Uint8Array) return `from_hex('${hex(v)}')`;
      break;
  }
  throw new ValidationError(`query: ${what}: cannot render ${String(v)} as ${type}`);
}

// ---------------------------------------------------------------------------------------------
// Parquet file schemas

/** A column of a Parquet file in DuckDB's logical view (lists and maps already unwrapped). */
interface FileNode {
  /** Name DuckDB gives the column (the Parquet name). */
  name: string;
  fieldId: number | undefined;
  kind: 'primitive' | 'struct' | 'list' | 'map';
  /** DuckDB type of a primitive (as `parquet_schema().duckdb_type`). */
  duckType?: string;
  /** struct: fields; list: [element]; map: [key, value]. */
  children: FileNode[];
}

interface RawNode {
  name: string;
  fieldId: number | undefined;
  repetition: string | null;
  convertedType: string | null;
  logicalType: string | null;
  duckType: string | null;
  children: RawNode[];
}

interface SchemaRow {
  name: string;
  repetition_type: string | null;
  num_children: bigint | number | null;
  converted_type: string | null;
  logical_type: string | null;
  field_id: bigint | number | null;
  duckdb_type: string | null;
}

function toRawTree(rows: SchemaRow[], what: string): RawNode {
  let i = 0;
  const parse = (): RawNode => {
    const r = rows[i++];
    if (!r) throw new ValidationError(`query: ${what}: truncated Parquet schema`);
    const n = Number(r.num_children ?? 0);
    const children: RawNode[] = [];
    for (let k = 0; k < n; k++) children.push(parse());
    return {
      name: r.name,
      fieldId: r.field_id === null || r.field_id === undefined ? undefined : Number(r.field_id),
      repetition: r.repetition_type,
      convertedType: r.converted_type,
      logicalType: r.logical_type,
      duckType: r.duckdb_type,
      children,
    };
  };
  return parse();
}

function isListGroup(r: RawNode): boolean {
  return r.convertedType === 'LIST' || (r.logicalType ?? '').startsWith('ListType');
}
function isMapGroup(r: RawNode): boolean {
  return r.convertedType === 'MAP' || r.convertedType === 'MAP_KEY_VALUE' || (r.logicalType ?? '').startsWith('MapType');
}

/** Converts Parquet's physical nesting to DuckDB's logical view (the Parquet LIST/MAP rules). */
function toFileNode(r: RawNode, what: string): FileNode {
  if (r.children.length === 0) {
    const leaf: FileNode = { name: r.name, fieldId: r.fieldId, kind: 'primitive', duckType: r.duckType ?? undefined, children: [] };
    return leaf;
  }
  if (isListGroup(r)) {
    const rep = r.children[0]!;
    // Three-level lists wrap the element in a one-field repeated group; legacy two-level lists
    // repeat the element itself (Parquet LogicalTypes.md backward-compatibility rules).
    const threeLevel = rep.children.length === 1 && rep.name !== 'array' && rep.name !== `${r.name}_tuple`;
    const element = threeLevel ? rep.children[0]! : { ...rep, repetition: 'REQUIRED' };
    return { name: r.name, fieldId: r.fieldId, kind: 'list', children: [toFileNode(element, what)] };
  }
  if (isMapGroup(r)) {
    const kv = r.children[0]!;
    if (kv.children.length !== 2) throw new ValidationError(`query: ${what}: map ${r.name} has no key/value pair`);
    return {
      name: r.name,
      fieldId: r.fieldId,
      kind: 'map',
      children: [toFileNode(kv.children[0]!, what), toFileNode(kv.children[1]!, what)],
    };
  }
  return { name: r.name, fieldId: r.fieldId, kind: 'struct', children: r.children.map((c) => structChild(c, what)) };
}

/** A repeated field outside a LIST group is a list of that field (DuckDB reads it so). */
function structChild(c: RawNode, what: string): FileNode {
  if (c.repetition === 'REPEATED') {
    const element = toFileNode({ ...c, repetition: 'REQUIRED', fieldId: undefined }, what);
    return { name: c.name, fieldId: c.fieldId, kind: 'list', children: [element] };
  }
  return toFileNode(c, what);
}

function hasFieldIds(n: FileNode): boolean {
  return n.fieldId !== undefined || n.children.some(hasFieldIds);
}

/** One entry of a name mapping (`schema.name-mapping.default`, spec §Column Projection). */
interface MappedField {
  'field-id'?: number;
  names: string[];
  fields?: MappedField[];
}

/**
 * Parses a table's name mapping: a JSON list of `{ "field-id"?, "names": [...], "fields"? }`.
 * @throws ValidationError naming the offending entry
 */
function parseNameMapping(text: string): MappedField[] {
  const what = 'query: table property schema.name-mapping.default';
  const list = (v: JsonValue | undefined, path: string): MappedField[] => {
    if (!Array.isArray(v)) throw new ValidationError(`${what}: ${path} must be a list`);
    return v.map((item, i) => {
      const at = `${path}[${i}]`;
      if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new ValidationError(`${what}: ${at} must be an object`);
      const names = item.names;
      if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) {
        throw new ValidationError(`${what}: ${at}.names must be a list of strings`);
      }
      const out: MappedField = { names };
      const id = item['field-id'];
      if (id !== undefined && id !== null) {
        if (typeof id !== 'number' || !Number.isInteger(id)) throw new ValidationError(`${what}: ${at}.field-id must be an integer`);
        out['field-id'] = id;
      }
      if (item.fields !== undefined && item.fields !== null) out.fields = list(item.fields, `${at}.fields`);
      return out;
    });
  };
  return list(parseJson(text, 'schema.name-mapping.default'), 'mapping');
}

/** Assigns field ids from a name mapping to nodes without one (spec: Column Projection). */
function applyMapping(node: FileNode, fields: MappedField[] | undefined): void {
  if (!fields) return;
  const find = (name: string): MappedField | undefined => fields.find((f) => f.names.includes(name));
  const assign = (child: FileNode, mf: MappedField | undefined): void => {
    if (!mf) return;
    if (child.fieldId === undefined && mf['field-id'] !== undefined) child.fieldId = mf['field-id'];
    applyMapping(child, mf.fields);
  };
  if (node.kind === 'struct') for (const c of node.children) assign(c, find(c.name));
  else if (node.kind === 'list') assign(node.children[0]!, find('element'));
  else if (node.kind === 'map') {
    assign(node.children[0]!, find('key'));
    assign(node.children[1]!, find('value'));
  }
}

/** A name mapping built from a schema's own names (fallback when the table has none). */
function mappingFromSchema(schema: Schema): MappedField[] {
  const ofType = (t: IcebergType): MappedField[] | undefined => {
    if (typeof t === 'string') return undefined;
    if (t.type === 'struct') return t.fields.map((f) => ({ 'field-id': f.id, names: [f.name], fields: ofType(f.type) }));
    if (t.type === 'list') return [{ 'field-id': t['element-id'], names: ['element'], fields: ofType(t.element) }];
    return [
      { 'field-id': t['key-id'], names: ['key'], fields: ofType(t.key) },
      { 'field-id': t['value-id'], names: ['value'], fields: ofType(t.value) },
    ];
  };
  return ofType(schema) ?? [];
}

/** Reads a Parquet file's schema through DuckDB. */
async function readFileSchema(duckdb: DuckDB, localPath: string, what: string): Promise<FileNode> {
  const rows = (await duckdb.all(
    `SELECT name, repetition_type, num_children, converted_type, logical_type, field_id, duckdb_type FROM parquet_schema(${sqlString(localPath)})`,
  )) as unknown as SchemaRow[];
  if (rows.length === 0) throw new ValidationError(`query: ${what}: empty Parquet schema`);
  const root = toRawTree(rows, what);
  return { name: root.name, fieldId: undefined, kind: 'struct', children: root.children.map((c) => structChild(c, what)) };
}

// ---------------------------------------------------------------------------------------------
// Projection

interface ProjectionContext {
  /** Names the data file in error messages. */
  what: string;
  /** Lambda nesting depth, for unique lambda parameter names. */
  depth: number;
}

/** Casts a file primitive to the schema type, keeping timestamps' instants right. */
function castPrimitive(access: string, fileType: string | undefined, type: PrimitiveType): string {
  const target = duckdbType(type);
  const kind = primitiveKind(type);
  const src = (fileType ?? '').toUpperCase();
  if (kind === 'timestamptz' && (src === 'TIMESTAMP' || src === 'TIMESTAMP_MS' || src === 'TIMESTAMP_S' || src === 'TIMESTAMP_NS')) {
    // A file that stored UTC micros without isAdjustedToUTC: read the value as UTC, not session time.
    return `timezone('UTC', CAST(${access} AS TIMESTAMP))`;
  }
  if (kind === 'timestamp' && src === 'TIMESTAMP WITH TIME ZONE') return `timezone('UTC', ${access})`;
  if ((kind === 'string' || kind === 'uuid') && src === 'BLOB') {
    const decoded = `decode(${access})`;
    return kind === 'string' ? decoded : `CAST(${decoded} AS UUID)`;
  }
  if (src === target.toUpperCase()) return access;
  return `CAST(${access} AS ${target})`;
}

/** Value of a field absent from a file: its `initial-default`, else NULL of its type. */
function absentValue(field: NestedField, what: string): string {
  const def = field['initial-default'];
  if (def !== undefined && def !== null && typeof field.type === 'string') {
    return sqlLiteral(field.type, fromJsonValue(field.type, def), `${what}: initial-default of ${field.name}`);
  }
  return `CAST(NULL AS ${duckdbType(field.type)})`;
}

/** Projects a file column (already located by id) to the schema type. */
function projectType(type: IcebergType, node: FileNode, access: string, ctx: ProjectionContext): string {
  const mismatch = (): never => {
    throw new ValidationError(
      `query: ${ctx.what}: column ${node.name} (field id ${node.fieldId}) is a ${node.kind} in the file but ${typeof type === 'string' ? type : type.type} in the schema`,
    );
  };
  if (typeof type === 'string') {
    if (node.kind !== 'primitive') return mismatch();
    return castPrimitive(access, node.duckType, type);
  }
  switch (type.type) {
    case 'struct': {
      if (node.kind !== 'struct') return mismatch();
      const fields = type.fields.map((f) => {
        const child = node.children.find((c) => c.fieldId === f.id);
        const value = child
          ? projectType(f.type, child, `struct_extract(${access}, ${sqlString(child.name)})`, ctx)
          : absentValue(f, ctx.what);
        return `${sqlIdent(f.name)} := ${value}`;
      });
      return `CASE WHEN ${access} IS NULL THEN NULL ELSE struct_pack(${fields.join(', ')}) END`;
    }
    case 'list': {
      if (node.kind !== 'list') return mismatch();
      const v = `x${ctx.depth}`;
      const element = projectType(type.element, node.children[0]!, v, { ...ctx, depth: ctx.depth + 1 });
      if (element === v) return access;
      return `list_transform(${access}, lambda ${v}: ${element})`;
    }
    case 'map': {
      if (node.kind !== 'map') return mismatch();
      const e = `e${ctx.depth}`;
      const inner = { ...ctx, depth: ctx.depth + 1 };
      const key = projectType(type.key, node.children[0]!, `${e}.key`, inner);
      const value = projectType(type.value, node.children[1]!, `${e}.value`, inner);
      if (key === `${e}.key` && value === `${e}.value`) return access;
      return `map_from_entries(list_transform(map_entries(${access}), lambda ${e}: struct_pack(key := ${key}, value := ${value})))`;
    }
  }
}

/** Identity-partition values of a task, by source field id (spec rule 1 for absent columns). */
function identityPartitionValues(task: FileScanTask, spec: PartitionSpec | undefined): Map<number, IcebergValue> {
  const out = new Map<number, IcebergValue>();
  if (!spec) return out;
  spec.fields.forEach((pf, pos) => {
    if (pf.transform === 'identity' && pos < task.partition.length) out.set(pf['source-id'], task.partition[pos] ?? null);
  });
  return out;
}

/**
 * SQL for one schema field read from a file: located by id through the struct path of
 * `fieldPath` (top-level field first). Absent → partition value (top level), default, or NULL.
 */
function fieldExpr(
  root: FileNode,
  fieldPath: NestedField[],
  partitionValues: Map<number, IcebergValue>,
  ctx: ProjectionContext,
): string {
  let node: FileNode = root;
  let access = '';
  for (let i = 0; i < fieldPath.length; i++) {
    const f = fieldPath[i]!;
    const child = node.kind === 'struct' ? node.children.find((c) => c.fieldId === f.id) : undefined;
    if (!child) {
      if (i === fieldPath.length - 1 && partitionValues.has(f.id) && typeof f.type === 'string') {
        return sqlLiteral(f.type, partitionValues.get(f.id)!, `${ctx.what}: partition value of ${f.name}`);
      }
      if (i === fieldPath.length - 1) return absentValue(f, ctx.what);
      return `CAST(NULL AS ${duckdbType(fieldPath[fieldPath.length - 1]!.type)})`;
    }
    access = i === 0 ? sqlIdent(child.name) : `struct_extract(${access}, ${sqlString(child.name)})`;
    if (i === fieldPath.length - 1) return projectType(f.type, child, access, ctx);
    node = child;
  }
  throw new ValidationError(`query: ${ctx.what}: empty field path`);
}

// ---------------------------------------------------------------------------------------------
// Residual filter

/** Renders a bound filter as a SQL condition over the output columns. */
export function filterToSql(expr: BoundExpression, schema: Schema): string {
  const byId = indexById(schema);
  const parents = indexParents(schema);
  const column = (id: number): string => {
    const path: NestedField[] = [];
    let cur: number | undefined = id;
    while (cur !== undefined) {
      const f = byId.get(cur);
      if (!f) throw new ValidationError(`query: filter field ${id} is not in schema ${schema['schema-id']}`);
      path.unshift(f);
      cur = parents.get(cur);
    }
    return path.reduce((acc, f, i) => (i === 0 ? sqlIdent(f.name) : `struct_extract(${acc}, ${sqlString(f.name)})`), '');
  };
  const walk = (e: BoundExpression): string => {
    switch (e.op) {
      case 'true':
        return 'TRUE';
      case 'false':
        return 'FALSE';
      case 'and':
      case 'or':
        return `(${walk(e.left)} ${e.op.toUpperCase()} ${walk(e.right)})`;
    }
    const x = column(e.fieldId);
    const lit = (v: IcebergValue): string => sqlLiteral(e.type, v, `filter on ${e.name}`);
    const floating = primitiveKind(e.type) === 'float' || primitiveKind(e.type) === 'double';
    // DuckDB orders NaN above every number; Iceberg's comparisons never match NaN.
    const notNaN = (s: string): string => (floating ? `(${s} AND NOT isnan(${x}))` : s);
    switch (e.op) {
      case 'is_null':
        return `(${x} IS NULL)`;
      case 'not_null':
        return `(${x} IS NOT NULL)`;
      case 'is_nan':
        return `isnan(${x})`;
      case 'not_nan':
        return `(NOT isnan(${x}))`;
      case 'lt':
        return notNaN(`${x} < ${lit(e.value)}`);
      case 'lt_eq':
        return notNaN(`${x} <= ${lit(e.value)}`);
      case 'gt':
        return notNaN(`${x} > ${lit(e.value)}`);
      case 'gt_eq':
        return notNaN(`${x} >= ${lit(e.value)}`);
      case 'eq':
        return notNaN(`${x} = ${lit(e.value)}`);
      case 'not_eq':
        return `(${x} <> ${lit(e.value)})`;
      case 'starts_with':
        return `starts_with(${x}, ${lit(e.value)})`;
      case 'not_starts_with':
        return `(NOT starts_with(${x}, ${lit(e.value)}))`;
      case 'in':
        return notNaN(`${x} IN (${e.values.map(lit).join(', ')})`);
      case 'not_in':
        return `(${x} NOT IN (${e.values.map(lit).join(', ')}))`;
    }
  };
  return walk(expr);
}

// ---------------------------------------------------------------------------------------------
// Scan → SQL

/** Inputs of {@link scanToSql}. */
export interface ScanToSqlOptions {
  /** DuckDB used to read Parquet footers (`parquet_schema`). */
  duckdb: DuckDB;
  /** FileIO the table was opened with; `localPath` gives DuckDB a readable path. */
  io: FileIO;
  /** Table metadata: partition specs, name mapping, schemas (for equality delete columns). */
  metadata: TableMetadata;
  /** The schema whose columns the SQL produces (current, or the time-travel snapshot's). */
  schema: Schema;
  tasks: FileScanTask[];
  /** Optional row filter applied to the result (the residual of a pruned scan). */
  filter?: Expression | BoundExpression;
  caseSensitive?: boolean;
  /**
   * Equality deletes as one anti-join per data file and delete file, the straightforward form
   * (slow with many files), instead of one per key over all files: the reference of the
   * differential test (`table-view.equality-join.test.ts`).
   */
  perFileDeletes?: boolean;
  /**
   * Where the scan's deletion vectors (v3) go: the caller drops them once the SQL has run, or
   * when the view over it goes (`DeletionVectorTable.drop`). Default: kept until the process ends.
   */
  deletionVectors?: DeletionVectorTable;
  /**
   * Adds the row lineage columns `_row_id` and `_last_updated_sequence_number` (format v3, spec
   * §Row Lineage) after the schema's columns: the value the data file stores when non-null, else
   * the inherited one (the file's `first_row_id` + the row's position in the file, counted from 0
   * whatever the deletes; the file's data sequence number). `_row_id` is NULL for a file without
   * `first_row_id` (written before an upgrade to v3). What compaction copies into its files.
   */
  rowLineage?: boolean;
}

interface PreparedFile {
  localPath: string;
  root: FileNode;
}

/** A data file with deletes, projected (`scanToSql`). */
interface DeleteItem {
  task: FileScanTask;
  data: PreparedFile;
  projected: string[];
  partitionValues: Map<number, IcebergValue>;
  ctx: ProjectionContext;
}

function fieldPaths(schema: Schema): Map<number, NestedField[]> {
  const byId = indexById(schema);
  const parents = indexParents(schema);
  const out = new Map<number, NestedField[]>();
  for (const id of byId.keys()) {
    const path: NestedField[] = [];
    let cur: number | undefined = id;
    while (cur !== undefined) {
      const f = byId.get(cur);
      if (!f) break;
      path.unshift(f);
      cur = parents.get(cur);
    }
    out.set(id, path);
  }
  return out;
}

/**
 * The struct path to an equality field, searched in the scan's schema first and then in the
 * table's other schemas (newest first), since a delete may name a column dropped since.
 */
function equalityFieldPath(id: number, schema: Schema, metadata: TableMetadata, what: string): NestedField[] {
  const candidates = [schema, ...[...metadata.schemas].reverse()];
  for (const s of candidates) {
    const path = fieldPaths(s).get(id);
    if (!path) continue;
    // Equality fields are primitives reachable through structs only.
    const parentsOk = path.slice(0, -1).every((f) => typeof f.type === 'object' && f.type.type === 'struct');
    const leaf = path[path.length - 1]!;
    if (parentsOk && typeof leaf.type === 'string') return path;
    throw new ValidationError(`query: ${what}: equality field ${id} is not a primitive reachable through structs`);
  }
  throw new ValidationError(`query: ${what}: equality field id ${id} is in no schema of the table`);
}

/**
 * The position deletes of the joined forms, as one anti-join on two integers: each data file with
 * position deletes gets a number and is tagged with it and its row position; each position delete
 * file is read once, its rows joined (on `file_path`, a small join on the delete side) to the
 * numbers of the data files whose planned lists hold it, so a delete applies exactly where the
 * per-file form applies it (the planner's lists: spec, partition and sequence numbers). Joining
 * the big data side on the path text instead was slower than the key anti-join it replaces.
 */
class PositionDeletes {
  constructor(
    private readonly prepare: (file: DataFile, role: string) => Promise<PreparedFile>,
    private readonly vectors: DeletionVectorTable,
  ) {}

  /** Delete file path → its local path and the (data file path, number) pairs it applies to. */
  private readonly files = new Map<string, { localPath: string; targets: string[] }>();

  /** The data file's position tags (number, position), or undefined without position deletes. */
  async tags(task: FileScanTask): Promise<string | undefined> {
    const dels = task.deletes.filter((d) => d.file.content === FileContent.POSITION_DELETES);
    if (dels.length === 0) return undefined;
    const id = this.vectors.newFid();
    for (const d of dels) {
      if (isDeletionVector(d.file)) {
        // The planner gives a data file its vector or its position delete files, never both.
        await this.vectors.add(id, d, task.file);
        continue;
      }
      let f = this.files.get(d.file.file_path);
      if (!f) {
        const prepared = await this.prepare(d.file, 'position delete file');
        checkPositionDeleteFile(prepared, d);
        this.files.set(d.file.file_path, (f = { localPath: prepared.localPath, targets: [] }));
      }
      // file_path holds the path as the manifest wrote it, so compare with the un-remapped path.
      f.targets.push(`(${sqlString(task.file.file_path)}, ${id})`);
    }
    return `${id} AS "__floe_fid", file_row_number AS "__floe_pos"`;
  }

  /** The anti-join (undefined when no data file had position deletes). */
  join(): string | undefined {
    const dels = [...this.files.values()].map(
      (f) =>
        `SELECT m."fid" AS "__floe_pfid", p."pos" AS "__floe_ppos" FROM read_parquet(${sqlString(f.localPath)}, hive_partitioning = false) AS p ` +
        `JOIN (VALUES ${f.targets.join(', ')}) AS m("path", "fid") ON p."file_path" = m."path"`,
    );
    if (this.vectors.used) dels.push(this.vectors.selectSql);
    if (dels.length === 0) return undefined;
    return `ANTI JOIN (${dels.join(' UNION ALL ')}) AS p ON p."__floe_pfid" = d."__floe_fid" AND p."__floe_ppos" = d."__floe_pos"`;
  }
}

/** The position tags of a data file without position deletes (the joined forms' UNION ALL). */
const NO_POSITION_TAGS = 'CAST(NULL AS INTEGER) AS "__floe_fid", CAST(NULL AS BIGINT) AS "__floe_pos"';

function isParquet(f: DataFile): boolean {
  return f.file_format.toUpperCase() === 'PARQUET';
}

/**
 * Reads each file's Parquet schema once (ids from the file, else the table's name mapping, else
 * the names of `schema`): the `prepare` of {@link scanToSql} and {@link equalityDeletePositionsSql}.
 */
function filePreparer(duckdb: DuckDB, io: FileIO, metadata: TableMetadata, schema: Schema): (file: DataFile, role: string) => Promise<PreparedFile> {
  const mappingText = metadata.properties['schema.name-mapping.default'];
  const tableMapping = mappingText ? parseNameMapping(mappingText) : undefined;
  const fallbackMapping = mappingFromSchema(schema);
  const prepared = new Map<string, PreparedFile>();
  return async (file: DataFile, role: string): Promise<PreparedFile> => {
    const key = file.file_path;
    const seen = prepared.get(key);
    if (seen) return seen;
    if (!isParquet(file)) {
      throw new UnsupportedError(`query: ${role} ${file.file_path} is ${file.file_format}; only Parquet files can be read`);
    }
    const localPath = await io.localPath(file.file_path);
    const root = await readFileSchema(duckdb, localPath, `${role} ${file.file_path}`);
    if (!hasFieldIds(root)) {
      // No ids in the file: the table's name mapping, else the names of the scan's schema.
      applyMapping(root, tableMapping ?? fallbackMapping);
    }
    const p = { localPath, root };
    prepared.set(key, p);
    return p;
  };
}

/**
 * The row lineage columns of a task's rows ({@link ScanToSqlOptions.rowLineage}): stored non-null
 * values first, inherited ones otherwise. Needs `file_row_number` from the file's `read_parquet`.
 */
function lineageColumns(task: FileScanTask, data: PreparedFile): string[] {
  const stored = (id: number): string | undefined => {
    const node = data.root.children.find((c) => c.fieldId === id && c.kind === 'primitive');
    return node ? `CAST(${sqlIdent(node.name)} AS BIGINT)` : undefined;
  };
  const first = task.file.first_row_id;
  // Spec: when first_row_id is null, inherited row ids are null too.
  const inheritedId = first == null ? 'CAST(NULL AS BIGINT)' : `(CAST(${first} AS BIGINT) + CAST(file_row_number AS BIGINT))`;
  const inheritedSeq = `CAST(${task.dataSequenceNumber} AS BIGINT)`;
  const coalesce = (s: string | undefined, inherited: string) => (s === undefined ? inherited : `COALESCE(${s}, ${inherited})`);
  const [rowId, seq] = ROW_LINEAGE_FIELDS;
  return [
    `${coalesce(stored(ROW_ID_FIELD_ID), inheritedId)} AS ${sqlIdent(rowId!.name)}`,
    `${coalesce(stored(LAST_UPDATED_SEQUENCE_NUMBER_FIELD_ID), inheritedSeq)} AS ${sqlIdent(seq!.name)}`,
  ];
}

/**
 * Builds a DuckDB SELECT that reads the planned files and yields the table's rows, with the
 * schema's column names (top-level fields, in order) and DuckDB types. Data files with
 * identical layouts and no deletes are read together by one `read_parquet` call.
 * @throws UnsupportedError for non-Parquet data or delete files
 */
export async function scanToSql(opts: ScanToSqlOptions): Promise<string> {
  const { duckdb, io, metadata, schema, tasks } = opts;
  const specs = new Map(metadata['partition-specs'].map((s) => [s['spec-id'], s]));
  const paths = fieldPaths(schema);
  const prepare = filePreparer(duckdb, io, metadata, schema);
  const vectors = opts.deletionVectors ?? new DeletionVectorTable(duckdb, io);

  const columns = schema.fields;
  const lineage = opts.rowLineage === true;
  if (lineage) {
    const clash = columns.find((c) => ROW_LINEAGE_FIELDS.some((l) => l.name === c.name));
    if (clash) throw new ValidationError(`query: column ${clash.name} of schema ${schema['schema-id']} has the name of a row lineage column`);
  }
  // The output columns: the schema's, then the lineage columns when asked for.
  const outputNames = [...columns.map((f) => f.name), ...(lineage ? ROW_LINEAGE_FIELDS.map((f) => f.name) : [])];
  const outputList = outputNames.map(sqlIdent).join(', ');
  const outputOfD = outputNames.map((n) => `d.${sqlIdent(n)}`).join(', ');
  // Every data read numbers its rows when lineage is asked for (the inherited `_row_id`).
  const rowNumbers = lineage ? 'file_row_number = true, ' : '';
  const selects: string[] = [];
  // Grouping of delete-free files: identical select lists over identical file layouts.
  const groups = new Map<string, { selectList: string; paths: string[] }>();

  const withDeletes: DeleteItem[] = [];
  for (const task of tasks) {
    const what = `data file ${task.file.file_path}`;
    const data = await prepare(task.file, 'data file');
    const partitionValues = identityPartitionValues(task, specs.get(task.specId));
    const ctx: ProjectionContext = { what, depth: 0 };
    const projected = columns.map((f) => `${fieldExpr(data.root, [f], partitionValues, ctx)} AS ${sqlIdent(f.name)}`);
    if (lineage) projected.push(...lineageColumns(task, data));

    if (task.deletes.length === 0) {
      const selectList = projected.join(', ');
      const key = JSON.stringify([selectList, data.root]);
      const g = groups.get(key);
      if (g) g.paths.push(data.localPath);
      else groups.set(key, { selectList, paths: [data.localPath] });
      continue;
    }
    withDeletes.push({ task, data, projected, partitionValues, ctx });
  }
  // Equality deletes: one anti-join per key over all the files (`delete-scopes.ts`), unless the
  // tasks' delete lists are not the spec's rule (then one anti-join per data and delete file).
  const scopes = equalityDeleteScopes(
    withDeletes.map((w) => w.task),
    specs,
  );
  if (scopes && scopes.groups.length > 0 && opts.perFileDeletes !== true) {
    selects.push(await selectWithJoinedDeletes(withDeletes, scopes));
  } else if (opts.perFileDeletes !== true && withDeletes.length > 0 && withDeletes.every((w) => w.task.deletes.length === 1 && isDeletionVector(w.task.deletes[0]!.file))) {
    // Deletion vectors only (an upsert table deleting by position): each row is kept or dropped
    // by one bit of its file's vector, no join against the positions.
    selects.push(await selectWithVectorMasks(withDeletes));
  } else if (opts.perFileDeletes !== true && withDeletes.length > 1 && withDeletes.every((w) => w.task.deletes.every((d) => d.file.content === FileContent.POSITION_DELETES))) {
    // Position deletes only (an upsert table once maintenance converted its equality deletes):
    // one anti-join over all the files instead of one per data file.
    selects.push(await selectWithJoinedPositions(withDeletes));
  } else {
    for (const w of withDeletes) selects.push(await selectWithDeletes(w.task, w.data, w.projected, w.partitionValues, w.ctx));
  }

  /**
   * Data files whose only delete is a deletion vector: every row filtered by its file's mask
   * (`DeletionVectorTable.maskSelectSql`), joined by file number, a table of one row per file.
   */
  async function selectWithVectorMasks(items: DeleteItem[]): Promise<string> {
    const branches: string[] = [];
    for (const w of items) {
      const fid = vectors.newFid();
      await vectors.addMask(fid, w.task.deletes[0]!, w.task.file);
      const tags = `CAST(file_row_number AS INTEGER) AS "__floe_pos", ${fid} AS "__floe_fid"`;
      branches.push(`SELECT ${[...w.projected, tags].join(', ')} FROM read_parquet(${sqlString(w.data.localPath)}, file_row_number = true, hive_partitioning = false)`);
    }
    const data = branches.length === 1 ? branches[0]! : branches.map((b) => `(${b})`).join(' UNION ALL ');
    return `SELECT ${outputOfD} FROM (${data}) AS d JOIN (${vectors.maskSelectSql}) AS m ON m."fid" = d."__floe_fid" WHERE get_bit(m."bits", d."__floe_pos") = 0`;
  }

  /** Data files with position deletes only, as one anti-join ({@link PositionDeletes}). */
  async function selectWithJoinedPositions(items: DeleteItem[]): Promise<string> {
    const positions = new PositionDeletes(prepare, vectors);
    const branches: string[] = [];
    for (const w of items) {
      const posTags = (await positions.tags(w.task))!;
      branches.push(`SELECT ${[...w.projected, posTags].join(', ')} FROM read_parquet(${sqlString(w.data.localPath)}, file_row_number = true, hive_partitioning = false)`);
    }
    const data = branches.map((b) => `(${b})`).join(' UNION ALL ');
    return `SELECT ${outputOfD} FROM (${data}) AS d ${positions.join()!}`;
  }

  /** An equality delete file's key columns (`__floe_k_<id>`), checked to be in the file. */
  async function deleteKeyColumns(del: DeleteFileRef, eqPaths: Map<number, NestedField[]>): Promise<{ localPath: string; cols: string }> {
    const f = await prepare(del.file, 'equality delete file');
    const dwhat = `equality delete file ${del.file.file_path}`;
    const cols = (del.file.equality_ids ?? []).map((id) => {
      const path = eqPaths.get(id)!;
      // The delete file must hold every equality column (spec); a missing one is corrupt.
      const expr = fieldExpr(f.root, path, new Map(), { what: dwhat, depth: 0 });
      if (!locate(f.root, path)) throw new ValidationError(`query: ${dwhat}: equality field ${id} is not in the file`);
      return `${expr} AS "__floe_k_${id}"`;
    });
    return { localPath: f.localPath, cols: cols.join(', ') };
  }

  async function selectWithJoinedDeletes(items: DeleteItem[], plan: NonNullable<ReturnType<typeof equalityDeleteScopes>>): Promise<string> {
    const eqIds = [...new Set(plan.groups.flatMap((g) => g.ids))];
    const eqPaths = new Map<number, NestedField[]>();
    for (const id of eqIds) eqPaths.set(id, paths.get(id) ?? equalityFieldPath(id, schema, metadata, 'scan'));
    // Data: each file once, tagged with its data sequence number and scope; files of the same
    // layout, sequence number and scope without position deletes in one read_parquet. Files with
    // position deletes are read alone, tagged with their path and position for one more
    // anti-join (`positionJoin`); the others carry NULLs there, which match nothing.
    const branches: string[] = [];
    const lists = new Map<string, { select: string; paths: string[] }>();
    const positions = new PositionDeletes(prepare, vectors);
    for (const [i, w] of items.entries()) {
      const keys = eqIds.map((id) => `${fieldExpr(w.data.root, eqPaths.get(id)!, w.partitionValues, w.ctx)} AS "__floe_eq_${id}"`);
      const tags = `CAST(${w.task.dataSequenceNumber} AS BIGINT) AS "__floe_seq", ${plan.taskScopes[i]!} AS "__floe_scope"`;
      const posTags = await positions.tags(w.task);
      if (posTags === undefined) {
        const select = [...w.projected, ...keys, tags, NO_POSITION_TAGS].join(', ');
        const key = JSON.stringify([select, w.data.root]);
        const l = lists.get(key);
        if (l) l.paths.push(w.data.localPath);
        else lists.set(key, { select, paths: [w.data.localPath] });
        continue;
      }
      branches.push(
        `SELECT ${[...w.projected, ...keys, tags, posTags].join(', ')} FROM read_parquet(${sqlString(w.data.localPath)}, file_row_number = true, hive_partitioning = false)`,
      );
    }
    for (const l of lists.values()) {
      const source = l.paths.length === 1 ? sqlString(l.paths[0]!) : `[${l.paths.map(sqlString).join(', ')}]`;
      branches.push(`SELECT ${l.select} FROM read_parquet(${source}, ${rowNumbers}hive_partitioning = false)`);
    }
    // Deletes: per key, every delete file read once, in two explicit anti-joins (global deletes;
    // deletes of a scope). Conditions of comparisons only, so DuckDB hashes the key and checks the
    // sequence numbers while probing; a correlated NOT EXISTS with an OR was decorrelated into a
    // join on the distinct (key, sequence number, scope) of the data: 10 times slower.
    const joins: string[] = [];
    let n = 0;
    for (const g of plan.groups) {
      for (const global of [true, false]) {
        const dels: string[] = [];
        for (const { ref, scope } of g.files) {
          if ((scope === GLOBAL_SCOPE) !== global) continue;
          const k = await deleteKeyColumns(ref, eqPaths);
          dels.push(`SELECT ${k.cols}, CAST(${ref.dataSequenceNumber} AS BIGINT) AS "__floe_dseq", ${scope} AS "__floe_dscope" FROM read_parquet(${sqlString(k.localPath)}, hive_partitioning = false)`);
        }
        if (dels.length === 0) continue;
        const e = `e${n++}`;
        const match = g.ids.map((id) => `${e}."__floe_k_${id}" IS NOT DISTINCT FROM d."__floe_eq_${id}"`);
        if (!global) match.push(`${e}."__floe_dscope" = d."__floe_scope"`);
        match.push(`${e}."__floe_dseq" > d."__floe_seq"`);
        joins.push(`ANTI JOIN (${dels.join(' UNION ALL ')}) AS ${e} ON ${match.join(' AND ')}`);
      }
    }
    const posJoin = positions.join();
    if (posJoin !== undefined) joins.push(posJoin);
    const data = branches.length === 1 ? branches[0]! : branches.map((b) => `(${b})`).join(' UNION ALL ');
    return `SELECT ${outputOfD} FROM (${data}) AS d ${joins.join(' ')}`;
  }

  async function selectWithDeletes(
    task: FileScanTask,
    data: PreparedFile,
    projected: string[],
    partitionValues: Map<number, IcebergValue>,
    ctx: ProjectionContext,
  ): Promise<string> {
    const posDeletes = task.deletes.filter((d) => d.file.content === FileContent.POSITION_DELETES);
    const eqDeletes = task.deletes.filter((d) => d.file.content === FileContent.EQUALITY_DELETES);
    const eqIds = [...new Set(eqDeletes.flatMap((d) => d.file.equality_ids ?? []))];
    const inner = [...projected, `file_row_number AS "__floe_pos"`];
    const eqPaths = new Map<number, NestedField[]>();
    for (const id of eqIds) {
      const path = paths.get(id) ?? equalityFieldPath(id, schema, metadata, ctx.what);
      eqPaths.set(id, path);
      inner.push(`${fieldExpr(data.root, path, partitionValues, ctx)} AS "__floe_eq_${id}"`);
    }
    const conditions: string[] = [];
    const vector = posDeletes.find((d) => isDeletionVector(d.file));
    if (vector) {
      // Its own number in the scan's vector table (the planner gives it no position delete file).
      const fid = vectors.newFid();
      await vectors.add(fid, vector, task.file);
      conditions.push(`NOT EXISTS (SELECT 1 FROM (${vectors.selectSql}) AS p WHERE p."__floe_pfid" = ${fid} AND p."__floe_ppos" = d."__floe_pos")`);
    } else if (posDeletes.length > 0) {
      const files = await Promise.all(posDeletes.map((d) => prepare(d.file, 'position delete file')));
      for (const [i, f] of files.entries()) checkPositionDeleteFile(f, posDeletes[i]!);
      const list = `[${files.map((f) => sqlString(f.localPath)).join(', ')}]`;
      // file_path holds the path as the manifest wrote it, so compare with the un-remapped path.
      conditions.push(
        `NOT EXISTS (SELECT 1 FROM read_parquet(${list}, union_by_name = true, hive_partitioning = false) AS p WHERE p."file_path" = ${sqlString(task.file.file_path)} AND p."pos" = d."__floe_pos")`,
      );
    }
    for (const del of eqDeletes) {
      const f = await prepare(del.file, 'equality delete file');
      const dwhat = `equality delete file ${del.file.file_path}`;
      const keys = (del.file.equality_ids ?? []).map((id) => {
        const path = eqPaths.get(id)!;
        // The delete file must hold every equality column (spec); a missing one is corrupt.
        const expr = fieldExpr(f.root, path, new Map(), { what: dwhat, depth: 0 });
        if (!locate(f.root, path)) throw new ValidationError(`query: ${dwhat}: equality field ${id} is not in the file`);
        return { id, expr };
      });
      const cols = keys.map((k) => `${k.expr} AS "__floe_k_${k.id}"`).join(', ');
      const match = keys.map((k) => `e."__floe_k_${k.id}" IS NOT DISTINCT FROM d."__floe_eq_${k.id}"`).join(' AND ');
      conditions.push(`NOT EXISTS (SELECT 1 FROM (SELECT ${cols} FROM read_parquet(${sqlString(f.localPath)}, hive_partitioning = false)) AS e WHERE ${match})`);
    }
    return (
      `SELECT ${outputList} FROM (SELECT ${inner.join(', ')} FROM read_parquet(${sqlString(data.localPath)}, file_row_number = true, hive_partitioning = false)) AS d` +
      (conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '')
    );
  }

  for (const g of groups.values()) {
    const source = g.paths.length === 1 ? sqlString(g.paths[0]!) : `[${g.paths.map(sqlString).join(', ')}]`;
    selects.unshift(`SELECT ${g.selectList} FROM read_parquet(${source}, ${rowNumbers}hive_partitioning = false)`);
  }

  let sql: string;
  if (selects.length === 0) {
    const empty = [...columns, ...(lineage ? ROW_LINEAGE_FIELDS : [])].map((f) => `CAST(NULL AS ${duckdbType(f.type)}) AS ${sqlIdent(f.name)}`).join(', ');
    sql = `SELECT ${empty} WHERE FALSE`;
  } else {
    sql = selects.length === 1 ? selects[0]! : selects.map((s) => `(${s})`).join('\nUNION ALL\n');
  }
  if (opts.filter !== undefined) {
    const bound = isBound(opts.filter) ? opts.filter : bind(opts.filter, schema, opts.caseSensitive ?? true);
    if (bound.op !== 'true') sql = `SELECT * FROM (${sql}) AS t WHERE ${filterToSql(bound, schema)}`;
  }
  await vectors.flush();
  return sql;
}

/** Inputs of {@link equalityDeletePositionsSql}: {@link ScanToSqlOptions} without filter or forms. */
export type DeletePositionsOptions = Pick<ScanToSqlOptions, 'duckdb' | 'io' | 'metadata' | 'schema' | 'tasks' | 'deletionVectors'>;

/**
 * A DuckDB SELECT of the positions of the rows that the tasks' equality deletes delete: columns
 * `file_path` (the data file's path as the manifest wrote it) and `pos` (its `file_row_number`),
 * each position once, unordered. Equality deletes are matched exactly as {@link scanToSql} applies
 * them (the same key expressions, `IS NOT DISTINCT FROM`, the sequence-number and scope rule of
 * `delete-scopes.ts`), as a semi-join where the read has an anti-join: what the read would
 * remove. Rows the tasks' position deletes already delete are left out (a key upserted again
 * would otherwise name its older, already converted positions at every conversion). Undefined when
 * no task has an equality delete, or when the tasks' delete lists are not the spec's rule (tasks
 * not built by the planner).
 * @throws UnsupportedError for non-Parquet data or delete files
 */
export async function equalityDeletePositionsSql(opts: DeletePositionsOptions): Promise<string | undefined> {
  const { duckdb, io, metadata, schema } = opts;
  const specs = new Map(metadata['partition-specs'].map((s) => [s['spec-id'], s]));
  const tasks = opts.tasks.filter((t) => t.deletes.some((d) => d.file.content === FileContent.EQUALITY_DELETES));
  if (tasks.length === 0) return undefined;
  const plan = equalityDeleteScopes(tasks, specs);
  if (!plan || plan.groups.length === 0) return undefined;
  const prepare = filePreparer(duckdb, io, metadata, schema);
  const paths = fieldPaths(schema);
  const eqIds = [...new Set(plan.groups.flatMap((g) => g.ids))];
  const eqPaths = new Map<number, NestedField[]>();
  for (const id of eqIds) eqPaths.set(id, paths.get(id) ?? equalityFieldPath(id, schema, metadata, 'delete positions'));

  const branches: string[] = [];
  const vectors = opts.deletionVectors ?? new DeletionVectorTable(duckdb, io);
  const positions = new PositionDeletes(prepare, vectors);
  for (const [i, t] of tasks.entries()) {
    const data = await prepare(t.file, 'data file');
    const ctx: ProjectionContext = { what: `data file ${t.file.file_path}`, depth: 0 };
    const partitionValues = identityPartitionValues(t, specs.get(t.specId));
    const keys = eqIds.map((id) => `${fieldExpr(data.root, eqPaths.get(id)!, partitionValues, ctx)} AS "__floe_eq_${id}"`);
    // Rows the task's position deletes already delete are left out (one anti-join over all the
    // files, `PositionDeletes`): a position is named once.
    const posTags = (await positions.tags(t)) ?? `CAST(NULL AS INTEGER) AS "__floe_fid", file_row_number AS "__floe_pos"`;
    branches.push(
      `SELECT ${sqlString(t.file.file_path)} AS "__floe_file", ${posTags}, ${keys.join(', ')}, ` +
        `CAST(${t.dataSequenceNumber} AS BIGINT) AS "__floe_seq", ${plan.taskScopes[i]!} AS "__floe_scope" ` +
        `FROM read_parquet(${sqlString(data.localPath)}, file_row_number = true, hive_partitioning = false)`,
    );
  }
  const semis: string[] = [];
  for (const g of plan.groups) {
    for (const global of [true, false]) {
      const dels: string[] = [];
      for (const { ref, scope } of g.files) {
        if ((scope === GLOBAL_SCOPE) !== global) continue;
        const f = await prepare(ref.file, 'equality delete file');
        const dwhat = `equality delete file ${ref.file.file_path}`;
        const cols = (ref.file.equality_ids ?? []).map((id) => {
          const path = eqPaths.get(id)!;
          // The delete file must hold every equality column (spec); a missing one is corrupt.
          if (!locate(f.root, path)) throw new ValidationError(`query: ${dwhat}: equality field ${id} is not in the file`);
          return `${fieldExpr(f.root, path, new Map(), { what: dwhat, depth: 0 })} AS "__floe_k_${id}"`;
        });
        dels.push(
          `SELECT ${cols.join(', ')}, CAST(${ref.dataSequenceNumber} AS BIGINT) AS "__floe_dseq", ${scope} AS "__floe_dscope" FROM read_parquet(${sqlString(f.localPath)}, hive_partitioning = false)`,
        );
      }
      if (dels.length === 0) continue;
      const match = g.ids.map((id) => `e."__floe_k_${id}" IS NOT DISTINCT FROM d."__floe_eq_${id}"`);
      if (!global) match.push(`e."__floe_dscope" = d."__floe_scope"`);
      match.push(`e."__floe_dseq" > d."__floe_seq"`);
      semis.push(`SELECT d."__floe_file" AS "file_path", d."__floe_pos" AS "pos" FROM floe_data AS d SEMI JOIN (${dels.join(' UNION ALL ')}) AS e ON ${match.join(' AND ')}`);
    }
  }
  const union = branches.length === 1 ? branches[0]! : branches.map((b) => `(${b})`).join(' UNION ALL ');
  const posJoin = positions.join();
  await vectors.flush();
  const data = posJoin === undefined ? union : `SELECT d.* FROM (${union}) AS d ${posJoin}`;
  // UNION (not ALL): a row deleted by a global and a scoped delete is one position.
  return `WITH floe_data AS (${data}) ${semis.length === 1 ? semis[0]! : semis.map((s) => `(${s})`).join(' UNION ')}`;
}

/**
 * The rows {@link equalityDeletePositionsSql} finds, by data file path: each file's positions
 * ascending and unique, as one list per file (a row object and a path string per position made a
 * conversion of 600,000 positions spend a second in JavaScript). Empty when no task has an
 * equality delete. `what` starts the error message, `then` ends it.
 * @throws ValidationError when the tasks' delete lists are not the spec's rule
 */
export async function equalityDeletedPositions(opts: Omit<DeletePositionsOptions, 'deletionVectors'>, what: string, then = ''): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  if (!opts.tasks.some((t) => t.deletes.some((d) => d.file.content === FileContent.EQUALITY_DELETES))) return out;
  const vectors = new DeletionVectorTable(opts.duckdb, opts.io);
  try {
    const sql = await equalityDeletePositionsSql({ ...opts, deletionVectors: vectors });
    if (sql === undefined) throw new ValidationError(`${what}: the planned delete files do not follow the spec's sequence-number rule${then}`);
    const rows = await opts.duckdb.all(`SELECT "file_path", list("pos" ORDER BY "pos") AS "positions" FROM (${sql}) AS p GROUP BY "file_path"`);
    for (const r of rows) out.set(String(r['file_path']), (r['positions'] as bigint[]).map(Number));
    return out;
  } finally {
    await vectors.drop();
  }
}

function locate(root: FileNode, path: NestedField[]): FileNode | undefined {
  let node: FileNode | undefined = root;
  for (const f of path) {
    node = node?.kind === 'struct' ? node.children.find((c) => c.fieldId === f.id) : undefined;
    if (!node) return undefined;
  }
  return node;
}

/** Position delete files are read by column name: they must have `file_path` and `pos`. */
function checkPositionDeleteFile(f: PreparedFile, del: DeleteFileRef): void {
  const names = new Set(f.root.children.map((c) => c.name));
  if (!names.has('file_path') || !names.has('pos')) {
    throw new ValidationError(`query: position delete file ${del.file.file_path} lacks the file_path/pos columns`);
  }
}

/**
 * Creates (or replaces) a DuckDB view named `viewName` over the SQL returned by
 * {@link scanToSql}. The view lives in the instance's in-memory catalog, so every connection of
 * `duckdb` sees it; it reads the files anew at each query.
 */
export async function registerTableView(duckdb: DuckDB, viewName: string, sql: string): Promise<void> {
  await duckdb.run(`CREATE OR REPLACE VIEW ${sqlIdent(viewName)} AS ${sql}`);
}

/**
 * Plans a scan of a table (see `planTableScan`) and returns the SQL that reads it, with the scan
 * (chosen snapshot, schema, tasks) for callers that report on it.
 */
export async function tableScanSql(
  duckdb: DuckDB,
  io: FileIO,
  metadata: TableMetadata,
  options: TableScanOptions = {},
): Promise<{ sql: string; scan: TableScan }> {
  const scan = await planTableScan(io, metadata, options);
  const sql = await scanToSql({
    duckdb,
    io,
    metadata,
    schema: scan.schema,
    tasks: scan.tasks,
    ...(scan.filter ? { filter: scan.filter } : {}),
  });
  return { sql, scan };
}

/** Inputs of {@link keyHalvesSql}. */
export interface KeyHalvesOptions {
  duckdb: DuckDB;
  io: FileIO;
  metadata: TableMetadata;
  /** The schema the key field is resolved in (the table's current one). */
  schema: Schema;
  /** The data file (a planned task: its partition supplies identity-partitioned values). */
  task: FileScanTask;
  /** The key column's field id: a top-level `int` or `long` column. */
  keyId: number;
}

/**
 * A DuckDB SELECT of one data file's key column, one row per row of the file in position order:
 * `lo` (UINTEGER) and `hi` (INTEGER), the low and high 32 bits of the key as a BIGINT, and `pos`
 * (its `file_row_number`; DuckDB keeps a plain scan's order, and the reader checks it). Halves rather than the BIGINT: JavaScript reads them as numbers, with
 * no BigInt per row (an upsert writer indexes every key of the table: `table/upsert-vectors.ts`).
 * The key column is found by field id, as every read finds it (renames, name mappings, identity
 * partition values).
 */
export async function keyHalvesSql(opts: KeyHalvesOptions): Promise<string> {
  const { duckdb, io, metadata, schema, task, keyId } = opts;
  const prepare = filePreparer(duckdb, io, metadata, schema);
  const data = await prepare(task.file, 'data file');
  const path = fieldPaths(schema).get(keyId);
  if (!path) throw new ValidationError(`query: key field id ${keyId} is not in schema ${schema['schema-id']}`);
  const spec = metadata['partition-specs'].find((s) => s['spec-id'] === task.specId);
  const key = `CAST(${fieldExpr(data.root, path, identityPartitionValues(task, spec), { what: `data file ${task.file.file_path}`, depth: 0 })} AS BIGINT)`;
  return (
    `SELECT CAST(k & 4294967295 AS UINTEGER) AS "lo", CAST(k >> 32 AS INTEGER) AS "hi", CAST(p AS INTEGER) AS "pos" ` +
    `FROM (SELECT ${key} AS k, file_row_number AS p FROM read_parquet(${sqlString(data.localPath)}, file_row_number = true, hive_partitioning = false))`
  );
}
