/**
 * Table metadata files: parse (format v1, v2, v3), validate, serialize, and create new tables.
 *
 * Parsing follows the reference (Java) parser: the same required fields per format version, the
 * same defaults for older files, and the same error wording (`partition-specs must exist in format
 * v2`, `Cannot find schema with current-schema-id=2 from schemas`), prefixed `metadata: <what>: `.
 * The result is normalized (see {@link TableMetadata}) so that every consumer sees one shape:
 * v1's single `schema` / `partition-spec` become lists with ids, missing lists become empty, every
 * snapshot has a sequence number (0 in v1), and a table with a current snapshot has a `main` ref.
 *
 * Integers that identify snapshots or count sequence numbers stay `bigint` end to end: snapshot
 * ids are random 63-bit values and a double would silently round them.
 */
import { randomUUID } from 'node:crypto';
import { UnsupportedError, ValidationError } from '../errors.js';
import { parseJson, stringifyJson, type JsonValue } from './json.js';
import type {
  EncryptedKey,
  MetadataLogEntry,
  PartitionField,
  PartitionSpec,
  PartitionStatisticsFile,
  Snapshot,
  SnapshotLogEntry,
  SnapshotRef,
  SnapshotSummary,
  SortField,
  SortOrder,
  StatisticsFile,
  TableMetadata,
} from './metadata.js';
import { findSchema, findSpec } from './metadata-lookup.js';
import {
  PARTITION_DATA_ID_START,
  parsePartitionSpec,
  reassignPartitionSourceIds,
  validatePartitionSpec,
} from './partitioning.js';
import { assignFreshTypeIds } from './schema-fresh-ids.js';
import { parseSchema } from './schema-parse.js';
import { findV3Features } from './schema-types.js';
import { parseSortOrder, reassignSortOrderSourceIds, validateSortOrder } from './sort-order.js';
import type { Schema, StructType } from './types.js';

/** Highest format version floe reads. */
export const SUPPORTED_FORMAT_VERSION = 3;
/** Snapshot operations defined by the spec. */
const OPERATIONS: ReadonlySet<string> = new Set(['append', 'replace', 'overwrite', 'delete']);
/** Java tolerates this much clock skew between log entries written by different machines. */
const ONE_MINUTE_MS = 60_000;

/**
 * Table properties that describe the metadata itself rather than configure the table; Java's
 * `TableProperties.RESERVED_PROPERTIES`. They may be passed at creation (e.g. `format-version`)
 * but are never stored.
 */
export const RESERVED_PROPERTIES: readonly string[] = [
  'format-version',
  'uuid',
  'snapshot-count',
  'current-snapshot-id',
  'current-snapshot-summary',
  'current-snapshot-timestamp-ms',
  'current-schema',
  'default-partition-spec',
  'default-sort-order',
];

// ---------------------------------------------------------------------------------------------
// JSON field readers
// ---------------------------------------------------------------------------------------------

type JsonObject = { [key: string]: JsonValue };

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = stringifyJson(v);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}

/**
 * Typed accessors bound to one document, so that every error names the document and the full path
 * of the offending field (`snapshots[2].timestamp-ms`).
 */
class Reader {
  constructor(readonly what: string) {}

  fail(msg: string): never {
    throw new ValidationError(`metadata: ${this.what}: ${msg}`);
  }

  private name(path: string, key: string): string {
    return path ? `${path}.${key}` : key;
  }

  has(obj: JsonObject, key: string): boolean {
    return obj[key] !== undefined && obj[key] !== null;
  }

  /** A 32-bit signed integer. */
  int(obj: JsonObject, key: string, path = ''): number {
    const v = obj[key];
    if (v === undefined || v === null) return this.fail(`missing required field '${this.name(path, key)}'`);
    return this.intValue(v, this.name(path, key));
  }

  optInt(obj: JsonObject, key: string, path = ''): number | undefined {
    const v = obj[key];
    return v === undefined || v === null ? undefined : this.intValue(v, this.name(path, key));
  }

