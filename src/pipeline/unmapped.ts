/**
 * Fields of a record that no column maps (`transform.unmapped`, issue #17 part 3), on the general
 * path (the fast path declines a record with a key it does not map, see `RecordScanner`'s
 * `strictKeys`, so records without new fields never come here):
 * - `dead_letter`: the record is a dead letter naming the field (top level, inside an object read
 *   by dotted paths, or inside a struct column);
 * - `add_columns`: a new top-level field becomes an optional column, a new key inside a struct
 *   column (or inside the structs of a list column) a new optional field of it, with a type
 *   inferred from the JSON value (string, long, double, boolean, struct, list); a column added
 *   since the last commit was sealed is widened when a later value needs it (long → double), and
 *   frozen once sealed (Iceberg has no long → double promotion: a later double is then a dead
 *   letter naming the column, from the cast). At most `max_new_columns` new columns (nested
 *   fields count) per commit: a record over it is a dead letter saying so.
 *   The new schema goes into the same commit as the rows (`CommitOptions.schemaChange`).
 * Work is bounded by the schema, never by the record: walks recurse on the schema's (and an
 * inferred type's, at most {@link MAX_INFER_DEPTH}) depth, and a record's value deeper than that
 * is refused, not walked.
 */
import type { IcebergType, IcebergValue, ListType, NestedField, Schema, StructType } from '../iceberg/types.js';
import { addColumn } from '../iceberg/schema-evolution.js';
import { typeToString } from '../iceberg/schema-display.js';
import { isList, isMap, isStruct, typesEqual } from '../iceberg/schema-types.js';
import { columnValues, type ColumnBatch } from '../data/column-batch.js';
import { ValidationError } from '../errors.js';
import { RecordError, type CompiledTransform, type UnmappedPolicy } from './transform.js';

/** Default of `transform.max_new_columns`. */
export const DEFAULT_MAX_NEW_COLUMNS = 100;

/**
 * Default of `transform.max_columns`: every commit that adds columns stores one more schema in the
 * table's metadata, so the metadata grows with columns × schema changes; a bound on the columns
 * bounds it (a flood of keys spread over many commits included).
 */
export const DEFAULT_MAX_COLUMNS = 1000;

/** Deepest object/array nesting a new field's type may have (deeper: a dead letter). */
export const MAX_INFER_DEPTH = 16;

/** Most field names quoted in one dead letter. */
const MAX_NAMED = 5;

/** A key level of the mapping: the record, or an object on a dotted path. */
interface PathNode {
  keys: Map<string, PathNode | Leaf>;
}

/** A column read from the end of a path, with its table type. */
interface Leaf {
  leaf: true;
  id: number;
  type: IcebergType;
  /** Dotted name of the column (for nested additions: the parent's name). */
  name: string;
}

/** A field to add: its parent's dotted name (top level: undefined), its name and inferred type. */
interface NewField {
  parent: string | undefined;
  name: string;
  type: IcebergType;
  label: string;
}

const own = Object.prototype.hasOwnProperty;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function quoteNames(names: string[]): string {
  const shown = names.slice(0, MAX_NAMED).map((n) => `'${quoteLabel(n)}'`);
  return shown.join(', ') + (names.length > MAX_NAMED ? ` and ${names.length - MAX_NAMED} more` : '');
}

/** The number of columns (struct fields at any depth, the field itself included) a type adds. */
function columnCount(t: IcebergType): number {
  return 1 + nestedCount(t);
}

function nestedCount(t: IcebergType): number {
  if (isStruct(t)) return t.fields.reduce((n, f) => n + columnCount(f.type), 0);
  if (isList(t)) return nestedCount(t.element);
  return 0;
}

