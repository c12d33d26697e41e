/**
 * The I/O side of scan planning: chooses the snapshot (current, by id, as of a time, or by ref),
 * reads its manifest list and manifests through a FileIO, and runs the pure planner
 * (`iceberg/scan.ts`).
 *
 * The schema of a scan follows Iceberg's time-travel rule: reading the current state or a branch
 * uses the table's current schema; reading a snapshot by id, by timestamp, or through a tag uses
 * the schema that snapshot was written with (when it recorded one).
 */
import { NotFoundError, UnsupportedError, ValidationError } from '../errors.js';
import { bind } from '../iceberg/expression-binding.js';
import type { BoundExpression, Expression } from '../iceberg/expressions.js';
import { readManifest, type ManifestContents } from '../iceberg/avro/manifest.js';
import { readManifestList } from '../iceberg/avro/manifest-list.js';
import { inlineManifestFile, ManifestContent, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot, TableMetadata } from '../iceberg/metadata.js';
import { currentSchema, findSchema } from '../iceberg/metadata-lookup.js';
import { planFilesWithStats, type FileScanTask, type PlanStats } from '../iceberg/scan.js';
import { currentSnapshot, findSnapshot, snapshotAsOf, snapshotForRef } from '../iceberg/snapshot.js';
import type { Schema } from '../iceberg/types.js';
import type { FileIO } from '../io/file-io.js';

/** Which state of the table to read. At most one of the selectors may be given. */
export interface TableScanOptions {
  /** Read this snapshot (time travel by id). */
  snapshotId?: bigint;
  /** Read the snapshot current at this time (epoch ms, inclusive). */
  asOfTimestampMs?: number;
  /** Read a branch or tag by name (`main` is the current state). */
  ref?: string;
  /** Row filter: prunes manifests/files here, and is applied to rows by `scanToSql`. */
  filter?: Expression;
  /** Name matching for the filter's columns. Default true. */
  caseSensitive?: boolean;
  /** Manifests read at once. Default 8. */
  concurrency?: number;
}

/** A planned scan. */
export interface TableScan {
  metadata: TableMetadata;
  /** The chosen snapshot; undefined for a table without snapshots (the scan is empty). */
  snapshot: Snapshot | undefined;
  /** The schema the scan's rows have. */
  schema: Schema;
  tasks: FileScanTask[];
  stats: PlanStats;
  /** The filter bound to `schema` (undefined when none was given). */
  filter?: BoundExpression;
}

/**
 * Chooses the snapshot and schema to read.
 * @throws NotFoundError for an unknown snapshot id or ref; ValidationError for a time before the
 *   first snapshot
 */
export function selectSnapshot(
  metadata: TableMetadata,
  options: Pick<TableScanOptions, 'snapshotId' | 'asOfTimestampMs' | 'ref'> = {},
): { snapshot: Snapshot | undefined; schema: Schema } {
  const given = [options.snapshotId, options.asOfTimestampMs, options.ref].filter((x) => x !== undefined);
  if (given.length > 1) throw new ValidationError('scan: give at most one of snapshotId, asOfTimestampMs, ref');
  const current = currentSchema(metadata, 'scan');
  const snapshotSchema = (s: Snapshot): Schema =>
    (s['schema-id'] === undefined ? undefined : findSchema(metadata, s['schema-id'])) ?? current;

  if (options.snapshotId !== undefined) {
    const s = findSnapshot(metadata, options.snapshotId);
    if (!s) throw new NotFoundError(`scan: snapshot ${options.snapshotId} does not exist`);
    return { snapshot: s, schema: snapshotSchema(s) };
  }
  if (options.asOfTimestampMs !== undefined) {
    // Throws when the time is before the first snapshot.
    const s = snapshotAsOf(metadata, options.asOfTimestampMs);
    return { snapshot: s, schema: snapshotSchema(s) };
  }
  if (options.ref !== undefined) {
    const ref = metadata.refs[options.ref];
    if (!ref) {
      // `main` of a table without snapshots has no ref yet: an empty read, not an error.
      if (options.ref === 'main' && metadata['current-snapshot-id'] === undefined) return { snapshot: undefined, schema: current };
      throw new NotFoundError(`scan: ref '${options.ref}' does not exist`);
    }
    const s = snapshotForRef(metadata, options.ref);
    return { snapshot: s, schema: ref.type === 'tag' && s ? snapshotSchema(s) : current };
  }
  return { snapshot: currentSnapshot(metadata), schema: current };
}

/**
 * Plans a scan of a table: selects the snapshot, reads manifests through `io` and returns the
 * data files to read with their delete files.
 */
export async function planTableScan(io: FileIO, metadata: TableMetadata, options: TableScanOptions = {}): Promise<TableScan> {
  const { snapshot, schema } = selectSnapshot(metadata, options);
  const filter = options.filter === undefined ? undefined : bind(options.filter, schema, options.caseSensitive ?? true);
  if (!snapshot) {
    const stats: PlanStats = { manifests: 0, manifestsSkipped: 0, dataFiles: 0, dataFilesSkipped: 0, deleteFiles: 0 };
    return { metadata, snapshot, schema, tasks: [], stats, ...(filter ? { filter } : {}) };
  }

  if (snapshot['key-id'] !== undefined) {
    throw new UnsupportedError(`scan: snapshot ${snapshot['snapshot-id']} has an encrypted manifest list (key ${snapshot['key-id']}); floe cannot decrypt it`);
  }

  // v1 snapshots may list manifests directly; their contents are read once, while synthesizing
  // the list entries, and reused by the planner.
  const preloaded = new Map<string, ManifestContents>();
  const read = async (location: string, what: string): Promise<Uint8Array> => {
    try {
      return await io.read(location);
    } catch (e) {
      if (e instanceof NotFoundError) throw new NotFoundError(`scan: ${what} ${location} is missing`, { cause: e });
      throw e;
    }
  };

  const loadManifestList = async (s: Snapshot): Promise<ManifestFile[]> => {
    const list = s['manifest-list'];
    if (list !== undefined) return readManifestList(await read(list, 'manifest list'), list);
    if (!s.manifests) throw new ValidationError(`scan: snapshot ${s['snapshot-id']} has neither manifest-list nor manifests`);
    return Promise.all(
      s.manifests.map(async (path) => {
        const bytes = await read(path, 'manifest');
        const contents = readManifest(bytes, path);
        preloaded.set(path, contents);
        return inlineManifestFile(path, s['snapshot-id'], {
          length: bytes.length,
          specId: contents.meta.partitionSpecId ?? 0,
          content: contents.meta.content === 'deletes' ? ManifestContent.DELETES : ManifestContent.DATA,
        });
      }),
    );
  };

  const loadManifest = async (m: ManifestFile): Promise<ManifestEntry[]> => {
    const pre = preloaded.get(m.manifest_path);
    if (pre) return pre.entries;
    return readManifest(await read(m.manifest_path, 'manifest'), m.manifest_path).entries;
  };

  const { tasks, stats } = await planFilesWithStats({
    metadata,
    snapshot,
    schema,
    loadManifestList,
    loadManifest,
    ...(filter ? { filter } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
  });
  return { metadata, snapshot, schema, tasks, stats, ...(filter ? { filter } : {}) };
}
