/**
 * Manifests (spec §Manifests): Avro files of `manifest_entry` records, each describing one data
 * or delete file, with the table schema and partition spec in the file metadata.
 *
 * Reading resolves every field by field id (see {@link RecordView}) and accepts v1, v2 and v3
 * layouts: v1 has no `content` (all files are data), no sequence numbers and a deprecated
 * `block_size_in_bytes`; v3 adds row lineage and deletion-vector fields.
 *
 * Representation rules for {@link DataFile}: optional (`?`) fields are omitted when the file has
 * no value for them (absent column or null), so a written entry reads back deep-equal.
 */
import { ValidationError } from '../../errors.js';
import { stringifyJson } from '../json.js';
import type { DataFile, ManifestEntry, ManifestFile } from '../manifest-types.js';
import type { PartitionSpec } from '../metadata.js';
import type { IcebergValue, PrimitiveType, Schema, StructType } from '../types.js';
import { readAvroFile, writeAvroFile, type AvroCodec } from './container.js';
import { RecordView } from './record-view.js';
import { ENTRY_IDS, manifestEntrySchema, V1_BLOCK_SIZE, type ManifestFormatVersion } from './schemas.js';
import { AvroNames, avroSchemaForPrimitive, avroToIceberg, icebergToAvro, toBuffer } from './values.js';

/** Manifest file metadata, as written in the Avro header (all optional in v1 files). */
export interface ManifestMeta {
  /** `schema`: the table schema JSON at write time. */
  schemaJson?: string;
  /** `schema-id`. */
  schemaId?: number;
  /** `partition-spec`: JSON of the spec's fields array. */
  partitionSpecJson?: string;
  /** `partition-spec-id`. */
  partitionSpecId?: number;
  /** `format-version`. */
  formatVersion?: number;
  /** `content`: what the manifest tracks (absent in v1: always data). */
  content?: 'data' | 'deletes';
}

/** A decoded manifest. */
export interface ManifestContents {
  entries: ManifestEntry[];
  meta: ManifestMeta;
}

/**
 * Decodes a manifest. Entries keep null sequence numbers and snapshot ids as written; apply
 * {@link inheritSequenceNumbers} with the manifest's list entry to resolve them.
 * @param what names the file in error messages (e.g. its location)
 */
export function readManifest(bytes: Uint8Array, what = 'manifest'): ManifestContents {
  const file = readAvroFile(bytes, what);
  const meta = manifestMeta(file.metadata, what);
  const uuidIds = uuidPartitionFieldIds(meta);
  const entries = file.records.map((rec, i) => readEntry(RecordView.of(file.schema.node, rec, `${what}: entry ${i}`), uuidIds));
  return { entries, meta };
}

function manifestMeta(m: Map<string, string>, what: string): ManifestMeta {
  const meta: ManifestMeta = {};
  const int = (key: string): number | undefined => {
    const v = m.get(key);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v.trim())) throw new ValidationError(`avro: ${what}: metadata '${key}' must be an integer, got '${v}'`);
    return Number(v);
  };
  // (Not `iceberg.schema`: Java writes that key too, but it is the manifest_entry struct itself.)
  const schema = m.get('schema');
  if (schema !== undefined) meta.schemaJson = schema;
  const schemaId = int('schema-id');
  if (schemaId !== undefined) meta.schemaId = schemaId;
  const spec = m.get('partition-spec');
  if (spec !== undefined) meta.partitionSpecJson = spec;
  const specId = int('partition-spec-id');
  if (specId !== undefined) meta.partitionSpecId = specId;
  const fv = int('format-version');
  if (fv !== undefined) meta.formatVersion = fv;
  const content = m.get('content');
  if (content !== undefined) {
    if (content !== 'data' && content !== 'deletes') {
      throw new ValidationError(`avro: ${what}: metadata 'content' must be 'data' or 'deletes', got '${content}'`);
    }
    meta.content = content;
  }
  return meta;
}

/**
 * Partition field ids holding identity-transformed uuid columns. Some writers store uuid
 * partition values as a plain `fixed(16)` without the `uuid` logical type; the schema and spec
 * in the file metadata tell us they are uuids. Unparseable metadata simply yields no hints.
 */
