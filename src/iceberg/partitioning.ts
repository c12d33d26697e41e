/**
 * Partition specs (`format/spec.md` §Partitioning, Appendix C): parsing, validation against a
 * schema, the partition tuple type used by manifests, Hive-style partition paths, field id
 * assignment and spec evolution (reusing ids of equivalent fields, as the reference
 * implementation does).
 */
import { ValidationError } from '../errors.js';
import type { PartitionField, PartitionSpec } from './metadata.js';
import { columnName, indexById, indexParents } from './schema-index.js';
import { isList, isMap, isPrimitive } from './schema-types.js';
import { applyTransform, canTransform, parseTransform, toHumanString, transformResultType, transformToString } from './transforms.js';
import type { Transform } from './transforms.js';
import type { IcebergType, IcebergValue, NestedField, Schema, StructType } from './types.js';

/** First partition field id; the reference implementation starts every table here. */
export const PARTITION_DATA_ID_START = 1000;

/** A partition field before its id is assigned. */
export type UnboundPartitionField = Omit<PartitionField, 'field-id'> & { 'field-id'?: number };

function fail(what: string | undefined, msg: string): never {
  throw new ValidationError(`partition: ${what ? `${what}: ` : ''}${msg}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readInt(v: unknown, what: string | undefined, label: string): number {
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2147483647) {
    return fail(what, `${label} must be a non-negative int, got ${JSON.stringify(String(v))}`);
  }
  return n;
}

/** The unpartitioned spec (no fields). */
export function unpartitioned(specId = 0): PartitionSpec {
  return { 'spec-id': specId, fields: [] };
}

/** True when a spec has no fields or only `void` fields (every file lands in one partition). */
export function isUnpartitioned(spec: PartitionSpec): boolean {
  return spec.fields.every((f) => parseTransform(f.transform).kind === 'void');
}

/**
 * Parses a partition spec from JSON: the object form `{spec-id, fields}` or the bare field list of
 * v1's `partition-spec` (then `specId`, default 0, is used). Fields without `field-id` (v1) get
 * 1000, 1001, … by position, as the reference implementation assigned them. v3 `source-ids`
 * are kept; `source-id` is then their first entry. Transforms are kept as written.
 */
export function parsePartitionSpec(json: unknown, what?: string, specId = 0): PartitionSpec {
  let id = specId;
  let fieldsJson: unknown = json;
  if (isObject(json)) {
    id = readInt(json['spec-id'], what, '"spec-id"');
    fieldsJson = json.fields;
  }
  if (!Array.isArray(fieldsJson)) return fail(what, 'partition spec "fields" must be a list');
  const fields = fieldsJson.map((fj, i): PartitionField => {
    if (!isObject(fj)) return fail(what, `partition field #${i} must be an object`);
    if (typeof fj.name !== 'string') return fail(what, `partition field #${i} has no string "name"`);
    const label = `partition field '${fj.name}'`;
    if (typeof fj.transform !== 'string') return fail(what, `${label}: "transform" must be a string`);
    let sourceIds: number[] | undefined;
    if (fj['source-ids'] !== undefined && fj['source-ids'] !== null) {
      if (!Array.isArray(fj['source-ids']) || fj['source-ids'].length === 0) return fail(what, `${label}: "source-ids" must be a non-empty list`);
      sourceIds = fj['source-ids'].map((x) => readInt(x, what, `${label}: "source-ids" entry`));
    }
    const sourceId =
      fj['source-id'] !== undefined && fj['source-id'] !== null
        ? readInt(fj['source-id'], what, `${label}: "source-id"`)
        : sourceIds
          ? (sourceIds[0] as number)
          : fail(what, `${label}: missing "source-id"`);
    const fieldId =
      fj['field-id'] === undefined || fj['field-id'] === null
        ? PARTITION_DATA_ID_START + i
        : readInt(fj['field-id'], what, `${label}: "field-id"`);
    parseTransform(fj.transform); // rejects malformed bucket[0] / truncate[0]
    const out: PartitionField = { 'source-id': sourceId, 'field-id': fieldId, name: fj.name, transform: fj.transform };
    if (sourceIds && sourceIds.length > 1) out['source-ids'] = sourceIds;
    return out;
  });
  return { 'spec-id': id, fields };
}