/** The type of a JSON value (placeholder ids; `addColumn` numbers them), or undefined: no information (null, [], {}). */
export function inferType(v: unknown, label: string, depth = 0): IcebergType | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? 'long' : 'double';
  if (depth >= MAX_INFER_DEPTH) throw new RecordError(`transform: unmapped field '${quoteLabel(label)}': nested deeper than ${MAX_INFER_DEPTH} levels, no column is added for it`);
  if (Array.isArray(v)) {
    let element: IcebergType | undefined;
    for (const x of v) element = mergeTypes(element, inferType(x, `${label}[]`, depth + 1), label);
    return element === undefined ? undefined : { type: 'list', 'element-id': 0, element, 'element-required': false };
  }
  const fields: NestedField[] = [];
  const keys = Object.keys(v as object);
  for (const k of keys) {
    checkName(k, `${label}.${k}`, keys.map((name) => ({ name })));
    const t = inferType((v as Record<string, unknown>)[k], `${label}.${k}`, depth + 1);
    if (t !== undefined) fields.push({ id: 0, name: k, required: false, type: t });
  }
  return fields.length === 0 ? undefined : { type: 'struct', fields };
}

/** Two inferred types as one (long and double: double; structs: their fields' union). */
function mergeTypes(a: IcebergType | undefined, b: IcebergType | undefined, label: string): IcebergType | undefined {
  if (a === undefined) return b;
  if (b === undefined || a === b) return a;
  if ((a === 'long' && b === 'double') || (a === 'double' && b === 'long')) return 'double';
  if (isList(a) && isList(b)) return { ...a, element: mergeTypes(a.element, b.element, `${label}[]`)! };
  if (isStruct(a) && isStruct(b)) {
    const fields = a.fields.map((f) => {
      const g = b.fields.find((x) => x.name === f.name);
      return g ? { ...f, type: mergeTypes(f.type, g.type, `${label}.${f.name}`)! } : f;
    });
    for (const g of b.fields) {
      if (a.fields.some((f) => f.name === g.name)) continue;
      checkName(g.name, `${label}.${g.name}`, fields);
      fields.push(g);
    }
    return { type: 'struct', fields };
  }
  throw new RecordError(`transform: unmapped field '${quoteLabel(label)}': values of different types (${typeToString(a)} and ${typeToString(b)}), no column is added for it`);
}

/** Longest name of a new column (characters). */
export const MAX_NAME_CHARS = 255;

/**
 * A field name that cannot be a column name is a dead letter, never a column that every later
 * write would fail on (the run would stop at every restart): empty, with a `.` (dotted names are
 * paths), a control character or a lone surrogate (Parquet and DuckDB names), too long, or equal
 * but for case to a sibling in `siblings` (DuckDB, which writes the files, folds case).
 */
function checkName(name: string, label: string, siblings: readonly { name: string }[] = []): void {
  let why: string | undefined;
  if (name === '') why = 'an empty name';
  else if (name.includes('.')) why = "a name with '.'";
  // eslint-disable-next-line no-control-regex
  else if (/[\u0000-\u001f\u007f]/.test(name)) why = 'a name with a control character';
  else if (!(name as unknown as { isWellFormed(): boolean }).isWellFormed()) why = 'a name with a lone surrogate';
  else if (name.length > MAX_NAME_CHARS) why = `a name longer than ${MAX_NAME_CHARS} characters`;
  else {
    const folded = name.toLowerCase();
    const other = siblings.find((f) => f.name !== name && f.name.toLowerCase() === folded);
    if (other) why = `a name that differs only in case from the column '${other.name}' (DuckDB, which writes the files, cannot hold both)`;
  }
  if (why !== undefined) throw new RecordError(`transform: unmapped field '${quoteLabel(label)}': ${why} cannot be a column name`);
}