function uuidPartitionFieldIds(meta: ManifestMeta): Set<number> {
  const ids = new Set<number>();
  if (meta.schemaJson === undefined || meta.partitionSpecJson === undefined) return ids;
  try {
    const spec = JSON.parse(meta.partitionSpecJson) as unknown;
    const schema = JSON.parse(meta.schemaJson) as unknown;
    const fields = Array.isArray(spec) ? spec : (spec as { fields?: unknown }).fields;
    if (!Array.isArray(fields)) return ids;
    const uuidColumns = new Set<number>();
    const walk = (t: unknown): void => {
      if (t === null || typeof t !== 'object') return;
      const o = t as Record<string, unknown>;
      if (Array.isArray(o.fields)) {
        for (const f of o.fields as Record<string, unknown>[]) {
          if (f.type === 'uuid' && typeof f.id === 'number') uuidColumns.add(f.id);
          walk(f.type);
        }
      }
    };
    walk(schema);
    for (const f of fields as Record<string, unknown>[]) {
      if (f.transform === 'identity' && typeof f['source-id'] === 'number' && uuidColumns.has(f['source-id'])) {
        if (typeof f['field-id'] === 'number') ids.add(f['field-id']);
      }
    }
  } catch {
    // Hints only: the authoritative types come from the Avro schema.
  }
  return ids;
}

function readEntry(e: RecordView, uuidIds: Set<number>): ManifestEntry {
  const I = ENTRY_IDS;
  const status = e.number(I.status, 'status');
  if (status !== 0 && status !== 1 && status !== 2) e.fail(I.status, 'status', `must be 0, 1 or 2, got ${status}`);
  return {
    status,
    snapshot_id: e.optBigint(I.snapshot_id, 'snapshot_id'),
    sequence_number: e.optBigint(I.sequence_number, 'sequence_number'),
    file_sequence_number: e.optBigint(I.file_sequence_number, 'file_sequence_number'),
    data_file: readDataFile(e.record(I.data_file, 'data_file'), uuidIds),
  };
}

function readDataFile(d: RecordView, uuidIds: Set<number>): DataFile {
  const I = ENTRY_IDS;
  const content = d.optNumber(I.content, 'content') ?? 0;
  if (content !== 0 && content !== 1 && content !== 2) d.fail(I.content, 'content', `must be 0, 1 or 2, got ${content}`);
  const partition = d.record(I.partition, 'partition');
  // The partition tuple is the partition record's fields in order (= spec order, with the
  // partition field ids); their Avro types say how to read each value.
  const tuple: IcebergValue[] = partition.node.fields.map((f, k) =>
    avroToIceberg(
      f.node,
      partition.rawAt(k),
      `${d.what}: partition field ${f.fieldId ?? f.name}`,
      f.fieldId !== undefined && uuidIds.has(f.fieldId),
    ),
  );
  const df: DataFile = {
    content,
    file_path: d.string(I.file_path, 'file_path'),
    file_format: d.string(I.file_format, 'file_format'),
    partition: tuple,
    record_count: d.number(I.record_count, 'record_count'),
    file_size_in_bytes: d.number(I.file_size_in_bytes, 'file_size_in_bytes'),
  };
  const counts = (id: number, name: string) => d.optIntMap(id, name, (v) => d.toNumber(v, id, name));
  const bounds = (id: number, name: string) => d.optIntMap(id, name, (v) => d.bytesValue(v, id, name));
  const set = <K extends keyof DataFile>(key: K, v: DataFile[K] | null): void => {
    if (v !== null && v !== undefined) df[key] = v;
  };
  set('column_sizes', counts(I.column_sizes, 'column_sizes'));
  set('value_counts', counts(I.value_counts, 'value_counts'));
  set('null_value_counts', counts(I.null_value_counts, 'null_value_counts'));
  set('nan_value_counts', counts(I.nan_value_counts, 'nan_value_counts'));
  set('lower_bounds', bounds(I.lower_bounds, 'lower_bounds'));
  set('upper_bounds', bounds(I.upper_bounds, 'upper_bounds'));
  set('key_metadata', d.optBytes(I.key_metadata, 'key_metadata'));
  set('split_offsets', d.optNumberList(I.split_offsets, 'split_offsets'));
  set('equality_ids', d.optNumberList(I.equality_ids, 'equality_ids'));
  set('sort_order_id', d.optNumber(I.sort_order_id, 'sort_order_id'));
  set('first_row_id', d.optBigint(I.first_row_id, 'first_row_id'));
  set('referenced_data_file', d.optString(I.referenced_data_file, 'referenced_data_file'));
  set('content_offset', d.optNumber(I.content_offset, 'content_offset'));
  set('content_size_in_bytes', d.optNumber(I.content_size_in_bytes, 'content_size_in_bytes'));
  return df;
}

