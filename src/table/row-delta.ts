/**
 * Row-level changes in one snapshot (Iceberg's RowDelta): data files and delete files added
 * together, atomically, with whatever summary keys the caller gives (a pipeline's stream
 * positions). Upserts are the usual use: the new rows in data files, and an equality delete per
 * key touched, which (spec §Scan Planning) applies only to rows of a lower data sequence number,
 * so it removes the older rows of the key and never the new rows of the same snapshot.
 *
 * The snapshot's operation follows Iceberg Java's `BaseRowDelta`: `append` when it adds only data
 * files, `delete` when it adds only delete files, `overwrite` when it adds both. Manifests are laid
 * out as Java's: the new data manifest(s), the parent's data manifests, the new delete
 * manifest(s), the parent's delete manifests. Nothing existing is rewritten, so, like an append,
 * a concurrent commit only makes the attempt be rebuilt on the new head (format v2 sequence
 * numbers order the deletes after everything they can see).
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import { EntryStatus, FileContent, ManifestContent, type DataFile, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { SnapshotProducer, type BuiltSnapshot } from './snapshot-producer.js';

/** Adds data files and delete files in one snapshot (format v2). */
export class RowDelta extends SnapshotProducer {
  private readonly dataFiles = new Map<number, DataFile[]>();
  private readonly deleteFiles = new Map<number, DataFile[]>();
  /** The new manifests, written once and reused by every attempt. */
  private newManifests: { data: ManifestFile[]; deletes: ManifestFile[] } | undefined;

  /** Adds a data file written with partition spec `specId` (default: the table's default spec). */
  addRows(file: DataFile, specId?: number): this {
    if (file.content !== FileContent.DATA) {
      throw new ValidationError(`table: ${this.table.name}: addRows takes data files, got a delete file ${file.file_path}`);
    }
    return this.add(this.dataFiles, file, specId);
  }

  /**
   * Adds a delete file (equality deletes with `equality_ids`, or position deletes) written with
   * partition spec `specId` (default: the table's default spec). An equality delete under an
   * unpartitioned spec applies to every partition; under a partitioned one, to its partition.
   */
  addDeletes(file: DataFile, specId?: number): this {
    if (file.content === FileContent.DATA) {
      throw new ValidationError(`table: ${this.table.name}: addDeletes takes delete files, got a data file ${file.file_path}`);
    }
    if (file.content === FileContent.EQUALITY_DELETES && (!file.equality_ids || file.equality_ids.length === 0)) {
      throw new ValidationError(`table: ${this.table.name}: equality delete file ${file.file_path} has no equality_ids`);
    }
    return this.add(this.deleteFiles, file, specId);
  }

  /** {@link addRows} for several files of one spec. */
  addRowsFiles(files: Iterable<DataFile>, specId?: number): this {
    for (const f of files) this.addRows(f, specId);
    return this;
  }

  /** {@link addDeletes} for several files of one spec. */
  addDeleteFiles(files: Iterable<DataFile>, specId?: number): this {
    for (const f of files) this.addDeletes(f, specId);
    return this;
  }

  private add(into: Map<number, DataFile[]>, file: DataFile, specId: number | undefined): this {
    const id = specId ?? this.table.metadata['default-spec-id'];
    const list = into.get(id) ?? [];
    list.push(file);
    into.set(id, list);
    return this;
  }

  protected operation(): SnapshotSummary['operation'] {
    const data = this.dataFiles.size > 0;
    const deletes = this.deleteFiles.size > 0;
    // Nothing but summary keys (a pipeline's positions): an empty append, as FastAppend's.
    if (!deletes) return 'append';
    if (deletes && !data) return 'delete';
    return 'overwrite';
  }

  protected async build(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot> {
    if (this.deleteFiles.size > 0 && base['format-version'] < 2) {
      throw new UnsupportedError(`table: ${this.table.name}: delete files need format version 2 (the table is v${base['format-version']})`);
    }
    if (this.newManifests === undefined) {
      const v1 = base['format-version'] === 1;
      const entries = (files: DataFile[]): ManifestEntry[] =>
        files.map((f) => ({
          status: EntryStatus.ADDED,
          // v2: null ids and sequence numbers are inherited from the manifest list at read time.
          snapshot_id: v1 ? this.snapshotId : null,
          sequence_number: null,
          file_sequence_number: null,
          data_file: f,
        }));
      const data: ManifestFile[] = [];
      for (const [specId, files] of this.dataFiles) data.push(await this.writeManifest(base, specById(base, specId, 'table'), 'data', entries(files)));
      const deletes: ManifestFile[] = [];
      for (const [specId, files] of this.deleteFiles) deletes.push(await this.writeManifest(base, specById(base, specId, 'table'), 'deletes', entries(files)));
      this.newManifests = { data, deletes };
    }
    const parents = await this.parentManifests(parent);
    const parentData = parents.filter((m) => m.content !== ManifestContent.DELETES);
    const parentDeletes = parents.filter((m) => m.content === ManifestContent.DELETES);
    const added = [...[...this.dataFiles.values()].flat(), ...[...this.deleteFiles.values()].flat()];
    return { manifests: [...this.newManifests.data, ...parentData, ...this.newManifests.deletes, ...parentDeletes], added, removed: [] };
  }
}