/** A label as a message quotes it: at most 100 characters, control characters escaped. */
function quoteLabel(label: string): string {
  const cut = label.length > 100 ? label.slice(0, 100) + '…' : label;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Replaces the type of the field with id `id` (any depth), for a column not committed yet. */
function replaceType(t: IcebergType, id: number, next: IcebergType): IcebergType {
  if (isStruct(t)) return { type: 'struct', fields: t.fields.map((f) => (f.id === id ? { ...f, type: next } : { ...f, type: replaceType(f.type, id, next) })) };
  if (isList(t)) return { ...t, element: t['element-id'] === id ? next : replaceType(t.element, id, next) };
  if (isMap(t)) return { ...t, value: replaceType(t.value, id, next) };
  return t;
}

/** What one commit's new columns are: the schema to commit with the rows, and what changed in words. */
export interface SealedColumns {
  schema: Schema;
  lastColumnId: number;
  changes: string[];
}

/** The unmapped-field policy of one pipeline, with the columns it added since the last seal. */
export class UnmappedFields {
  /** The schema rows are read with: the table's, plus the columns added and not yet committed. */
  schema: Schema;
  private lastColumnId: number;
  private nextSchemaId: number;
  private root: PathNode = { keys: new Map() };
  /** Field ids added since the last seal: widenable. */
  private pending = new Set<number>();
  private added = 0;
  private changes: string[] = [];
  private readonly maxNew: number;
  private readonly maxColumns: number;

  constructor(
    readonly policy: UnmappedPolicy,
    schema: Schema,
    lastColumnId: number,
    schemaIds: number,
    limits: { maxNewColumns?: number | undefined; maxColumns?: number | undefined } = {},
  ) {
    this.schema = schema;
    this.lastColumnId = lastColumnId;
    this.nextSchemaId = schemaIds;
    this.maxNew = limits.maxNewColumns ?? DEFAULT_MAX_NEW_COLUMNS;
    this.maxColumns = limits.maxColumns ?? DEFAULT_MAX_COLUMNS;
  }

  /** Learns the key tree of a compiled mapping (call after every schema change). */
  learn(transform: CompiledTransform): void {
    const root: PathNode = { keys: new Map() };
    transform.sources.forEach((s, i) => {
      if (s.kind !== 'path') return;
      const field = transform.schema.fields[i]!;
      const segments = s.path.split('.');
      let node = root;
      segments.forEach((seg, k) => {
        if (k === segments.length - 1) {
          node.keys.set(seg, { leaf: true, id: field.id, type: field.type, name: field.name });
          return;
        }
        let next = node.keys.get(seg);
        if (next === undefined || 'leaf' in next) node.keys.set(seg, (next = { keys: new Map() }));
        node = next;
      });
    });
    this.root = root;
  }

  /**
   * Checks a parsed record (an object; anything else is left to the transform). Throws RecordError
   * for a dead letter; true when the schema changed (columns added or widened): the caller then
   * reads the record, and the next ones, with {@link schema}.
   */
  check(obj: unknown): boolean {
    if (!isObject(obj)) return false;
    const unmapped: string[] = [];
    const adds: NewField[] = [];
    const widen: { id: number; label: string }[] = [];
    const add = this.policy === 'add_columns';
    // Objects on dotted paths: the tree's depth bounds this loop (a value's depth is never walked).
    const stack: { value: Record<string, unknown>; node: PathNode; prefix: string }[] = [{ value: obj, node: this.root, prefix: '' }];
    while (stack.length > 0) {
      const { value, node, prefix } = stack.pop()!;
      for (const k of Object.keys(value)) {
        const v = value[k];
        const label = prefix + k;
        const entry = node.keys.get(k);
        if (entry === undefined) {
          if (v === null && add) continue; // nothing to infer from; added when a value comes
          if (add && prefix === '') {
            if (this.schema.fields.some((f) => f.name === k)) {
              throw new RecordError(`transform: unmapped field '${quoteLabel(label)}': the table's column '${k}' does not take its value from this field (it is computed, constant or read from another path)`);
            }
            checkName(k, label, this.schema.fields);
            const type = inferType(v, label);
            if (type !== undefined) adds.push({ parent: undefined, name: k, type, label });
          } else unmapped.push(label);
        } else if ('leaf' in entry) this.checkLeaf(entry.id, entry.type, entry.name, v, label, unmapped, adds, widen, 0);
        else if (isObject(v)) stack.push({ value: v, node: entry, prefix: label + '.' });
      }
    }
    if (unmapped.length > 0) {
      const why = add ? 'no column maps it and add_columns adds top-level fields and fields of struct columns only' : 'no column maps it (transform.unmapped is dead_letter)';
      throw new RecordError(`transform: unmapped field${unmapped.length > 1 ? 's' : ''} ${quoteNames(unmapped)}: ${why}`);
    }
    if (adds.length === 0 && widen.length === 0) return false;
    const count = adds.reduce((n, a) => n + columnCount(a.type), 0);
    if (this.added + count > this.maxNew) {
      throw new RecordError(
        `transform: unmapped field${adds.length > 1 ? 's' : ''} ${quoteNames(adds.map((a) => a.label))}: adding ${count} column${count > 1 ? 's' : ''} would exceed transform.max_new_columns (${this.maxNew} per commit; ${this.added} added to this one)`,
      );
    }
    const columns = nestedCount({ type: 'struct', fields: this.schema.fields });
    if (count > 0 && columns + count > this.maxColumns) {
      throw new RecordError(
        `transform: unmapped field${adds.length > 1 ? 's' : ''} ${quoteNames(adds.map((a) => a.label))}: adding ${count} column${count > 1 ? 's' : ''} would exceed transform.max_columns (${this.maxColumns}; the table has ${columns})`,
      );
    }
    let schema = this.schema;
    let last = this.lastColumnId;
    const changes: string[] = [];
    const pending = new Set(this.pending);
    try {
      for (const w of widen) {
        schema = { ...schema, fields: (replaceType({ type: 'struct', fields: schema.fields }, w.id, 'double') as StructType).fields };
        changes.push(`widened column ${w.label} long → double`);
      }
      for (const a of adds) {
        // New names among themselves (`a` and `A` in one record) and beside the columns added so far.
        const siblings = a.parent === undefined ? schema.fields : adds.filter((b) => b !== a && b.parent === a.parent);
        checkName(a.name, a.label, siblings);
        const before = last;
        const r = addColumn(schema, { ...(a.parent !== undefined ? { parent: a.parent } : {}), name: a.name, type: a.type }, { schemaId: this.nextSchemaId, lastColumnId: last });
        schema = r.schema;
        last = r.lastColumnId;
        for (let id = before + 1; id <= last; id++) pending.add(id);
        changes.push(`added column ${a.label} ${typeToString(a.type).replace(/\b\d+: /g, '')} (optional)`);
      }
    } catch (e) {
      if (e instanceof RecordError || !(e instanceof ValidationError)) throw e;
      throw new RecordError(`transform: unmapped field ${quoteNames(adds.map((a) => a.label))}: ${e.message}`);
    }
    this.schema = { ...schema, 'schema-id': this.nextSchemaId };
    this.lastColumnId = last;
    this.pending = pending;
    this.added += count;
    this.changes.push(...changes);
    return true;
  }

  /**
   * A value read into a column of `type`: new keys of its structs (to add or unmapped), long
   * fields added since the last seal that now need a double. Recurses on the type's depth.
   */
  private checkValue(type: IcebergType, name: string, v: unknown, label: string, unmapped: string[], adds: NewField[], widen: { id: number; label: string }[], depth: number): void {
    if (v === null || v === undefined) return;
    if (isStruct(type)) {
      if (!isObject(v)) return; // the cast refuses it, naming the column
      for (const k of Object.keys(v)) {
        const f = type.fields.find((x) => x.name === k);
        const x = v[k];
        if (f === undefined) {
          if (this.policy !== 'add_columns') unmapped.push(`${label}.${k}`);
          else if (x !== null) {
            checkName(k, `${label}.${k}`, type.fields);
            const t = inferType(x, `${label}.${k}`, depth + 1);
            const seen = adds.find((a) => a.parent === name && a.name === k);
            if (seen) seen.type = mergeTypes(seen.type, t, seen.label)!;
            else if (t !== undefined) adds.push({ parent: name, name: k, type: t, label: `${label}.${k}` });
          }
          continue;
        }
        this.checkLeaf(f.id, f.type, `${name}.${k}`, x, `${label}.${k}`, unmapped, adds, widen, depth + 1);
      }
      return;
    }
    if (isList(type) && Array.isArray(v)) {
      for (const x of v) this.checkLeaf(type['element-id'], type.element, name, x, `${label}[]`, unmapped, adds, widen, depth + 1);
    }
  }

  private checkLeaf(id: number, type: IcebergType, name: string, v: unknown, label: string, unmapped: string[], adds: NewField[], widen: { id: number; label: string }[], depth: number): void {
    if (type === 'long' && typeof v === 'number' && !Number.isInteger(v) && this.pending.has(id)) {
      if (!widen.some((w) => w.id === id)) widen.push({ id, label });
      return;
    }
    this.checkValue(type, name, v, label, unmapped, adds, widen, depth);
  }

  /**
   * The columns added since the last seal, for the commit of the rows read so far; they are frozen
   * from now on (no more widening) and the next commit's count starts at zero. Undefined: none.
   */
  seal(): SealedColumns | undefined {
    const changes = this.changes;
    this.pending = new Set();
    this.added = 0;
    this.changes = [];
    if (changes.length === 0) return undefined;
    this.nextSchemaId++;
    return { schema: this.schema, lastColumnId: this.lastColumnId, changes };
  }
}

/**
 * A value of a column of type `from` as a value of the same column in the later schema `to`
 * (rows buffered before columns were added or widened): struct fields matched by id (a new one
 * null), long → double. Recurses on the type's depth.
 */
export function conformValue(from: IcebergType, to: IcebergType, v: IcebergValue): IcebergValue {
  if (v === null || from === to) return v;
  if (from === 'long' && to === 'double') return Number(v as bigint);
  if (isStruct(from) && isStruct(to) && Array.isArray(v)) {
    return to.fields.map((f) => {
      const k = from.fields.findIndex((g) => g.id === f.id);
      return k < 0 ? null : conformValue(from.fields[k]!.type, f.type, (v[k] ?? null) as IcebergValue);
    });
  }
  if (isList(from) && isList(to) && Array.isArray(v)) return v.map((x) => conformValue((from as ListType).element, to.element, x as IcebergValue));
  return v;
}

/**
 * A batch of rows read with schema `from` as a batch of the later schema `to` (see
 * {@link conformValue}): columns whose type did not change are kept as they are; columns `to`
 * added are absent (null when written).
 */
export function conformBatch(batch: ColumnBatch, from: Schema, to: Schema): ColumnBatch {
  const columns = new Map(batch.columns);
  for (const f of to.fields) {
    const old = from.fields.find((g) => g.id === f.id);
    const given = columns.get(f.id);
    if (old === undefined || given === undefined || typesEqual(old.type, f.type)) continue;
    const values = columnValues(given);
    columns.set(f.id, Array.from({ length: values.length }, (_, r) => conformValue(old.type, f.type, values[r] ?? null)));
  }
  return { length: batch.length, columns };
}

/** A partition tuple as a map key (bytes as hex; the type beside each value: 1 and 1n differ). */
function partitionKey(tuple: readonly IcebergValue[]): string {
  return tuple.map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v) + typeof v)).join('\u0001');
}