/**
 * Resolves inherited values of entries read from `manifest` (spec §Sequence Number Inheritance,
 * §First Row ID Inheritance), returning new entry objects:
 * - a null `snapshot_id` becomes the manifest's `added_snapshot_id`;
 * - a null `sequence_number` / `file_sequence_number` becomes the manifest's `sequence_number`
 *   for ADDED entries, and for every entry of a v1 manifest (whose list entry reads as 0);
 * - v3: a data file's null `first_row_id` becomes the manifest's `first_row_id` plus the record
 *   counts of the preceding data files that also had none (data manifests only).
 */
export function inheritSequenceNumbers(entries: readonly ManifestEntry[], manifest: ManifestFile): ManifestEntry[] {
  const seq = manifest.sequence_number;
  let nextRowId = manifest.content === 0 && manifest.first_row_id != null ? manifest.first_row_id : null;
  return entries.map((e) => {
    // Java's rule: v1 metadata never persisted sequence numbers, so everything defaults to 0;
    // in v2+ only ADDED entries may inherit (EXISTING/DELETED must carry theirs explicitly).
    const inherits = seq === 0n || e.status === 1;
    let dataFile = e.data_file;
    if (nextRowId !== null && dataFile.content === 0 && dataFile.first_row_id == null) {
      dataFile = { ...dataFile, first_row_id: nextRowId };
      nextRowId += BigInt(dataFile.record_count);
    }
    return {
      ...e,
      snapshot_id: e.snapshot_id ?? manifest.added_snapshot_id,
      sequence_number: e.sequence_number ?? (inherits ? seq : null),
      file_sequence_number: e.file_sequence_number ?? (inherits ? seq : null),
      data_file: dataFile,
    };
  });
}

/** Options for {@link writeManifest}. */
export interface WriteManifestOptions {
  /** Table format version; decides the entry layout. */
  formatVersion: ManifestFormatVersion;
  /** The partition spec every entry was written with. */
  spec: PartitionSpec;
  /** The table schema (written as `schema` / `schema-id` metadata). */
  schema: Schema;
  /**
   * The spec's partition type (`partitionType(spec, schema)`): one primitive field per spec
   * field, in spec order, with the partition field ids.
   */
  partitionType: StructType;
  /** What the manifest tracks: data files, or position/equality delete files (v2+). */
  content: 'data' | 'deletes';
  entries: readonly ManifestEntry[];
  /**
   * The snapshot writing this manifest: fills null entry `snapshot_id`s (required in v1, where
   * snapshot ids cannot be inherited). Leave unset in v2+ to let ADDED entries inherit.
   */
  snapshotId?: bigint;
  /** Avro codec; default deflate (as Iceberg Java). */
  codec?: AvroCodec;
  /** Fixed 16-byte sync marker (reproducible output in tests); random by default. */
  sync?: Uint8Array;
  /** Names the file in error messages. */
  what?: string;
}

/**
 * Sanitizes a partition field name into a valid Avro name the way Iceberg Java does: a leading
 * digit gets a `_` prefix and any other invalid character becomes `_x` + its hex code (Java also
 * keeps non-ASCII letters; avsc accepts only ASCII names, so those are escaped too — harmless,
 * since readers resolve partition fields by field id).
 */
export function avroFieldName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; ) {
    const cp = name.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    i += ch.length;
    const letter = /[A-Za-z_]/.test(ch);
    const digit = /[0-9]/.test(ch);
    if (out === '' && digit) out += `_${ch}`;
    else if (letter || digit) out += ch;
    else out += `_x${cp.toString(16).toUpperCase()}`;
  }
  return out === '' ? '_' : out;
}