/** Options of {@link validatePartitionSpec}. */
export interface ValidateSpecOptions {
  /**
   * Tolerate fields whose source column no longer exists (historical specs after a column was
   * dropped). Void fields always tolerate it.
   */
  allowMissingSources?: boolean;
  /**
   * Also apply the rules for creating a spec: names must not clash with other schema columns
   * (except identity of that column) and no redundant fields (same source and transform, or two
   * time transforms of one column).
   */
  newSpec?: boolean;
  /** Names the document in error messages. */
  what?: string;
}

/** The source type of a partition field, or undefined when its source column is missing. */
function sourceTypeOf(field: PartitionField, byId: Map<number, NestedField>): IcebergType | undefined {
  return byId.get(field['source-id'])?.type;
}

/**
 * Validates a spec against a schema: field ids ≥ 1000 and unique, names non-empty and unique,
 * each source column exists, is a primitive not nested in a list or map, and its transform applies
 * to its type. Fields with unknown transforms are accepted (readers must ignore them).
 * @throws ValidationError prefixed `partition:`
 */
export function validatePartitionSpec(spec: PartitionSpec, schema: StructType, opts: ValidateSpecOptions = {}): void {
  const what = opts.what;
  const byId = indexById(schema);
  const parents = indexParents(schema);
  const names = new Set<string>();
  const ids = new Set<number>();
  const dedup = new Map<string, string>();
  const topNames = new Map<string, number>();
  for (const [id, f] of byId) if (!parents.has(id)) topNames.set(f.name, id);
  for (const field of spec.fields) {
    const label = `partition field '${field.name}'`;
    if (field.name === '') fail(what, 'partition field names must not be empty');
    if (names.has(field.name)) fail(what, `duplicate partition field name '${field.name}'`);
    names.add(field.name);
    if (!Number.isInteger(field['field-id']) || field['field-id'] < PARTITION_DATA_ID_START) {
      fail(what, `${label}: field-id ${field['field-id']} must be >= ${PARTITION_DATA_ID_START}`);
    }
    if (ids.has(field['field-id'])) fail(what, `duplicate partition field id ${field['field-id']}`);
    ids.add(field['field-id']);
    const transform = parseTransform(field.transform);
    const source = byId.get(field['source-id']);
    if (!source) {
      if (transform.kind === 'void' || opts.allowMissingSources) continue;
      fail(what, `${label}: cannot find source column with id ${field['source-id']}`);
    }
    const sourceName = columnName(schema, source.id) ?? source.name;
    if (!isPrimitive(source.type)) {
      fail(what, `${label}: source column '${sourceName}' is not a primitive type`);
    }
    for (let p = parents.get(source.id); p !== undefined; p = parents.get(p)) {
      const pt = byId.get(p)?.type;
      if (pt && (isList(pt) || isMap(pt))) fail(what, `${label}: source column '${sourceName}' is nested in a list or map`);
    }
    if (transform.kind !== 'unknown' && !canTransform(transform, source.type)) {
      fail(what, `${label}: transform ${field.transform} cannot be applied to '${sourceName}' of type ${source.type}`);
    }
    if (opts.newSpec) {
      const clash = topNames.get(field.name);
      if (clash !== undefined && !(transform.kind === 'identity' && clash === source.id)) {
        fail(what, `${label}: name clashes with schema column '${field.name}' (only identity of that column may reuse it)`);
      }
      if (transform.kind !== 'void') {
        const key = `${source.id}:${['year', 'month', 'day', 'hour'].includes(transform.kind) ? 'time' : transformToString(transform)}`;
        const prev = dedup.get(key);
        if (prev !== undefined) fail(what, `${label}: redundant with partition field '${prev}' on the same source column`);
        dedup.set(key, field.name);
      }
    }
  }
}

/**
 * The partition tuple's struct type (manifest `data_file.partition`, field 102): one optional
 * field per partition field, with the partition field id and the transform's result type. A void
 * field whose source column was dropped is typed `unknown` (its values are always null).
 */
