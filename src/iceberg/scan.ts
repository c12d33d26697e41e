/**
 * Scan planning (`format/spec.md` §Scan Planning): from a snapshot's manifests to the data files
 * a scan must read, each with the delete files that apply to it.
 *
 * Pure: manifest lists and manifests are loaded through callbacks, so the same planner serves
 * any storage (the I/O side is `query/table-scan.ts`).
 *
 * Delete-file scoping follows the spec:
 * - a position delete file applies to a data file when the data file's data sequence number is
 *   <= the delete's, both are in the same spec and partition, and (when the delete names one)
 *   `referenced_data_file` is that data file;
 * - an equality delete file applies when the data file's data sequence number is strictly less
 *   than the delete's and both are in the same spec and partition, or the delete file's spec is
 *   unpartitioned (a global delete);
 * - a deletion vector (v3: a Puffin blob, `content_offset` / `content_size_in_bytes`) applies
 *   when its `referenced_data_file` is the data file, the data file's data sequence number is <=
 *   the vector's, and both are in the same spec and partition. At most one applies to a data
 *   file, and when one does, position delete files are ignored for it (the writer of a vector
 *   must merge them into it).
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { bind, isBound } from './expression-binding.js';
import { manifestEvaluator, metricsEvaluator, partitionEvaluator } from './expression-evaluators.js';
import type { BoundExpression, Expression } from './expressions.js';
import { inheritSequenceNumbers } from './avro/manifest.js';
import {
  deletionVectorKey,
  EntryStatus,
  FileContent,
  isDeletionVector,
  ManifestContent,
  type DataFile,
  type ManifestEntry,
  type ManifestFile,
} from './manifest-types.js';
import type { PartitionSpec, Snapshot, TableMetadata } from './metadata.js';
import { currentSchema } from './metadata-lookup.js';
import type { IcebergValue, Schema } from './types.js';
import { mapLimit } from './map-limit.js';

/** A delete file that applies to a data file of a {@link FileScanTask}. */
export interface DeleteFileRef {
  file: DataFile;
  specId: number;
  /** The delete file's data sequence number. */
  dataSequenceNumber: bigint;
}

/** One data file to read, with the delete files that apply to it. */
export interface FileScanTask {
  file: DataFile;
  /** Spec the file was written with (`partition_spec_id` of its manifest). */
  specId: number;
  /** Data sequence number (inherited from the manifest when the entry has none; 0 in v1). */
  dataSequenceNumber: bigint;
  /** File sequence number (same inheritance). */
  fileSequenceNumber: bigint;
  /** The partition tuple, in spec field order (the same values as `file.partition`). */
  partition: IcebergValue[];
  /** Position deletes first, then equality deletes, each in manifest order. */
  deletes: DeleteFileRef[];
}

/** Inputs of {@link planFiles}. */
export interface PlanFilesOptions {
  metadata: TableMetadata;
  snapshot: Snapshot;
  /**
   * Loads the snapshot's manifests: the manifest list's entries, or for a v1 snapshot without a
   * manifest list, entries describing its `manifests`.
   */
  loadManifestList: (snapshot: Snapshot) => Promise<ManifestFile[]>;
  /** Loads a manifest's entries as stored (sequence numbers are inherited here). */
  loadManifest: (manifest: ManifestFile) => Promise<ManifestEntry[]>;
  /** Row filter used to prune manifests and files. Rows of kept files are not filtered. */
  filter?: Expression | BoundExpression;
  /** Name matching for the filter's columns. Default true. */
  caseSensitive?: boolean;
  /** Schema the filter is bound against. Default: the table's current schema. */
  schema?: Schema;
  /** How many manifests are read at once. Default 8. */
  concurrency?: number;
}

/** Statistics of one planning run (what pruning achieved). */
export interface PlanStats {
  manifests: number;
  manifestsSkipped: number;
  dataFiles: number;
  dataFilesSkipped: number;
  deleteFiles: number;
}

/** A stable key of a partition tuple (values compared exactly, type-agnostic but unambiguous). */
export function partitionKey(specId: number, partition: IcebergValue[]): string {
  const enc = (v: IcebergValue): string => {
    if (v === null) return 'N';
    if (typeof v === 'bigint') return `L${v}`;
    if (typeof v === 'number') return Object.is(v, -0) ? 'D-0' : `D${v}`;
    if (typeof v === 'boolean') return v ? 'T' : 'F';
    if (typeof v === 'string') return `S${JSON.stringify(v)}`;
    if (v instanceof Uint8Array) return `B${Buffer.from(v).toString('hex')}`;
    if (Array.isArray(v)) return `[${v.map(enc).join(',')}]`;
    return `M${JSON.stringify([...v.entries()].map(([k, x]) => [enc(k), enc(x)]))}`;
  };
  return `${specId}|${partition.map(enc).join(',')}`;
}


interface LiveEntry {
  file: DataFile;
  specId: number;
  dataSeq: bigint;
  fileSeq: bigint;
}

