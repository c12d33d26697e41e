/**
 * Reading the JSON bodies of the REST catalog API: responses on the client side, requests on the
 * server side. Each reader checks the shape the spec gives and throws ValidationError naming the
 * field (`catalog: rest: CreateTableRequest: 'name' must be a string`), so a bad request becomes a
 * 400 with a useful message and a bad response a clear client error.
 *
 * Deeper checks (schemas, specs, snapshots, update semantics) are the Iceberg core's:
 * `applyUpdates` accepts spec JSON values directly and validates them.
 */
import { ValidationError } from '../../errors.js';
import type { CommitTableRequest, TableRequirement, TableUpdate } from '../../iceberg/commit.js';
import type { JsonValue } from '../../iceberg/json.js';
import type { PartitionSpec, SortOrder } from '../../iceberg/metadata.js';
import { parseSchema } from '../../iceberg/schema-parse.js';
import type { Schema } from '../../iceberg/types.js';
import type { Namespace, TableIdentifier } from '../catalog.js';

type JsonObject = { [key: string]: JsonValue };

function fail(what: string, msg: string): never {
  throw new ValidationError(`catalog: rest: ${what}: ${msg}`);
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'bigint') return v.toString();
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The value as a JSON object. */
export function asObject(v: unknown, what: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(what, `expected a JSON object, got ${show(v)}`);
  return v as JsonObject;
}

/** A required string member. */
export function str(o: JsonObject, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') fail(what, `'${key}' must be a string, got ${show(v)}`);
  return v;
}

/** An optional string member (absent or null → undefined). */
export function optStr(o: JsonObject, key: string, what: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(what, `'${key}' must be a string, got ${show(v)}`);
  return v;
}

function int(o: JsonObject, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(what, `'${key}' must be an integer, got ${show(v)}`);
  return v;
}

function long(o: JsonObject, key: string, what: string, nullable = false): bigint | null {
  const v = o[key];
  if (v === null && nullable) return null;
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return fail(what, `'${key}' must be an integer${nullable ? ' or null' : ''}, got ${show(v)}`);
}

function bool(o: JsonObject, key: string, what: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') fail(what, `'${key}' must be a boolean, got ${show(v)}`);
  return v;
}

/** A string → string map (absent or null → `{}` when optional). */
export function stringMap(v: unknown, what: string, optional = true): Record<string, string> {
  if ((v === undefined || v === null) && optional) return {};
  const o = asObject(v, what);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== 'string') fail(what, `property '${k}' must be a string, got ${show(val)}`);
    out[k] = val;
  }
  return out;
}

/** A list of strings. */
export function stringList(v: unknown, what: string, optional = true): string[] {
  if ((v === undefined || v === null) && optional) return [];
  if (!Array.isArray(v)) fail(what, `expected a list of strings, got ${show(v)}`);
  return v.map((x, i) => (typeof x === 'string' ? x : fail(what, `item ${i} must be a string, got ${show(x)}`)));
}

/** A namespace: a non-empty list of non-empty strings. */
export function namespaceOf(v: unknown, what: string): Namespace {
  const levels = stringList(v, what, false);
  if (levels.length === 0 || levels.some((l) => l.length === 0)) fail(what, `a namespace needs one or more non-empty levels, got ${show(v)}`);
  return levels;
}

/** A TableIdentifier (`{ namespace, name }`). */
export function identifierOf(v: unknown, what: string): TableIdentifier {
  const o = asObject(v, what);
  const name = str(o, 'name', what);
  if (name.length === 0) fail(what, "'name' must not be empty");
  return { namespace: namespaceOf(o.namespace, `${what}.namespace`), name };
}

// ---------------------------------------------------------------------------------------------
// Requests (server side)
// ---------------------------------------------------------------------------------------------

/** CreateNamespaceRequest. */
export function parseCreateNamespaceRequest(json: unknown): { namespace: Namespace; properties: Record<string, string> } {
  const what = 'CreateNamespaceRequest';
  const o = asObject(json, what);
  return { namespace: namespaceOf(o.namespace, `${what}.namespace`), properties: stringMap(o.properties, `${what}.properties`) };
}

/** UpdateNamespacePropertiesRequest. */
export function parseUpdateNamespacePropertiesRequest(json: unknown): { removals: string[]; updates: Record<string, string> } {
  const what = 'UpdateNamespacePropertiesRequest';
  const o = asObject(json, what);
  return { removals: stringList(o.removals, `${what}.removals`), updates: stringMap(o.updates, `${what}.updates`) };
}