export function partitionType(spec: PartitionSpec, schema: StructType): StructType {
  const byId = indexById(schema);
  return {
    type: 'struct',
    fields: spec.fields.map((f): NestedField => {
      const transform = parseTransform(f.transform);
      const source = sourceTypeOf(f, byId);
      let type: IcebergType;
      if (source === undefined) {
        if (transform.kind === 'void') type = 'unknown';
        else if (transform.kind === 'unknown') type = 'string';
        else fail(undefined, `partition field '${f.name}': cannot find source column with id ${f['source-id']}`);
      } else {
        type = transformResultType(transform, source);
      }
      return { id: f['field-id'], name: f.name, required: false, type };
    }),
  };
}

/**
 * Computes the partition tuple of a row: `valueOf(sourceId)` returns the row's value of a source
 * column. Throws for unknown transforms (writers must not write with them).
 */
export function partitionValues(
  spec: PartitionSpec,
  schema: StructType,
  valueOf: (sourceId: number) => IcebergValue,
): IcebergValue[] {
  const byId = indexById(schema);
  return spec.fields.map((f) => {
    const transform = parseTransform(f.transform);
    if (transform.kind === 'void') return null;
    const source = sourceTypeOf(f, byId);
    if (source === undefined) fail(undefined, `partition field '${f.name}': cannot find source column with id ${f['source-id']}`);
    return applyTransform(transform, source, valueOf(f['source-id']));
  });
}

/** `application/x-www-form-urlencoded` escaping as Java's `URLEncoder` (UTF-8): space → `+`. */
export function escapePathPart(s: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(s)) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-*_]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The Hive-style partition path of a tuple, `name=value` per field joined by `/`
 * (`id_bucket=0/date=2022-01-01`); values use the transforms' human strings, names and values
 * are URL-escaped. Empty for unpartitioned specs.
 */
export function partitionPath(spec: PartitionSpec, schema: StructType, values: readonly IcebergValue[]): string {
  if (values.length !== spec.fields.length) {
    fail(undefined, `partition tuple has ${values.length} values for ${spec.fields.length} fields of spec ${spec['spec-id']}`);
  }
  const byId = indexById(schema);
  return spec.fields
    .map((f, i) => {
      const transform: Transform = parseTransform(f.transform);
      const v = values[i] as IcebergValue;
      const source = sourceTypeOf(f, byId) ?? 'unknown';
      return `${escapePathPart(f.name)}=${escapePathPart(toHumanString(transform, source, v))}`;
    })
    .join('/');
}

/**
 * Assigns ids to fields that have none, counting up from `lastPartitionId` (the table's
 * `last-partition-id`; 999 for a new table so the first field gets 1000).
 */
export function assignPartitionFieldIds(
  fields: readonly UnboundPartitionField[],
  lastPartitionId: number,
): { fields: PartitionField[]; lastPartitionId: number } {
  // Explicit ids first, so a fresh id never collides with one given later in the list.
  let last = fields.reduce((m, f) => Math.max(m, f['field-id'] ?? m), Math.max(lastPartitionId, PARTITION_DATA_ID_START - 1));
  const out = fields.map((f): PartitionField => ({ ...f, 'field-id': f['field-id'] ?? ++last }));
  return { fields: out, lastPartitionId: last };
}