/** Refuses delete files that cannot be applied as they are described. */
function checkDeleteFile(file: DataFile, manifest: ManifestFile): void {
  if (file.file_format.toUpperCase() === 'PUFFIN') {
    const what = `scan: deletion vector ${file.file_path} (manifest ${manifest.manifest_path})`;
    if (file.content !== FileContent.POSITION_DELETES) throw new ValidationError(`${what}: content is ${file.content}, not position deletes`);
    // The spec requires all three: the vector's data file, and where its blob is in the file.
    if (file.referenced_data_file == null) throw new ValidationError(`${what}: has no referenced_data_file`);
    if (file.content_offset == null || file.content_size_in_bytes == null) {
      throw new ValidationError(`${what}: has no content_offset / content_size_in_bytes`);
    }
    return;
  }
  if (file.content_offset != null) {
    throw new ValidationError(`scan: delete file ${file.file_path} (manifest ${manifest.manifest_path}) has a content_offset but is ${file.file_format}, not Puffin`);
  }
  if (file.content === FileContent.EQUALITY_DELETES && (!file.equality_ids || file.equality_ids.length === 0)) {
    throw new ValidationError(`scan: equality delete file ${file.file_path} has no equality_ids`);
  }
}

/**
 * Plans a scan of one snapshot: reads its manifests (skipping those whose partition summaries
 * cannot match the filter), drops DELETED entries, prunes data files by partition values and
 * column metrics, and attaches the applicable delete files to each data file.
 * @returns the tasks in manifest order, and pruning statistics
 */
export async function planFilesWithStats(opts: PlanFilesOptions): Promise<{ tasks: FileScanTask[]; stats: PlanStats }> {
  const { metadata, snapshot } = opts;
  const caseSensitive = opts.caseSensitive ?? true;
  const schema = opts.schema ?? currentSchema(metadata, 'scan');
  const specs = new Map<number, PartitionSpec>(metadata['partition-specs'].map((s) => [s['spec-id'], s]));
  const specOf = (id: number, what: string): PartitionSpec => {
    const spec = specs.get(id);
    if (!spec) throw new ValidationError(`scan: ${what} uses partition spec ${id}, which the table does not define`);
    return spec;
  };

  const filter =
    opts.filter === undefined
      ? undefined
      : isBound(opts.filter)
        ? opts.filter
        : bind(opts.filter, schema, caseSensitive);
  const activeFilter = filter && filter.op !== 'true' ? filter : undefined;

  const manifestEvals = new Map<number, (m: ManifestFile) => boolean>();
  const partitionEvals = new Map<number, (p: IcebergValue[]) => boolean>();
  const metricsEval = activeFilter ? metricsEvaluator(schema, activeFilter) : undefined;
  const cached = <T>(map: Map<number, T>, id: number, make: () => T): T => {
    let v = map.get(id);
    if (v === undefined) {
      v = make();
      map.set(id, v);
    }
    return v;
  };

  const manifests = await opts.loadManifestList(snapshot);
  const stats: PlanStats = { manifests: manifests.length, manifestsSkipped: 0, dataFiles: 0, dataFilesSkipped: 0, deleteFiles: 0 };
  const kept = manifests.filter((m) => {
    const spec = specOf(m.partition_spec_id, `manifest ${m.manifest_path}`);
    if (!activeFilter) return true;
    const ok = cached(manifestEvals, spec['spec-id'], () => manifestEvaluator(spec, schema, activeFilter))(m);
    if (!ok) stats.manifestsSkipped++;
    return ok;
  });

  const perManifest = await mapLimit(kept, opts.concurrency ?? 8, async (manifest) => {
    const entries = inheritSequenceNumbers(await opts.loadManifest(manifest), manifest);
    const spec = specOf(manifest.partition_spec_id, `manifest ${manifest.manifest_path}`);
    const partEval = activeFilter
      ? cached(partitionEvals, spec['spec-id'], () => partitionEvaluator(spec, schema, activeFilter))
      : undefined;
    const data: LiveEntry[] = [];
    const deletes: LiveEntry[] = [];
    for (const entry of entries) {
      if (entry.status === EntryStatus.DELETED) continue;
      const file = entry.data_file;
      const isDelete = file.content !== FileContent.DATA;
      if (manifest.content === ManifestContent.DATA && isDelete) {
        throw new ValidationError(`scan: data manifest ${manifest.manifest_path} lists delete file ${file.file_path}`);
      }
      if (manifest.content === ManifestContent.DELETES && !isDelete) {
        throw new ValidationError(`scan: delete manifest ${manifest.manifest_path} lists data file ${file.file_path}`);
      }
      const dataSeq = entry.sequence_number;
      const fileSeq = entry.file_sequence_number;
      if (dataSeq === null || fileSeq === null) {
        throw new ValidationError(`scan: entry ${file.file_path} in ${manifest.manifest_path} has no sequence number to inherit`);
      }
      if (partEval && !partEval(file.partition)) {
        if (!isDelete) stats.dataFilesSkipped++;
        continue;
      }
      if (isDelete) {
        checkDeleteFile(file, manifest);
        deletes.push({ file, specId: spec['spec-id'], dataSeq, fileSeq });
      } else {
        if (metricsEval && !metricsEval(file)) {
          stats.dataFilesSkipped++;
          continue;
        }
        data.push({ file, specId: spec['spec-id'], dataSeq, fileSeq });
      }
    }
    return { data, deletes };
  });

  const dataFiles = perManifest.flatMap((m) => m.data);
  const deleteFiles = perManifest.flatMap((m) => m.deletes);
  stats.dataFiles = dataFiles.length;
  stats.deleteFiles = deleteFiles.length;
  const index = new DeleteIndex(deleteFiles, specs);
  const tasks = dataFiles.map<FileScanTask>((d) => ({
    file: d.file,
    specId: d.specId,
    dataSequenceNumber: d.dataSeq,
    fileSequenceNumber: d.fileSeq,
    partition: d.file.partition,
    deletes: index.forDataFile(d),
  }));
  return { tasks, stats };
}