/** The `r102` partition record schema for a spec and its partition type. */
export function partitionAvroSchema(spec: PartitionSpec, partitionType: StructType, what = 'manifest'): Record<string, unknown> {
  if (partitionType.fields.length !== spec.fields.length) {
    throw new ValidationError(
      `avro: ${what}: partition type has ${partitionType.fields.length} fields but spec ${spec['spec-id']} has ${spec.fields.length}`,
    );
  }
  const names = new AvroNames();
  const seen = new Set<string>();
  const fields = spec.fields.map((pf, i) => {
    const t = partitionType.fields[i]!;
    if (t.id !== pf['field-id']) {
      throw new ValidationError(`avro: ${what}: partition type field ${i} has id ${t.id}, spec field '${pf.name}' has ${pf['field-id']}`);
    }
    if (typeof t.type !== 'string') throw new ValidationError(`avro: ${what}: partition field '${pf.name}' must have a primitive type`);
    const name = avroFieldName(pf.name);
    if (seen.has(name)) throw new ValidationError(`avro: ${what}: partition field names collide as Avro name '${name}'`);
    seen.add(name);
    const avro = avroSchemaForPrimitive(t.type, names, `${what}: partition field '${pf.name}'`);
    // Partition values are always nullable (identity of a nullable column, void, …): Java
    // declares every partition field optional regardless of the source column.
    return avro === 'null'
      ? { name, type: 'null', default: null, 'field-id': pf['field-id'] }
      : { name, type: ['null', avro], default: null, 'field-id': pf['field-id'] };
  });
  return { type: 'record', name: 'r102', fields };
}

/**
 * Encodes a manifest with the spec's Avro schema and metadata (`schema`, `schema-id`,
 * `partition-spec`, `partition-spec-id`, `format-version`, and `content` in v2+).
 *
 * Entries are written as given: ADDED entries keep null sequence numbers (inherited from the
 * manifest list at read time). In v2+, EXISTING and DELETED entries must carry both sequence
 * numbers. Fields a format version does not have are refused rather than silently dropped.
 * To also get the manifest-list entry, use `encodeManifest` (summary.ts).
 */
export function writeManifest(opts: WriteManifestOptions): Uint8Array {
  const what = opts.what ?? 'manifest';
  const v = opts.formatVersion;
  if (v !== 1 && v !== 2 && v !== 3) throw new ValidationError(`avro: ${what}: unsupported format version ${String(v)}`);
  if (opts.content !== 'data' && opts.content !== 'deletes') {
    throw new ValidationError(`avro: ${what}: content must be 'data' or 'deletes', got '${String(opts.content)}'`);
  }
  if (v === 1 && opts.content !== 'data') throw new ValidationError(`avro: ${what}: format v1 has no delete manifests`);
  const partition = partitionAvroSchema(opts.spec, opts.partitionType, what);
  const schema = manifestEntrySchema(v, partition);
  const types = opts.partitionType.fields.map((f) => f.type as PrimitiveType);
  const records = opts.entries.map((e, i) => entryRecord(e, i, opts, types, what));
  const specFields = opts.spec.fields.map((f) => ({
    name: f.name,
    transform: f.transform,
    'source-id': f['source-id'],
    ...(f['source-ids'] !== undefined ? { 'source-ids': f['source-ids'] } : {}),
    'field-id': f['field-id'],
  }));
  const metadata: [string, string][] = [
    ['schema', stringifyJson(opts.schema)],
    ['schema-id', String(opts.schema['schema-id'])],
    ['partition-spec', stringifyJson(specFields)],
    ['partition-spec-id', String(opts.spec['spec-id'])],
    ['format-version', String(v)],
  ];
  if (v >= 2) metadata.push(['content', opts.content]);
  return writeAvroFile({
    schema,
    metadata,
    records,
    ...(opts.codec !== undefined ? { codec: opts.codec } : {}),
    ...(opts.sync !== undefined ? { sync: opts.sync } : {}),
    what,
  });
}