function sameSources(a: { 'source-id': number; 'source-ids'?: number[] }, b: { 'source-id': number; 'source-ids'?: number[] }): boolean {
  const x = a['source-ids'] ?? [a['source-id']];
  const y = b['source-ids'] ?? [b['source-id']];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function sameTransform(a: string, b: string): boolean {
  return transformToString(parseTransform(a)) === transformToString(parseTransform(b));
}

/**
 * Spec equivalence per the spec: same number of fields and, pairwise, the same source ids,
 * transform and name (field ids and spec ids are ignored).
 */
export function specsEquivalent(a: { fields: readonly UnboundPartitionField[] }, b: { fields: readonly UnboundPartitionField[] }): boolean {
  return (
    a.fields.length === b.fields.length &&
    a.fields.every((f, i) => {
      const g = b.fields[i] as UnboundPartitionField;
      return sameSources(f, g) && sameTransform(f.transform, g.transform) && f.name === g.name;
    })
  );
}

/**
 * Builds the spec for a partition-spec change. If an existing spec is equivalent it is returned
 * (`existing: true`) — writers must not add a duplicate spec. Otherwise fields without ids reuse
 * the id of an equivalent field (same source and transform, and same name) from any earlier spec
 * — in format v2+, as the reference implementation does, so partition tuples stay comparable
 * across specs — and the rest get fresh ids after `lastPartitionId`.
 * @param opts.specId id for a new spec; default: one more than the highest existing spec id
 */
export function evolvePartitionSpec(
  fields: readonly UnboundPartitionField[],
  opts: { specs: readonly PartitionSpec[]; lastPartitionId: number; formatVersion?: number; specId?: number },
): { spec: PartitionSpec; lastPartitionId: number; existing: boolean } {
  const same = opts.specs.find((s) => specsEquivalent(s, { fields }));
  if (same) return { spec: same, lastPartitionId: opts.lastPartitionId, existing: true };
  const history = opts.specs.flatMap((s) => s.fields);
  const reuse = (opts.formatVersion ?? 2) >= 2;
  const bound = fields.map((f): UnboundPartitionField => {
    if (f['field-id'] !== undefined || !reuse) return f;
    const prev = history.find((h) => sameSources(h, f) && sameTransform(h.transform, f.transform) && h.name === f.name);
    return prev ? { ...f, 'field-id': prev['field-id'] } : f;
  });
  const assigned = assignPartitionFieldIds(bound, opts.lastPartitionId);
  const specId = opts.specId ?? opts.specs.reduce((m, s) => Math.max(m, s['spec-id'] + 1), 0);
  return { spec: { 'spec-id': specId, fields: assigned.fields }, lastPartitionId: assigned.lastPartitionId, existing: false };
}

/**
 * Default partition field name, as the reference implementation's spec builder names fields:
 * `id` (identity), `id_bucket`, `id_trunc`, `ts_year`, `ts_month`, `ts_day`, `ts_hour`, `id_null` (void).
 */
export function defaultPartitionName(transform: string, sourceName: string): string {
  const t = parseTransform(transform);
  switch (t.kind) {
    case 'identity':
      return sourceName;
    case 'bucket':
      return `${sourceName}_bucket`;
    case 'truncate':
      return `${sourceName}_trunc`;
    case 'void':
      return `${sourceName}_null`;
    case 'unknown':
      return `${sourceName}_${t.text.replace(/[^A-Za-z0-9_]+/g, '_')}`;
    default:
      return `${sourceName}_${t.kind}`;
  }
}

/**
 * Rebinds a spec to another schema by source column name (e.g. a new table's schema after fresh
 * ids were assigned) and renumbers partition field ids from 1000, as a new table's spec is.
 * @throws ValidationError when a source column has no counterpart in `to`
 */
export function reassignPartitionSourceIds(spec: PartitionSpec, from: Schema, to: Schema, specId = spec['spec-id']): PartitionSpec {
  const toIds = new Map<string, number>();
  for (const [id] of indexById(to)) {
    const name = columnName(to, id);
    if (name !== undefined) toIds.set(name, id);
  }
  const mapId = (sourceId: number, fieldName: string): number => {
    const name = columnName(from, sourceId);
    const id = name === undefined ? undefined : toIds.get(name);
    if (id === undefined) fail(undefined, `partition field '${fieldName}': source column ${name === undefined ? `id ${sourceId}` : `'${name}'`} not found in the new schema`);
    return id;
  };
  return {
    'spec-id': specId,
    fields: spec.fields.map((f, i): PartitionField => {
      const out: PartitionField = {
        'source-id': mapId(f['source-id'], f.name),
        'field-id': PARTITION_DATA_ID_START + i,
        name: f.name,
        transform: f.transform,
      };
      if (f['source-ids']) out['source-ids'] = f['source-ids'].map((s) => mapId(s, f.name));
      return out;
    }),
  };
}

/** One-line form of a spec for display: `[1000: id_bucket bucket[16](1), 1001: ts_day day(4)]`. */
export function partitionSpecToString(spec: PartitionSpec): string {
  return `[${spec.fields.map((f) => `${f['field-id']}: ${f.name} ${f.transform}(${(f['source-ids'] ?? [f['source-id']]).join(', ')})`).join(', ')}]`;
}