/** RenameTableRequest. */
export function parseRenameTableRequest(json: unknown): { source: TableIdentifier; destination: TableIdentifier } {
  const what = 'RenameTableRequest';
  const o = asObject(json, what);
  return { source: identifierOf(o.source, `${what}.source`), destination: identifierOf(o.destination, `${what}.destination`) };
}

/** RegisterTableRequest. */
export function parseRegisterTableRequest(json: unknown): { name: string; metadataLocation: string; overwrite: boolean } {
  const what = 'RegisterTableRequest';
  const o = asObject(json, what);
  const name = str(o, 'name', what);
  if (name.length === 0) fail(what, "'name' must not be empty");
  return { name, metadataLocation: str(o, 'metadata-location', what), overwrite: bool(o, 'overwrite', what) ?? false };
}

/** A CreateTableRequest, with the spec's optional field ids filled in. */
export interface ParsedCreateTableRequest {
  name: string;
  location?: string;
  schema: Schema;
  partitionSpec?: PartitionSpec;
  sortOrder?: SortOrder;
  stageCreate: boolean;
  properties: Record<string, string>;
}

function partitionSpecOf(v: unknown, what: string): PartitionSpec {
  const o = asObject(v, what);
  if (!Array.isArray(o.fields)) fail(what, `'fields' must be a list, got ${show(o.fields)}`);
  const fields = o.fields.map((f, i) => {
    const w = `${what}.fields[${i}]`;
    const fo = asObject(f, w);
    const fieldId = fo['field-id'] === undefined || fo['field-id'] === null ? 1000 + i : int(fo, 'field-id', w);
    return { 'source-id': int(fo, 'source-id', w), 'field-id': fieldId, name: str(fo, 'name', w), transform: str(fo, 'transform', w) };
  });
  return { 'spec-id': o['spec-id'] === undefined ? 0 : int(o, 'spec-id', what), fields };
}

function sortOrderOf(v: unknown, what: string): SortOrder {
  const o = asObject(v, what);
  if (!Array.isArray(o.fields)) fail(what, `'fields' must be a list, got ${show(o.fields)}`);
  const fields = o.fields.map((f, i) => {
    const w = `${what}.fields[${i}]`;
    const fo = asObject(f, w);
    const direction = str(fo, 'direction', w);
    const nullOrder = str(fo, 'null-order', w);
    if (direction !== 'asc' && direction !== 'desc') fail(w, `'direction' must be asc or desc, got ${show(direction)}`);
    if (nullOrder !== 'nulls-first' && nullOrder !== 'nulls-last') fail(w, `'null-order' must be nulls-first or nulls-last, got ${show(nullOrder)}`);
    return { 'source-id': int(fo, 'source-id', w), transform: str(fo, 'transform', w), direction, 'null-order': nullOrder } as SortOrder['fields'][number];
  });
  return { 'order-id': o['order-id'] === undefined ? (fields.length ? 1 : 0) : int(o, 'order-id', what), fields };
}

/** CreateTableRequest. */
export function parseCreateTableRequest(json: unknown): ParsedCreateTableRequest {
  const what = 'CreateTableRequest';
  const o = asObject(json, what);
  const name = str(o, 'name', what);
  if (name.length === 0) fail(what, "'name' must not be empty");
  let schema: Schema;
  try {
    schema = parseSchema(o.schema, `${what}.schema`);
  } catch (e) {
    throw new ValidationError(`catalog: rest: ${(e as Error).message}`, { cause: e });
  }
  const location = optStr(o, 'location', what);
  return {
    name,
    ...(location !== undefined ? { location } : {}),
    schema,
    ...(o['partition-spec'] !== undefined && o['partition-spec'] !== null ? { partitionSpec: partitionSpecOf(o['partition-spec'], `${what}.partition-spec`) } : {}),
    ...(o['write-order'] !== undefined && o['write-order'] !== null ? { sortOrder: sortOrderOf(o['write-order'], `${what}.write-order`) } : {}),
    stageCreate: bool(o, 'stage-create', what) ?? false,
    properties: stringMap(o.properties, `${what}.properties`),
  };
}