function entryRecord(
  e: ManifestEntry,
  i: number,
  opts: WriteManifestOptions,
  partitionTypes: PrimitiveType[],
  what: string,
): Record<string, unknown> {
  const v = opts.formatVersion;
  const at = `${what}: entry ${i} (${e.data_file?.file_path ?? 'no file_path'})`;
  const fail = (msg: string): never => {
    throw new ValidationError(`avro: ${at}: ${msg}`);
  };
  if (e.status !== 0 && e.status !== 1 && e.status !== 2) fail(`status must be 0, 1 or 2, got ${String(e.status)}`);
  const d = e.data_file;
  const content = d.content;
  if (opts.content === 'data' && content !== 0) fail(`data manifests hold only data files (content 0), got content ${content}`);
  if (opts.content === 'deletes' && content !== 1 && content !== 2) fail(`delete manifests hold only delete files (content 1 or 2), got ${content}`);

  const snapshotId = e.snapshot_id ?? opts.snapshotId ?? null;
  if (v === 1 && snapshotId === null) fail('format v1 entries need a snapshot_id (pass snapshotId)');
  if (v >= 2 && e.status !== 1 && (e.sequence_number === null || e.file_sequence_number === null)) {
    fail('EXISTING and DELETED entries must carry sequence_number and file_sequence_number (only ADDED entries inherit)');
  }
  const requireVersion = (field: keyof DataFile, min: number) => {
    if (d[field] !== undefined && d[field] !== null && v < min) fail(`${field} requires format v${min}`);
  };
  requireVersion('equality_ids', 2);
  requireVersion('referenced_data_file', 2);
  requireVersion('first_row_id', 3);
  requireVersion('content_offset', 3);
  requireVersion('content_size_in_bytes', 3);
  if (content === 2 && (d.equality_ids == null || d.equality_ids.length === 0)) fail('equality delete files need equality_ids');

  if (!Array.isArray(d.partition) || d.partition.length !== partitionTypes.length) {
    fail(`partition tuple has ${Array.isArray(d.partition) ? d.partition.length : 'no'} values, spec ${opts.spec['spec-id']} has ${partitionTypes.length} fields`);
  }
  const partition: Record<string, unknown> = {};
  opts.spec.fields.forEach((pf, k) => {
    const t = partitionTypes[k]!;
    const value = d.partition[k] ?? null;
    partition[avroFieldName(pf.name)] = t === 'unknown' ? null : icebergToAvro(t, value, `${at}: partition field '${pf.name}'`);
  });

  const long = (n: number | bigint, field: string): bigint => {
    if (typeof n === 'bigint') return n;
    if (!Number.isSafeInteger(n)) fail(`${field} must be an integer, got ${String(n)}`);
    return BigInt(n);
  };
  const int = (n: number, field: string): number => {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) fail(`${field} must be a 32-bit integer, got ${String(n)}`);
    return n;
  };
  const countMap = (m: Map<number, number> | undefined, field: string) =>
    m === undefined || m === null ? null : [...m].map(([key, value]) => ({ key: int(key, `${field} key`), value: long(value, field) }));
  const bytesMap = (m: Map<number, Uint8Array> | undefined, field: string) =>
    m === undefined || m === null
      ? null
      : [...m].map(([key, value]) => {
          if (!(value instanceof Uint8Array)) fail(`${field} values must be Uint8Array`);
          return { key: int(key, `${field} key`), value: toBuffer(value) };
        });
  const optLong = (n: number | bigint | null | undefined, field: string) => (n === undefined || n === null ? null : long(n, field));

  const df: Record<string, unknown> = {};
  if (v >= 2) df.content = content;
  df.file_path = d.file_path;
  df.file_format = d.file_format;
  df.partition = partition;
  df.record_count = long(d.record_count, 'record_count');
  df.file_size_in_bytes = long(d.file_size_in_bytes, 'file_size_in_bytes');
  if (v === 1) df.block_size_in_bytes = V1_BLOCK_SIZE;
  df.column_sizes = countMap(d.column_sizes, 'column_sizes');
  df.value_counts = countMap(d.value_counts, 'value_counts');
  df.null_value_counts = countMap(d.null_value_counts, 'null_value_counts');
  df.nan_value_counts = countMap(d.nan_value_counts, 'nan_value_counts');
  df.lower_bounds = bytesMap(d.lower_bounds, 'lower_bounds');
  df.upper_bounds = bytesMap(d.upper_bounds, 'upper_bounds');
  df.key_metadata = d.key_metadata == null ? null : toBuffer(d.key_metadata);
  df.split_offsets = d.split_offsets == null ? null : d.split_offsets.map((n) => long(n, 'split_offsets'));
  if (v >= 2) df.equality_ids = d.equality_ids == null ? null : d.equality_ids.map((n) => int(n, 'equality_ids'));
  df.sort_order_id = d.sort_order_id == null ? null : int(d.sort_order_id, 'sort_order_id');
  if (v >= 3) df.first_row_id = optLong(d.first_row_id, 'first_row_id');
  if (v >= 2) df.referenced_data_file = d.referenced_data_file ?? null;
  if (v >= 3) {
    df.content_offset = optLong(d.content_offset, 'content_offset');
    df.content_size_in_bytes = optLong(d.content_size_in_bytes, 'content_size_in_bytes');
  }

  const rec: Record<string, unknown> = { status: e.status, snapshot_id: snapshotId };
  if (v >= 2) {
    rec.sequence_number = e.sequence_number;
    rec.file_sequence_number = e.file_sequence_number;
  }
  rec.data_file = df;
  return rec;
}