/** {@link planFilesWithStats} without the statistics. */
export async function planFiles(opts: PlanFilesOptions): Promise<FileScanTask[]> {
  return (await planFilesWithStats(opts)).tasks;
}

/** Delete files grouped by the scope they can apply to. */
class DeleteIndex {
  private readonly byPartition = new Map<string, LiveEntry[]>();
  private readonly global: LiveEntry[] = [];
  /** Deletion vectors by `referenced_data_file`. */
  private readonly vectors = new Map<string, LiveEntry[]>();

  constructor(deletes: LiveEntry[], specs: Map<number, PartitionSpec>) {
    for (const d of deletes) {
      if (isDeletionVector(d.file)) {
        const target = d.file.referenced_data_file!;
        const list = this.vectors.get(target);
        if (list) list.push(d);
        else this.vectors.set(target, [d]);
        continue;
      }
      const spec = specs.get(d.specId);
      const unpartitioned = !spec || spec.fields.length === 0;
      if (d.file.content === FileContent.EQUALITY_DELETES && unpartitioned) {
        this.global.push(d);
        continue;
      }
      const key = partitionKey(d.specId, d.file.partition);
      const list = this.byPartition.get(key);
      if (list) list.push(d);
      else this.byPartition.set(key, [d]);
    }
  }

  /** The delete files that apply to `data` (position deletes or its deletion vector first). */
  forDataFile(data: LiveEntry): DeleteFileRef[] {
    const scope = partitionKey(data.specId, data.file.partition);
    const scoped = this.byPartition.get(scope) ?? [];
    const candidates = [...scoped, ...this.global];
    const vectors = (this.vectors.get(data.file.file_path) ?? []).filter(
      (v) => v.dataSeq >= data.dataSeq && partitionKey(v.specId, v.file.partition) === scope,
    );
    if (vectors.length > 1) {
      throw new ValidationError(
        `scan: data file ${data.file.file_path} has ${vectors.length} deletion vectors (${vectors.map((v) => deletionVectorKey(v.file)).join(', ')}); a table has at most one per data file`,
      );
    }
    const vector = vectors[0];
    const pos: DeleteFileRef[] = vector ? [{ file: vector.file, specId: vector.specId, dataSequenceNumber: vector.dataSeq }] : [];
    const eq: DeleteFileRef[] = [];
    for (const d of candidates) {
      if (d.file.content === FileContent.POSITION_DELETES) {
        // A deletion vector replaces the data file's position delete files (it holds their deletes).
        if (vector) continue;
        if (d.dataSeq < data.dataSeq) continue;
        if (!mayReference(d.file, data.file.file_path)) continue;
        pos.push({ file: d.file, specId: d.specId, dataSequenceNumber: d.dataSeq });
      } else if (d.file.content === FileContent.EQUALITY_DELETES) {
        if (d.dataSeq <= data.dataSeq) continue;
        eq.push({ file: d.file, specId: d.specId, dataSequenceNumber: d.dataSeq });
      }
    }
    return [...pos, ...eq];
  }
}

/** `file_path` column id of position delete files (reserved). */
const DELETE_FILE_PATH_ID = 2147483546;

/**
 * Whether a position delete file may hold deletes for `dataPath`: it names its only data file in
 * `referenced_data_file`, or its `file_path` bounds pin a single file (as Iceberg Java writes for
 * file-scoped deletes). Bounds that differ (possibly truncated) prove nothing.
 */
function mayReference(deleteFile: DataFile, dataPath: string): boolean {
  if (deleteFile.referenced_data_file != null) return deleteFile.referenced_data_file === dataPath;
  const lower = deleteFile.lower_bounds?.get(DELETE_FILE_PATH_ID);
  const upper = deleteFile.upper_bounds?.get(DELETE_FILE_PATH_ID);
  if (lower && upper && bytesEqual(lower, upper)) {
    return new TextDecoder().decode(lower) === dataPath;
  }
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