/** Required members per requirement type (beyond `type`). */
const REQUIREMENT_FIELDS: Record<TableRequirement['type'], (o: JsonObject, w: string) => void> = {
  'assert-create': () => undefined,
  'assert-table-uuid': (o, w) => void str(o, 'uuid', w),
  'assert-ref-snapshot-id': (o, w) => {
    str(o, 'ref', w);
    if (!('snapshot-id' in o)) fail(w, "'snapshot-id' is required (null when the ref must not exist)");
    long(o, 'snapshot-id', w, true);
  },
  'assert-last-assigned-field-id': (o, w) => void int(o, 'last-assigned-field-id', w),
  'assert-current-schema-id': (o, w) => void int(o, 'current-schema-id', w),
  'assert-last-assigned-partition-id': (o, w) => void int(o, 'last-assigned-partition-id', w),
  'assert-default-spec-id': (o, w) => void int(o, 'default-spec-id', w),
  'assert-default-sort-order-id': (o, w) => void int(o, 'default-sort-order-id', w),
};

/** Required members per update action (beyond `action`). */
const UPDATE_FIELDS: Record<TableUpdate['action'], (o: JsonObject, w: string) => void> = {
  'assign-uuid': (o, w) => void str(o, 'uuid', w),
  'upgrade-format-version': (o, w) => void int(o, 'format-version', w),
  'add-schema': (o, w) => void asObject(o.schema, `${w}.schema`),
  'set-current-schema': (o, w) => void int(o, 'schema-id', w),
  'add-spec': (o, w) => void asObject(o.spec, `${w}.spec`),
  'set-default-spec': (o, w) => void int(o, 'spec-id', w),
  'add-sort-order': (o, w) => void asObject(o['sort-order'], `${w}.sort-order`),
  'set-default-sort-order': (o, w) => void int(o, 'sort-order-id', w),
  'add-snapshot': (o, w) => void asObject(o.snapshot, `${w}.snapshot`),
  'set-snapshot-ref': (o, w) => {
    str(o, 'ref-name', w);
    str(o, 'type', w);
    long(o, 'snapshot-id', w);
  },
  'remove-snapshots': (o, w) => {
    if (!Array.isArray(o['snapshot-ids'])) fail(w, `'snapshot-ids' must be a list, got ${show(o['snapshot-ids'])}`);
  },
  'remove-snapshot-ref': (o, w) => void str(o, 'ref-name', w),
  'set-location': (o, w) => void str(o, 'location', w),
  'set-properties': (o, w) => void stringMap(o.updates, `${w}.updates`, false),
  'remove-properties': (o, w) => void stringList(o.removals, `${w}.removals`, false),
  'set-statistics': (o, w) => void asObject(o.statistics, `${w}.statistics`),
  'remove-statistics': (o, w) => void long(o, 'snapshot-id', w),
  'set-partition-statistics': (o, w) => void asObject(o['partition-statistics'], `${w}.partition-statistics`),
  'remove-partition-statistics': (o, w) => void long(o, 'snapshot-id', w),
};

/**
 * CommitTableRequest. Unknown requirement types and update actions are rejected (the spec
 * requires a 400 for them), as are the spec's updates this catalog does not implement.
 */
export function parseCommitTableRequest(json: unknown): CommitTableRequest {
  const what = 'CommitTableRequest';
  const o = asObject(json, what);
  if (!Array.isArray(o.requirements)) fail(what, `'requirements' must be a list, got ${show(o.requirements)}`);
  if (!Array.isArray(o.updates)) fail(what, `'updates' must be a list, got ${show(o.updates)}`);
  const requirements = o.requirements.map((r, i) => {
    const w = `${what}.requirements[${i}]`;
    const ro = asObject(r, w);
    const type = str(ro, 'type', w);
    const check = Object.hasOwn(REQUIREMENT_FIELDS, type) ? REQUIREMENT_FIELDS[type as TableRequirement['type']] : undefined;
    if (!check) fail(w, `unknown requirement type '${type}'`);
    check(ro, w);
    return ro as unknown as TableRequirement;
  });
  const updates = o.updates.map((u, i) => {
    const w = `${what}.updates[${i}]`;
    const uo = asObject(u, w);
    const action = str(uo, 'action', w);
    const check = Object.hasOwn(UPDATE_FIELDS, action) ? UPDATE_FIELDS[action as TableUpdate['action']] : undefined;
    if (!check) fail(w, `unknown or unsupported update action '${action}'`);
    check(uo, w);
    return uo as unknown as TableUpdate;
  });
  const out: CommitTableRequest = { requirements, updates };
  if (o.identifier !== undefined && o.identifier !== null) out.identifier = identifierOf(o.identifier, `${what}.identifier`);
  return out;
}
