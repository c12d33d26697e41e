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
 *
 * Format v3 (`delete-file-rules.ts`): position delete files are refused, deletion vectors taken,
 * at most one live vector per data file. Replacing a data file's vector means removing the old one
 * in the same commit ({@link RowDelta.removeDeletes}): the delete manifests holding removed files
 * are then rewritten with them DELETED (the others EXISTING, sequence numbers kept), and every
 * attempt checks the rule again on the table it builds on, so a vector a concurrent commit added
 * for the same data file fails this commit instead of leaving two.
 */
import { UnsupportedError, ValidationError } from '../errors.js';
import {
  checkDeleteFile,
  checkOneDeletionVectorPerFile,
  deleteFileKey,
  liveDeletionVectors,
} from './delete-file-rules.js';
import { EntryStatus, FileContent, isDeletionVector, ManifestContent, type DataFile, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { SnapshotProducer, type BuiltSnapshot } from './snapshot-producer.js';

/** What an attempt made of one parent delete manifest (manifests are immutable: reused on retry). */
interface DeleteManifestOutcome {
  manifest: ManifestFile;
  removed: DataFile[];
  /** Its live deletion-vector entries, removed ones included (the one-per-file check subtracts them). */
  vectors: ManifestEntry[];
}

/** Adds data files and delete files in one snapshot (format v2 and v3). */
export class RowDelta extends SnapshotProducer {
  private readonly dataFiles = new Map<number, DataFile[]>();
  private readonly deleteFiles = new Map<number, DataFile[]>();
  /** Delete files to remove, by {@link deleteFileKey}. */
  private readonly toRemove = new Map<string, DataFile>();
  /** The new manifests, written once and reused by every attempt. */
  private newManifests: { data: ManifestFile[]; deletes: ManifestFile[] } | undefined;
  private readonly deleteOutcomes = new Map<string, DeleteManifestOutcome>();

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
    // Checked now for an early, clear error; again on each attempt's base.
    checkDeleteFile(file, this.table.metadata['format-version'], this.table.name);
    return this.add(this.deleteFiles, file, specId);
  }

  /**
   * Removes a live delete file in the same snapshot: a data file's deletion vector being replaced
   * by a new one (v3 allows one per data file). A vector is matched by its Puffin file and blob
   * offset, any other delete file by its path. The commit fails if it is no longer in the table.
   */
  removeDeletes(file: DataFile): this {
    if (file.content === FileContent.DATA) {
      throw new ValidationError(`table: ${this.table.name}: removeDeletes takes delete files, got a data file ${file.file_path}`);
    }
    this.toRemove.set(deleteFileKey(file), file);
    return this;
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
    const deletes = this.deleteFiles.size > 0 || this.toRemove.size > 0;
    // Nothing but summary keys (a pipeline's positions): an empty append, as FastAppend's.
    if (!deletes) return 'append';
    if (deletes && !data) return 'delete';
    return 'overwrite';
  }

  protected async build(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot> {
    const version = base['format-version'];
    const newDeletes = [...this.deleteFiles.values()].flat();
    if (newDeletes.length > 0 && version < 2) {
      throw new UnsupportedError(`table: ${this.table.name}: delete files need format version 2 (the table is v${version})`);
    }
    for (const f of newDeletes) checkDeleteFile(f, version, this.table.name);
    if (this.newManifests === undefined) {
      const v1 = version === 1;
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
    const { manifests: parentDeletes, removed } = await this.parentDeletes(
      base,
      parents.filter((m) => m.content === ManifestContent.DELETES),
      version >= 3 && newDeletes.some(isDeletionVector) ? newDeletes : [],
    );
    const added = [...[...this.dataFiles.values()].flat(), ...newDeletes];
    return { manifests: [...this.newManifests.data, ...parentData, ...this.newManifests.deletes, ...parentDeletes], added, removed };
  }

  /**
   * The parent's delete manifests as this commit leaves them: as they are, unless files are
   * removed (their manifests rewritten) or deletion vectors added (the manifests read to check
   * the one-vector-per-data-file rule on this base).
   */
  private async parentDeletes(
    base: TableMetadata,
    manifests: ManifestFile[],
    vectors: DataFile[],
  ): Promise<{ manifests: ManifestFile[]; removed: DataFile[] }> {
    // A manifest left with only DELETED entries by an earlier snapshot lists no live file: it is
    // dropped, as Iceberg Java drops it. Vectors replaced at every commit would otherwise leave
    // one more such manifest per commit, read by every planning.
    manifests = manifests.filter((m) => (m.added_files_count ?? 1) + (m.existing_files_count ?? 1) > 0);
    if (this.toRemove.size === 0 && vectors.length === 0) return { manifests, removed: [] };
    const out: ManifestFile[] = [];
    const removed: DataFile[] = [];
    const live: ManifestEntry[] = [];
    for (const m of manifests) {
      let outcome = this.deleteOutcomes.get(m.manifest_path);
      if (!outcome) {
        outcome = await this.filterDeletes(base, m);
        this.deleteOutcomes.set(m.manifest_path, outcome);
      }
      out.push(outcome.manifest);
      removed.push(...outcome.removed);
      live.push(...outcome.vectors);
    }
    const found = new Set(removed.map(deleteFileKey));
    const missing = [...this.toRemove.keys()].filter((k) => !found.has(k));
    if (missing.length > 0) {
      throw new ValidationError(
        `table: ${this.table.name}: cannot remove ${missing.length} delete file(s) no longer in the table (removed by a concurrent commit?): ${missing.slice(0, 3).join(', ')}`,
      );
    }
    checkOneDeletionVectorPerFile(vectors, liveDeletionVectors(live), found, this.table.name);
    return { manifests: out, removed };
  }

  /** One parent delete manifest: as is, or rewritten with the removed files DELETED. */
  private async filterDeletes(base: TableMetadata, manifest: ManifestFile): Promise<DeleteManifestOutcome> {
    const entries = await this.manifestEntries(manifest);
    const vectors = entries.filter((e) => e.status !== EntryStatus.DELETED && isDeletionVector(e.data_file));
    const hit = (e: ManifestEntry) => e.status !== EntryStatus.DELETED && this.toRemove.has(deleteFileKey(e.data_file));
    if (!entries.some(hit)) return { manifest, removed: [], vectors };
    const removed: DataFile[] = [];
    const rewritten: ManifestEntry[] = [];
    for (const e of entries) {
      if (e.status === EntryStatus.DELETED) continue; // deletions of earlier snapshots are history
      if (hit(e)) {
        removed.push(e.data_file);
        rewritten.push({ ...e, status: EntryStatus.DELETED, snapshot_id: this.snapshotId });
      } else {
        rewritten.push({ ...e, status: EntryStatus.EXISTING });
      }
    }
    const written = await this.writeManifest(base, specById(base, manifest.partition_spec_id, 'table'), 'deletes', rewritten);
    return { manifest: written, removed, vectors };
  }
}