/**
 * The groups of one unit read with several schemas (each `add_columns` change starts a new
 * buffer), as one group per partition in the unit's last schema `to`: one file per partition per
 * commit, as without new columns, instead of one per schema change. Values are copied out of
 * their columns (this runs only for a commit that adds columns).
 */
export function mergeGroups(parts: { schema: Schema; groups: { partition: IcebergValue[]; batch: ColumnBatch }[] }[], to: Schema): { partition: IcebergValue[]; batch: ColumnBatch }[] {
  const merged = new Map<string, { partition: IcebergValue[]; batches: ColumnBatch[] }>();
  for (const part of parts) {
    for (const g of part.groups) {
      const key = partitionKey(g.partition);
      let m = merged.get(key);
      if (m === undefined) merged.set(key, (m = { partition: g.partition, batches: [] }));
      m.batches.push(conformBatch(g.batch, part.schema, to));
    }
  }
  return [...merged.values()].map(({ partition, batches }) => {
    if (batches.length === 1) return { partition, batch: batches[0]! };
    const length = batches.reduce((n, b) => n + b.length, 0);
    const columns = new Map<number, IcebergValue[]>();
    for (const f of to.fields) {
      if (!batches.some((b) => b.columns.has(f.id))) continue;
      const out = new Array<IcebergValue>(length);
      let at = 0;
      for (const b of batches) {
        const given = b.columns.get(f.id);
        const values = given === undefined ? undefined : columnValues(given);
        for (let r = 0; r < b.length; r++) out[at++] = values === undefined ? null : (values[r] ?? null);
      }
      columns.set(f.id, out);
    }
    return { partition, batch: { length, columns } };
  });
}