  intValue(v: JsonValue, name: string): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      return this.fail(`'${name}' must be a 32-bit integer, got ${show(v)}`);
    }
    return v;
  }

  /** A 64-bit integer as bigint (ids, sequence numbers, row ids). */
  long(obj: JsonObject, key: string, path = ''): bigint {
    const v = obj[key];
    if (v === undefined || v === null) return this.fail(`missing required field '${this.name(path, key)}'`);
    return this.longValue(v, this.name(path, key));
  }

  optLong(obj: JsonObject, key: string, path = ''): bigint | undefined {
    const v = obj[key];
    return v === undefined || v === null ? undefined : this.longValue(v, this.name(path, key));
  }

  private longValue(v: JsonValue, name: string): bigint {
    let b: bigint | undefined;
    if (typeof v === 'bigint') b = v;
    else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
    if (b === undefined || b < -(2n ** 63n) || b >= 2n ** 63n) {
      return this.fail(`'${name}' must be a 64-bit integer, got ${show(v)}`);
    }
    return b;
  }

  /** A millisecond timestamp or byte size: an integer a double holds exactly. */
  ms(obj: JsonObject, key: string, path = ''): number {
    const v = obj[key];
    if (v === undefined || v === null) return this.fail(`missing required field '${this.name(path, key)}'`);
    return this.safeValue(v, this.name(path, key));
  }

  optMs(obj: JsonObject, key: string, path = ''): number | undefined {
    const v = obj[key];
    return v === undefined || v === null ? undefined : this.safeValue(v, this.name(path, key));
  }

  private safeValue(v: JsonValue, name: string): number {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      return this.fail(`'${name}' must be an integer, got ${show(v)}`);
    }
    return v;
  }

  str(obj: JsonObject, key: string, path = ''): string {
    const v = obj[key];
    if (v === undefined || v === null) return this.fail(`missing required field '${this.name(path, key)}'`);
    if (typeof v !== 'string') return this.fail(`'${this.name(path, key)}' must be a string, got ${show(v)}`);
    return v;
  }

  optStr(obj: JsonObject, key: string, path = ''): string | undefined {
    const v = obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') return this.fail(`'${this.name(path, key)}' must be a string, got ${show(v)}`);
    return v;
  }

  obj(v: JsonValue | undefined, name: string): JsonObject {
    if (!isObject(v)) return this.fail(`'${name}' must be an object, got ${show(v)}`);
    return v;
  }

  arr(v: JsonValue | undefined, name: string): JsonValue[] {
    if (!Array.isArray(v)) return this.fail(`Cannot parse ${name} from non-array: ${show(v)}`);
    return v;
  }

  optArr(obj: JsonObject, key: string, path = ''): JsonValue[] | undefined {
    const v = obj[key];
    return v === undefined || v === null ? undefined : this.arr(v, this.name(path, key));
  }

  intList(v: JsonValue | undefined, name: string): number[] {
    return this.arr(v, name).map((x, i) => this.intValue(x, `${name}[${i}]`));
  }

  /**
   * A string map. `lenient` also accepts numbers and booleans (as their text), which some writers
   * emit in snapshot summaries.
   */
  strMap(v: JsonValue | undefined, name: string, lenient = false): Record<string, string> {
    const o = this.obj(v, name);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(o)) {
      if (typeof x === 'string') out[k] = x;
      else if (lenient && (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean')) out[k] = String(x);
      else this.fail(`'${name}.${k}' must be a string, got ${show(x)}`);
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/**
 * Parses table metadata (a metadata file's text, or already-parsed lossless JSON such as the
 * `metadata` member of a REST LoadTableResult) and validates it.
 *
 * Normalization: v1 `schema` / `partition-spec` become `schemas` / `partition-specs` (ids 0),
 * v1 gets the unsorted order and `last-sequence-number` 0; missing lists and `properties` become
 * empty; `current-snapshot-id` -1 or null means none; every snapshot gets a `sequence-number`
 * (0 when absent); a table with a current snapshot and no `main` ref gets a `main` branch;
 * `statistics` / `partition-statistics` default to empty; v3 `next-row-id` defaults to 0. A v1
 * file without `table-uuid` (written before 2019) yields `''`, which serialization omits again.
 *
 * @param input JSON text, or a value from {@link parseJson} (never `JSON.parse`: it rounds ids)
 * @param what names the document in error messages, e.g. its location
 * @throws ValidationError `metadata: <what>: …`
 */
export function parseTableMetadata(input: string | JsonValue, what = 'table metadata'): TableMetadata {
  const json = typeof input === 'string' ? parseJson(input, what) : input;
  const r = new Reader(what);
  if (!isObject(json)) return r.fail(`Cannot parse metadata from a non-object: ${show(json)}`);
  const node = json;

  const formatVersion = r.int(node, 'format-version');
  if (formatVersion < 1 || formatVersion > SUPPORTED_FORMAT_VERSION) {
    return r.fail(`Cannot read unsupported version ${formatVersion}`);
  }
  const v = formatVersion as 1 | 2 | 3;

  const uuid = r.optStr(node, 'table-uuid');
  if (uuid === undefined && v > 1) r.fail(`table-uuid must exist in format v${v}`);
  const location = r.str(node, 'location');
  const lastSequenceNumber = v > 1 ? r.long(node, 'last-sequence-number') : 0n;
  const lastColumnId = r.int(node, 'last-column-id');

  // Schemas: the list wins over v1's single schema, as in Java.
  let schemas: Schema[];
  let currentSchemaId: number;
  const schemaArray = node.schemas;
  if (schemaArray !== undefined && schemaArray !== null) {
    const list = r.arr(schemaArray, 'schemas');
    currentSchemaId = r.int(node, 'current-schema-id');
    schemas = list.map((s, i) => schemaAt(r, s, `schemas[${i}]`));
    if (!schemas.some((s) => s['schema-id'] === currentSchemaId)) {
      r.fail(`Cannot find schema with current-schema-id=${currentSchemaId} from schemas`);
    }
  } else {
    if (v !== 1) r.fail(`schemas must exist in format v${v}`);
    const s = schemaAt(r, node.schema ?? null, 'v1 schema');
    schemas = [s];
    currentSchemaId = s['schema-id'];
  }

  // Partition specs.
  let specs: PartitionSpec[];
  let defaultSpecId: number;
  const specArray = node['partition-specs'];
  if (specArray !== undefined && specArray !== null) {
    const list = r.arr(specArray, 'partition-specs');
    defaultSpecId = r.int(node, 'default-spec-id');
    specs = list.map((s, i) => within(r, () => parsePartitionSpec(s, `partition-specs[${i}]`)));
    if (specs.length === 0) {
      // Some REST servers send `[]` for an unpartitioned table (iceberg-rust's fixtures do);
      // the only sensible reading is the unpartitioned spec under the declared default id.
      specs = [{ 'spec-id': defaultSpecId, fields: [] }];
    }
  } else {
    if (v !== 1) r.fail(`partition-specs must exist in format v${v}`);
    defaultSpecId = 0;
    const fields = r.arr(node['partition-spec'] ?? null, 'partition-spec');
    specs = [within(r, () => parsePartitionSpec(fields, 'partition-spec', 0))];
  }

  let lastPartitionId = r.optInt(node, 'last-partition-id');
  if (lastPartitionId === undefined) {
    if (v !== 1) r.fail(`last-partition-id must exist in format v${v}`);
    lastPartitionId = Math.max(PARTITION_DATA_ID_START - 1, ...specs.flatMap((s) => s.fields.map((f) => f['field-id'])));
  }

  // Sort orders.
  let sortOrders: SortOrder[];
  let defaultSortOrderId: number;
  const orderArray = node['sort-orders'];
  if (orderArray !== undefined && orderArray !== null) {
    const list = r.arr(orderArray, 'sort-orders');
    defaultSortOrderId = r.int(node, 'default-sort-order-id');
    sortOrders = list.map((o, i) => within(r, () => parseSortOrder(o, `sort-orders[${i}]`)));
  } else {
    if (v !== 1) r.fail(`sort-orders must exist in format v${v}`);
    sortOrders = [{ 'order-id': 0, fields: [] }];
    defaultSortOrderId = 0;
  }

  const properties = r.has(node, 'properties') ? r.strMap(node.properties, 'properties') : {};

  let currentSnapshotId = r.optLong(node, 'current-snapshot-id');
  if (currentSnapshotId === -1n) currentSnapshotId = undefined;
  const lastUpdatedMs = r.ms(node, 'last-updated-ms');

  const refs: Record<string, SnapshotRef> = {};
  if (r.has(node, 'refs')) {
    for (const [name, refJson] of Object.entries(r.obj(node.refs, 'refs'))) {
      refs[name] = parseRef(r, refJson, `refs.${name}`);
    }
  }

  const snapshots = (r.optArr(node, 'snapshots') ?? []).map((s, i) => parseSnapshot(r, s, `snapshots[${i}]`, v));

  const statistics = (r.optArr(node, 'statistics') ?? []).map((s, i) => parseStatistics(r, s, `statistics[${i}]`));
  const partitionStatistics = (r.optArr(node, 'partition-statistics') ?? []).map((s, i) =>
    parsePartitionStatistics(r, s, `partition-statistics[${i}]`),
  );

  const snapshotLog: SnapshotLogEntry[] = (r.optArr(node, 'snapshot-log') ?? []).map((e, i) => {
    const o = r.obj(e, `snapshot-log[${i}]`);
    return { 'timestamp-ms': r.ms(o, 'timestamp-ms', `snapshot-log[${i}]`), 'snapshot-id': r.long(o, 'snapshot-id', `snapshot-log[${i}]`) };
  });
  const metadataLog: MetadataLogEntry[] = (r.optArr(node, 'metadata-log') ?? []).map((e, i) => {
    const o = r.obj(e, `metadata-log[${i}]`);
    return { 'timestamp-ms': r.ms(o, 'timestamp-ms', `metadata-log[${i}]`), 'metadata-file': r.str(o, 'metadata-file', `metadata-log[${i}]`) };
  });

  const md: TableMetadata = {
    'format-version': v,
    'table-uuid': uuid ?? '',
    location,
    'last-sequence-number': lastSequenceNumber,
    'last-updated-ms': lastUpdatedMs,
    'last-column-id': lastColumnId,
    schemas,
    'current-schema-id': currentSchemaId,
    'partition-specs': specs,
    'default-spec-id': defaultSpecId,
    'last-partition-id': lastPartitionId,
    properties,
    snapshots,
    'snapshot-log': snapshotLog,
    'metadata-log': metadataLog,
    'sort-orders': sortOrders,
    'default-sort-order-id': defaultSortOrderId,
    refs,
    statistics,
    'partition-statistics': partitionStatistics,
  };
  if (currentSnapshotId !== undefined) md['current-snapshot-id'] = currentSnapshotId;

  // The main branch and current-snapshot-id say the same thing; older writers only wrote the id.
  const main = refs.main;
  if (currentSnapshotId !== undefined) {
    if (main === undefined) refs.main = { 'snapshot-id': currentSnapshotId, type: 'branch' };
  } else if (main !== undefined) {
    r.fail(`Current snapshot is not set, but main branch exists: snapshot ${main['snapshot-id']}`);
  }

  if (v >= 3) {
    md['next-row-id'] = r.optLong(node, 'next-row-id') ?? 0n;
    const keys = r.optArr(node, 'encryption-keys');
    if (keys !== undefined) md['encryption-keys'] = keys.map((k, i) => parseEncryptedKey(r, k, `encryption-keys[${i}]`));
  }

  validateTableMetadata(md, what);
  return md;
}

/**
 * Runs a parser of a sibling module (`schema:`, `partition:`, `sort-order:` errors) and re-raises
 * its ValidationError under this document's name, so every metadata error names the file.
 */
function within<T>(r: Reader, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(`metadata: ${r.what}: ${e.message}`, { cause: e });
    throw e;
  }
}

function schemaAt(r: Reader, json: JsonValue, path: string): Schema {
  return within(r, () => parseSchema(json, path));
}

function parseRef(r: Reader, json: JsonValue, path: string): SnapshotRef {
  const o = r.obj(json, path);
  const type = r.str(o, 'type', path).toLowerCase();
  if (type !== 'branch' && type !== 'tag') r.fail(`'${path}.type' must be branch or tag, got ${show(o.type)}`);
  const ref: SnapshotRef = { 'snapshot-id': r.long(o, 'snapshot-id', path), type: type as SnapshotRef['type'] };
  const minKeep = r.optInt(o, 'min-snapshots-to-keep', path);
  const maxSnapAge = r.optMs(o, 'max-snapshot-age-ms', path);
  const maxRefAge = r.optMs(o, 'max-ref-age-ms', path);
  if (minKeep !== undefined) ref['min-snapshots-to-keep'] = minKeep;
  if (maxSnapAge !== undefined) ref['max-snapshot-age-ms'] = maxSnapAge;
  if (maxRefAge !== undefined) ref['max-ref-age-ms'] = maxRefAge;
  return ref;
}

function parseSnapshot(r: Reader, json: JsonValue, path: string, v: number): Snapshot {
  const o = r.obj(json, path);
  const id = r.long(o, 'snapshot-id', path);
  let summary: SnapshotSummary;
  if (r.has(o, 'summary')) {
    const map = r.strMap(o.summary, `${path}.summary`, true);
    const op = map.operation;
    if (op === undefined) return r.fail(`missing required field '${path}.summary.operation'`);
    if (!OPERATIONS.has(op)) r.fail(`'${path}.summary.operation' must be append, replace, overwrite or delete, got ${show(op)}`);
    summary = { ...map, operation: op as SnapshotSummary['operation'] };
  } else {
    // v1 allowed snapshots without a summary (and Java reads them in any version). "overwrite" is
    // the conservative reading: it promises nothing, so incremental readers will not mistake the
    // snapshot for a pure append.
    summary = { operation: 'overwrite' };
  }
  const snap: Snapshot = {
    'snapshot-id': id,
    'sequence-number': r.optLong(o, 'sequence-number', path) ?? 0n,
    'timestamp-ms': r.ms(o, 'timestamp-ms', path),
    summary,
  };
  const parent = r.optLong(o, 'parent-snapshot-id', path);
  if (parent !== undefined) snap['parent-snapshot-id'] = parent;
  const manifestList = r.optStr(o, 'manifest-list', path);
  if (manifestList !== undefined) {
    snap['manifest-list'] = manifestList;
  } else if (r.has(o, 'manifests') && v === 1) {
    snap.manifests = r.arr(o.manifests, `${path}.manifests`).map((m, i) => {
      if (typeof m !== 'string') return r.fail(`'${path}.manifests[${i}]' must be a string, got ${show(m)}`);
      return m;
    });
  } else {
    r.fail(`'${path}': manifest-list must exist${v === 1 ? ' (or manifests in format v1)' : ` in format v${v}`}`);
  }
  const schemaId = r.optInt(o, 'schema-id', path);
  if (schemaId !== undefined) snap['schema-id'] = schemaId;
  const firstRowId = r.optLong(o, 'first-row-id', path);
  if (firstRowId !== undefined) snap['first-row-id'] = firstRowId;
  const addedRows = r.optLong(o, 'added-rows', path);
  if (addedRows !== undefined) snap['added-rows'] = addedRows;
  const keyId = r.optStr(o, 'key-id', path);
  if (keyId !== undefined) snap['key-id'] = keyId;
  return snap;
}

function parseStatistics(r: Reader, json: JsonValue, path: string): StatisticsFile {
  const o = r.obj(json, path);
  const blobs = r.arr(o['blob-metadata'] ?? [], `${path}.blob-metadata`).map((bj, i) => {
    const p = `${path}.blob-metadata[${i}]`;
    const b = r.obj(bj, p);
    const blob: StatisticsFile['blob-metadata'][number] = {
      type: r.str(b, 'type', p),
      'snapshot-id': r.long(b, 'snapshot-id', p),
      'sequence-number': r.long(b, 'sequence-number', p),
      fields: r.intList(b.fields, `${p}.fields`),
    };
    if (r.has(b, 'properties')) blob.properties = r.strMap(b.properties, `${p}.properties`);
    return blob;
  });
  const s: StatisticsFile = {
    'snapshot-id': r.long(o, 'snapshot-id', path),
    'statistics-path': r.str(o, 'statistics-path', path),
    'file-size-in-bytes': r.ms(o, 'file-size-in-bytes', path),
    'file-footer-size-in-bytes': r.ms(o, 'file-footer-size-in-bytes', path),
    'blob-metadata': blobs,
  };
  const key = r.optStr(o, 'key-metadata', path);
  if (key !== undefined) s['key-metadata'] = key;
  return s;
}

function parsePartitionStatistics(r: Reader, json: JsonValue, path: string): PartitionStatisticsFile {
  const o = r.obj(json, path);
  return {
    'snapshot-id': r.long(o, 'snapshot-id', path),
    'statistics-path': r.str(o, 'statistics-path', path),
    'file-size-in-bytes': r.ms(o, 'file-size-in-bytes', path),
  };
}

function parseEncryptedKey(r: Reader, json: JsonValue, path: string): EncryptedKey {
  const o = r.obj(json, path);
  const k: EncryptedKey = { 'key-id': r.str(o, 'key-id', path), 'encrypted-key-metadata': r.str(o, 'encrypted-key-metadata', path) };
  const by = r.optStr(o, 'encrypted-by-id', path);
  if (by !== undefined) k['encrypted-by-id'] = by;
  if (r.has(o, 'properties')) k.properties = r.strMap(o.properties, `${path}.properties`);
  return k;
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

function duplicates<T>(values: T[]): T[] {
  const seen = new Set<T>();
  const dup = new Set<T>();
  for (const x of values) (seen.has(x) ? dup : seen).add(x);
  return [...dup];
}

/**
 * Checks the invariants of normalized table metadata: ids unique, defaults and the current
 * schema/snapshot present, refs pointing at existing snapshots, the main branch agreeing with
 * `current-snapshot-id`, sequence numbers not beyond `last-sequence-number`, and logs in time order (with Java's one-minute skew allowance).
 * Parsing and {@link ../update-metadata.ts applyUpdates} both end with this check.
 * @throws ValidationError `metadata: <what>: …`
 */
export function validateTableMetadata(md: TableMetadata, what = 'table metadata'): void {
  const fail = (msg: string): never => {
    throw new ValidationError(`metadata: ${what}: ${msg}`);
  };
  const v = md['format-version'];
  if (v !== 1 && v !== 2 && v !== 3) fail(`Cannot read unsupported version ${String(v)}`);
  if (v > 1 && !md['table-uuid']) fail(`table-uuid must exist in format v${v}`);

  // Schemas.
  if (md.schemas.length === 0) fail('schemas must not be empty');
  const dupSchemas = duplicates(md.schemas.map((s) => s['schema-id']));
  if (dupSchemas.length > 0) fail(`duplicate schema-id ${dupSchemas.join(', ')} in schemas`);
  if (!md.schemas.some((s) => s['schema-id'] === md['current-schema-id'])) {
    fail(`Cannot find schema with current-schema-id=${md['current-schema-id']} from schemas`);
  }
  // last-column-id / last-partition-id below the ids in use are tolerated, as Java does (such
  // files exist in the wild); applyUpdates never hands out ids at or below the ids in use anyway.

  // Partition specs.
  if (md['partition-specs'].length === 0) fail('partition-specs must not be empty');
  const dupSpecs = duplicates(md['partition-specs'].map((s) => s['spec-id']));
  if (dupSpecs.length > 0) fail(`duplicate spec-id ${dupSpecs.join(', ')} in partition-specs`);
  if (!md['partition-specs'].some((s) => s['spec-id'] === md['default-spec-id'])) {
    fail(`Cannot find partition spec with default-spec-id=${md['default-spec-id']} from partition-specs`);
  }
  for (const spec of md['partition-specs']) {
    const dupFields = duplicates(spec.fields.map((f) => f['field-id']));
    if (dupFields.length > 0) fail(`partition spec ${spec['spec-id']}: duplicate field-id ${dupFields.join(', ')}`);
  }

  // Sort orders.
  if (md['sort-orders'].length === 0) fail('sort-orders must not be empty');
  const dupOrders = duplicates(md['sort-orders'].map((o) => o['order-id']));
  if (dupOrders.length > 0) fail(`duplicate order-id ${dupOrders.join(', ')} in sort-orders`);
  for (const o of md['sort-orders']) {
    if (o['order-id'] === 0 && o.fields.length > 0) fail('Sort order ID 0 is reserved for unsorted order');
    if (o['order-id'] !== 0 && o.fields.length === 0) fail(`Unsorted order ID must be 0, got ${o['order-id']}`);
  }
  if (!md['sort-orders'].some((o) => o['order-id'] === md['default-sort-order-id'])) {
    fail(`Cannot find sort order with default-sort-order-id=${md['default-sort-order-id']} from sort-orders`);
  }

  // Snapshots.
  const ids = new Set<bigint>();
  for (const s of md.snapshots) {
    const id = s['snapshot-id'];
    if (ids.has(id)) fail(`duplicate snapshot-id ${id} in snapshots`);
    ids.add(id);
    if (v > 1 && s['manifest-list'] === undefined) fail(`snapshot ${id}: manifest-list must exist in format v${v}`);
    const seq = s['sequence-number'] ?? 0n;
    if (v > 1 && seq > md['last-sequence-number']) {
      fail(`snapshot ${id}: sequence-number ${seq} is greater than last-sequence-number ${md['last-sequence-number']}`);
    }
  }
  const current = md['current-snapshot-id'];
  if (current !== undefined && !ids.has(current)) fail(`current-snapshot-id ${current} is not in snapshots`);
  const main = md.refs.main;
  if (current !== undefined) {
    if (main !== undefined && main['snapshot-id'] !== current) {
      fail(`Current snapshot ID does not match main branch (${current} != ${main['snapshot-id']})`);
    }
  } else if (main !== undefined) {
    fail(`Current snapshot is not set, but main branch exists: snapshot ${main['snapshot-id']}`);
  }
  if (main !== undefined && main.type !== 'branch') fail('ref main must be a branch, not a tag');
  for (const [name, ref] of Object.entries(md.refs)) {
    if (!ids.has(ref['snapshot-id'])) fail(`ref ${name} points to snapshot ${ref['snapshot-id']}, which is not in snapshots`);
    if (ref.type === 'tag' && (ref['min-snapshots-to-keep'] !== undefined || ref['max-snapshot-age-ms'] !== undefined)) {
      fail(`ref ${name}: tags cannot set min-snapshots-to-keep or max-snapshot-age-ms (branch-only retention)`);
    }
  }

  // Logs: sorted in time, and not after last-updated-ms (both with the skew allowance).
  const checkLog = (log: { 'timestamp-ms': number }[], name: string) => {
    let last: number | undefined;
    for (const e of log) {
      if (last !== undefined && e['timestamp-ms'] - last < -ONE_MINUTE_MS) fail(`${name} entries are not sorted by timestamp-ms`);
      last = e['timestamp-ms'];
    }
    if (last !== undefined && md['last-updated-ms'] - last < -ONE_MINUTE_MS) {
      fail(`Invalid update timestamp ${md['last-updated-ms']}: before last ${name} entry at ${last}`);
    }
  };
  checkLog(md['snapshot-log'], 'snapshot log');
  checkLog(md['metadata-log'], 'metadata log');

  if (v >= 3) {
    const next = md['next-row-id'];
    if (next === undefined || next < 0n) fail('next-row-id must be a non-negative integer in format v3');
  }
}

// ---------------------------------------------------------------------------------------------
// v3 features
// ---------------------------------------------------------------------------------------------

/**
 * Lists the format-v3 features a table's metadata actually uses, one readable entry each (empty
 * when none): row lineage in use (`next-row-id` > 0, snapshots with `first-row-id`), v3-only
 * column types and default values (from `schema-types.ts`'s findV3Features), multi-argument transforms,
 * and encryption keys. A v3 table that uses none of these reads exactly like a v2 table, so readers
 * should refuse only what this returns (see {@link assertNoV3Features}).
 */
export function v3OnlyFeatures(md: TableMetadata): string[] {
  const found: string[] = [];
  if ((md['next-row-id'] ?? 0n) > 0n || md.snapshots.some((s) => s['first-row-id'] !== undefined)) {
    found.push('row lineage (next-row-id / first-row-id)');
  }
  const seen = new Set<string>();
  for (const s of md.schemas) {
    for (const f of findV3Features(s)) {
      if (!seen.has(f)) found.push(`schema ${s['schema-id']}: ${f}`);
      seen.add(f);
    }
  }
  for (const spec of md['partition-specs']) {
    for (const f of spec.fields) {
      if ((f['source-ids']?.length ?? 1) > 1) found.push(`multi-argument transform in partition spec ${spec['spec-id']} field ${f.name}`);
    }
  }
  for (const o of md['sort-orders']) {
    for (const f of o.fields) {
      if ((f['source-ids']?.length ?? 1) > 1) found.push(`multi-argument transform in sort order ${o['order-id']}`);
    }
  }
  if ((md['encryption-keys']?.length ?? 0) > 0 || md.snapshots.some((s) => s['key-id'] !== undefined)) {
    found.push('encryption keys');
  }
  return found;
}

/**
 * Throws UnsupportedError `metadata: <what>: table uses v3 feature X, not supported` when the table
 * uses a v3 feature not listed in `allowed` (matched as a prefix of the feature text, e.g.
 * `'row lineage'`).
 */
export function assertNoV3Features(md: TableMetadata, what = 'table metadata', allowed: readonly string[] = []): void {
  const used = v3OnlyFeatures(md).filter((f) => !allowed.some((a) => f.startsWith(a)));
  if (used.length > 0) {
    throw new UnsupportedError(`metadata: ${what}: table uses v3 feature ${used.join('; ')}, not supported`);
  }
}

// ---------------------------------------------------------------------------------------------
// Serialization
// ---------------------------------------------------------------------------------------------

function schemaJson(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = { type: 'struct', 'schema-id': s['schema-id'] };
  if (s['identifier-field-ids'] !== undefined) out['identifier-field-ids'] = s['identifier-field-ids'];
  out.fields = s.fields;
  return out;
}

function specFieldJson(f: PartitionField): Record<string, unknown> {
  const out: Record<string, unknown> = { name: f.name, transform: f.transform, 'source-id': f['source-id'] };
  if (f['source-ids'] !== undefined) out['source-ids'] = f['source-ids'];
  out['field-id'] = f['field-id'];
  return out;
}

function sortFieldJson(f: SortField): Record<string, unknown> {
  const out: Record<string, unknown> = { transform: f.transform, 'source-id': f['source-id'] };
  if (f['source-ids'] !== undefined) out['source-ids'] = f['source-ids'];
  out.direction = f.direction;
  out['null-order'] = f['null-order'];
  return out;
}

function refJson(ref: SnapshotRef): Record<string, unknown> {
  const out: Record<string, unknown> = { 'snapshot-id': ref['snapshot-id'], type: ref.type };
  if (ref['min-snapshots-to-keep'] !== undefined) out['min-snapshots-to-keep'] = ref['min-snapshots-to-keep'];
  if (ref['max-snapshot-age-ms'] !== undefined) out['max-snapshot-age-ms'] = ref['max-snapshot-age-ms'];
  if (ref['max-ref-age-ms'] !== undefined) out['max-ref-age-ms'] = ref['max-ref-age-ms'];
  return out;
}

function snapshotJson(s: Snapshot, v: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seq = s['sequence-number'] ?? 0n;
  // v2 requires the field; v1 has no sequence numbers (Java omits the initial value 0).
  if (v > 1 || seq > 0n) out['sequence-number'] = seq;
  out['snapshot-id'] = s['snapshot-id'];
  if (s['parent-snapshot-id'] !== undefined) out['parent-snapshot-id'] = s['parent-snapshot-id'];
  out['timestamp-ms'] = s['timestamp-ms'];
  const { operation, ...rest } = s.summary;
  out.summary = { operation, ...rest };
  if (s['manifest-list'] !== undefined) out['manifest-list'] = s['manifest-list'];
  if (s.manifests !== undefined) out.manifests = s.manifests;
  if (s['schema-id'] !== undefined) out['schema-id'] = s['schema-id'];
  if (s['first-row-id'] !== undefined) out['first-row-id'] = s['first-row-id'];
  if (s['added-rows'] !== undefined) out['added-rows'] = s['added-rows'];
  if (s['key-id'] !== undefined) out['key-id'] = s['key-id'];
  return out;
}

/**
 * The spec-shaped JSON object of table metadata (bigints kept, for {@link stringifyJson}), for
 * embedding in a larger document such as a REST response. Keys and order follow Java's writer:
 * v1 output also carries the legacy `schema` and `partition-spec` for old readers; v2+ carries
 * `last-sequence-number`; v3 carries `next-row-id`; no current snapshot is written as -1.
 */
export function tableMetadataToJson(md: TableMetadata): Record<string, unknown> {
  const v = md['format-version'];
  const out: Record<string, unknown> = { 'format-version': v };
  if (md['table-uuid']) out['table-uuid'] = md['table-uuid'];
  out.location = md.location;
  if (v > 1) out['last-sequence-number'] = md['last-sequence-number'];
  out['last-updated-ms'] = md['last-updated-ms'];
  out['last-column-id'] = md['last-column-id'];
  if (v >= 3) out['next-row-id'] = md['next-row-id'] ?? 0n;
  if (v === 1) {
    const current = findSchema(md, md['current-schema-id']);
    if (current) out.schema = schemaJson(current);
  }
  out['current-schema-id'] = md['current-schema-id'];
  out.schemas = md.schemas.map(schemaJson);
  if (v === 1) {
    const spec = findSpec(md, md['default-spec-id']);
    out['partition-spec'] = (spec?.fields ?? []).map(specFieldJson);
  }
  out['default-spec-id'] = md['default-spec-id'];
  out['partition-specs'] = md['partition-specs'].map((s) => ({ 'spec-id': s['spec-id'], fields: s.fields.map(specFieldJson) }));
  out['last-partition-id'] = md['last-partition-id'];
  out['default-sort-order-id'] = md['default-sort-order-id'];
  out['sort-orders'] = md['sort-orders'].map((o) => ({ 'order-id': o['order-id'], fields: o.fields.map(sortFieldJson) }));
  out.properties = md.properties;
  out['current-snapshot-id'] = md['current-snapshot-id'] ?? -1;
  out.refs = Object.fromEntries(Object.entries(md.refs).map(([k, ref]) => [k, refJson(ref)]));
  out.snapshots = md.snapshots.map((s) => snapshotJson(s, v));
  out.statistics = md.statistics ?? [];
  out['partition-statistics'] = md['partition-statistics'] ?? [];
  out['snapshot-log'] = md['snapshot-log'].map((e) => ({ 'timestamp-ms': e['timestamp-ms'], 'snapshot-id': e['snapshot-id'] }));
  out['metadata-log'] = md['metadata-log'].map((e) => ({ 'timestamp-ms': e['timestamp-ms'], 'metadata-file': e['metadata-file'] }));
  if (md['encryption-keys'] !== undefined) out['encryption-keys'] = md['encryption-keys'];
  return out;
}

/**
 * Serializes table metadata as a metadata file's JSON text (spec keys; snapshot ids and sequence
 * numbers as exact JSON integers). `parseTableMetadata(serializeTableMetadata(md))` deep-equals
 * any parsed `md`.
 * @param indent pretty-print indentation; files default to 2 (like Java's writer), 0 for compact
 */
export function serializeTableMetadata(md: TableMetadata, indent = 2): string {
  return stringifyJson(tableMetadataToJson(md), indent > 0 ? indent : undefined);
}

// ---------------------------------------------------------------------------------------------
// New tables
// ---------------------------------------------------------------------------------------------

/** Options of {@link newTableMetadata}. */
export interface NewTableOptions {
  location: string;
  /** Field ids are reassigned from 1; the schema id becomes 0. */
  schema: Schema;
  /** Source ids refer to `schema`'s ids; field ids are reassigned from 1000, the spec id becomes 0. */
  partitionSpec?: PartitionSpec;
  /** Source ids refer to `schema`'s ids; the order id becomes 1 (0 when unsorted). */
  sortOrder?: SortOrder;
  /** Reserved properties (e.g. `format-version`) are not stored; see {@link RESERVED_PROPERTIES}. */
  properties?: Record<string, string>;
  /** Defaults to the `format-version` property, else 2. */
  formatVersion?: 1 | 2 | 3;
  /** Defaults to a random UUID. */
  tableUuid?: string;
  /** Creation time; defaults to now. */
  nowMs?: number;
}

/**
 * Creates the metadata of a new, empty table the way Java's `TableMetadata.newTableMetadata` does:
 * column ids are assigned afresh from 1 (in the reference order, so tables created by floe and by
 * Spark from the same DDL get the same ids), partition field ids from 1000, and partition/sort
 * source ids are remapped to the fresh column ids.
 *
 * Like Java since 1.4, `write.parquet.compression-codec=zstd` is stored unless given: the table then
 * states its codec explicitly, so every engine writing to it (not only those whose default is
 * zstd) produces the same files.
 * @throws ValidationError when the schema is invalid (`schema: new table: …`) or the spec or order
 *   does not fit it (`metadata: new table: …`)
 */
export function newTableMetadata(opts: NewTableOptions): TableMetadata {
  const what = 'new table';
  const fail = (msg: string): never => {
    throw new ValidationError(`metadata: ${what}: ${msg}`);
  };
  const rawProps = opts.properties ?? {};
  let formatVersion = opts.formatVersion;
  if (formatVersion === undefined && rawProps['format-version'] !== undefined) {
    const pv = Number(rawProps['format-version']);
    if (pv !== 1 && pv !== 2 && pv !== 3) fail(`unsupported format-version property ${show(rawProps['format-version'])}`);
    formatVersion = pv as 1 | 2 | 3;
  }
  const v = formatVersion ?? 2;
  if (v !== 1 && v !== 2 && v !== 3) fail(`Cannot create table with unsupported format version ${String(v)}`);
  if (!opts.location) fail('location must not be empty');

  // Validate the caller's schema first so errors point at their input, then renumber it.
  const input = parseSchema(opts.schema, what);
  const mapping = new Map<number, number>();
  let lastColumnId = 0;
  const fresh = assignFreshTypeIds({ type: 'struct', fields: input.fields }, () => ++lastColumnId, (o, n) => mapping.set(o, n)) as StructType;
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: fresh.fields };
  const identifiers = input['identifier-field-ids'];
  if (identifiers !== undefined) schema['identifier-field-ids'] = identifiers.map((id) => mapping.get(id) ?? id);
  if (v < 3) {
    const v3 = findV3Features(schema);
    if (v3.length > 0) fail(`schema uses format v3 features, not allowed in format v${v}: ${v3.join('; ')}`);
  }

  // The spec and order refer to the caller's column ids; rebind them to the fresh ids (by column
  // name, which renumbering keeps) and check them against the schema as Java's builders do.
  const r = new Reader(what);
  let spec: PartitionSpec = { 'spec-id': 0, fields: [] };
  if (opts.partitionSpec !== undefined) {
    const given = opts.partitionSpec;
    spec = within(r, () => reassignPartitionSourceIds(given, input, schema, 0));
    within(r, () => validatePartitionSpec(spec, schema, { newSpec: true, what: 'partition spec' }));
  }
  let order: SortOrder = { 'order-id': 0, fields: [] };
  if (opts.sortOrder !== undefined && opts.sortOrder.fields.length > 0) {
    const given = opts.sortOrder;
    order = within(r, () => reassignSortOrderSourceIds(given, input, schema, 1));
    within(r, () => validateSortOrder(order, schema, 'sort order'));
  }
  if (v < 3 && [...spec.fields, ...order.fields].some((f) => (f['source-ids']?.length ?? 1) > 1)) {
    fail(`multi-argument transforms are not allowed in format v${v}`);
  }
  const lastPartitionId = Math.max(PARTITION_DATA_ID_START - 1, ...spec.fields.map((f) => f['field-id']));

  const properties: Record<string, string> = { 'write.parquet.compression-codec': 'zstd' };
  for (const [k, val] of Object.entries(rawProps)) if (!RESERVED_PROPERTIES.includes(k)) properties[k] = val;

  const md: TableMetadata = {
    'format-version': v,
    'table-uuid': opts.tableUuid ?? randomUUID(),
    location: opts.location.replace(/\/+$/, ''),
    'last-sequence-number': 0n,
    'last-updated-ms': opts.nowMs ?? Date.now(),
    'last-column-id': lastColumnId,
    schemas: [schema],
    'current-schema-id': 0,
    'partition-specs': [spec],
    'default-spec-id': 0,
    'last-partition-id': lastPartitionId,
    properties,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [order],
    'default-sort-order-id': order['order-id'],
    refs: {},
    statistics: [],
    'partition-statistics': [],
  };
  if (v >= 3) md['next-row-id'] = 0n;
  validateTableMetadata(md, what);
  return md;
}
