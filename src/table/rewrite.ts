/**
 * Replace and overwrite: remove some files and add others in one snapshot. Compaction commits a
 * `replace` (same rows, different files); an `overwrite` changes rows.
 *
 * Manifests that hold a removed file are rewritten with that entry marked DELETED and the others
 * EXISTING (keeping their sequence numbers, so delete files keep applying exactly as before);
 * untouched manifests are carried over. Every attempt re-checks that each file to remove is still
 * live in the table: if a concurrent commit already removed one, the operation fails rather than
 * resurrecting or double-deleting rows.
 *
 * Deletion vectors (format v3): several vectors share one Puffin file, so a vector is removed by
 * its identity (`deleteFile(file)`: Puffin path + blob offset, `delete-file-rules.ts`), never by
 * the path alone. Added delete files go through the format version's rules on every attempt's
 * base (v3: no Parquet position delete files, at most one live vector per data file), so a vector
 * a concurrent commit added for the same data file fails this commit instead of leaving two.
 */
import { ValidationError } from '../errors.js';
import {
  checkDeleteFile,
  checkOneDeletionVectorPerFile,
  liveDeletionVectors,
} from './delete-file-rules.js';
import {
  deletionVectorKey,
  EntryStatus,
  FileContent,
  isDeletionVector,
  ManifestContent,
  type DataFile,
  type ManifestEntry,
  type ManifestFile,
} from '../iceberg/manifest-types.js';
import type { Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { SnapshotProducer, type BuiltSnapshot, type CommitOptions } from './snapshot-producer.js';
import type { Table } from './table.js';

/** Options of a replace/overwrite. */
export interface RewriteOptions extends CommitOptions {
  /**
   * Data sequence number for the added files. Compaction sets it to the sequence number of the
   * snapshot it read, so equality deletes committed meanwhile still apply to the rewritten rows.
   */
  dataSequenceNumber?: bigint;
}

/** Removes and adds files atomically. */
export class RewriteFiles extends SnapshotProducer {
  /** Files to remove by path (every entry with that path, all vectors of a Puffin file included). */
  private readonly toRemove = new Set<string>();
  /** Deletion vectors to remove by {@link deletionVectorKey} (one blob of a Puffin file). */
  private readonly vectorsToRemove = new Set<string>();
  private readonly toAdd = new Map<number, DataFile[]>();
  /**
   * What earlier attempts made of each parent manifest and of the new files, reused on retry:
   * manifests are immutable, so the outcome for a manifest path never changes, and a retry only
   * reads the manifests committed since (keeps the attempt short next to a busy writer).
   */
  private newFileManifests: ManifestFile[] | undefined;
  private readonly filtered = new Map<string, FilterOutcome>();

  constructor(
    table: Table,
    private readonly op: 'replace' | 'overwrite' | 'delete',
    private readonly rewriteOptions: RewriteOptions = {},
  ) {
    super(table, rewriteOptions);
  }

  /**
   * Removes a data or delete file: given a path, every live entry with that path as recorded in
   * the manifest; given a file as read from a manifest, that file, a deletion vector by its
   * identity (Puffin path + blob offset: the other vectors of its Puffin file stay).
   */
  deleteFile(file: string | DataFile): this {
    if (typeof file === 'string') this.toRemove.add(file);
    else if (isDeletionVector(file)) this.vectorsToRemove.add(deletionVectorKey(file));
    else this.toRemove.add(file.file_path);
    return this;
  }

  /** Whether a live entry is one this operation removes. */
  private removes(f: DataFile): boolean {
    return this.toRemove.has(f.file_path) || (this.vectorsToRemove.size > 0 && isDeletionVector(f) && this.vectorsToRemove.has(deletionVectorKey(f)));
  }

  /** Adds a data or delete file written with `specId` (default: the table's default spec). */
  addFile(file: DataFile, specId?: number): this {
    const id = specId ?? this.table.metadata['default-spec-id'];
    const list = this.toAdd.get(id) ?? [];
    list.push(file);
    this.toAdd.set(id, list);
    return this;
  }

  protected operation(): SnapshotSummary['operation'] {
    return this.op;
  }

  protected async build(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot> {
    const manifests: ManifestFile[] = [];
    const removed: DataFile[] = [];
    const found = new Set<string>();
    const foundVectors = new Set<string>();
    const v1 = base['format-version'] === 1;
    const seq = this.rewriteOptions.dataSequenceNumber ?? null;
    const added = [...this.toAdd.values()].flat();
    const version = base['format-version'];
    for (const f of added) if (f.content !== FileContent.DATA) checkDeleteFile(f, version, this.table.name);
    // Added vectors: every delete manifest is read to check the one-vector-per-data-file rule.
    const addedVectors = version >= 3 ? added.filter(isDeletionVector) : [];
    const removing = this.toRemove.size > 0 || this.vectorsToRemove.size > 0;
    const liveVectors: ManifestEntry[] = [];

    // New files first (as Java orders them), one manifest per spec and content.
    if (!this.newFileManifests) {
      const written: ManifestFile[] = [];
      for (const [specId, files] of this.toAdd) {
        for (const content of ['data', 'deletes'] as const) {
          const chosen = files.filter((f) => (content === 'data') === (f.content === FileContent.DATA));
          if (chosen.length === 0) continue;
          const entries: ManifestEntry[] = chosen.map((f) => ({
            status: EntryStatus.ADDED,
            snapshot_id: v1 ? this.snapshotId : null,
            sequence_number: seq,
            file_sequence_number: null,
            data_file: f,
          }));
          written.push(await this.writeManifest(base, specById(base, specId, 'table'), content, entries));
        }
      }
      this.newFileManifests = written;
    }
    manifests.push(...this.newFileManifests);

    for (const manifest of await this.parentManifests(parent)) {
      if (!removing && (addedVectors.length === 0 || manifest.content !== ManifestContent.DELETES)) {
        manifests.push(manifest);
        continue;
      }
      let outcome = this.filtered.get(manifest.manifest_path);
      if (!outcome) {
        outcome = await this.filter(base, manifest);
        this.filtered.set(manifest.manifest_path, outcome);
      }
      manifests.push(outcome.manifest);
      liveVectors.push(...outcome.vectors);
      for (const f of outcome.removed) {
        found.add(f.file_path);
        if (isDeletionVector(f)) foundVectors.add(deletionVectorKey(f));
        removed.push(f);
      }
    }

    const missing = [...[...this.toRemove].filter((p) => !found.has(p)), ...[...this.vectorsToRemove].filter((k) => !foundVectors.has(k))];
    if (missing.length > 0) {
      throw new ValidationError(
        `table: ${this.table.name}: cannot ${this.op}: ${missing.length} file(s) are no longer in the table (removed by a concurrent commit?): ${missing.slice(0, 3).join(', ')}`,
      );
    }
    checkOneDeletionVectorPerFile(addedVectors, liveDeletionVectors(liveVectors), foundVectors, this.table.name);
    return { manifests, added, removed };
  }

  /** A parent manifest as this operation leaves it: as is, or rewritten with removed entries DELETED. */
  private async filter(base: TableMetadata, manifest: ManifestFile): Promise<FilterOutcome> {
    const entries = await this.manifestEntries(manifest);
    const vectors = entries.filter((e) => e.status !== EntryStatus.DELETED && isDeletionVector(e.data_file));
    const hits = entries.filter((e) => e.status !== EntryStatus.DELETED && this.removes(e.data_file));
    if (hits.length === 0) return { manifest, removed: [], vectors };
    const removed: DataFile[] = [];
    const rewritten: ManifestEntry[] = [];
    for (const e of entries) {
      if (e.status === EntryStatus.DELETED) continue; // deletions of earlier snapshots are history
      if (this.removes(e.data_file)) {
        removed.push(e.data_file);
        rewritten.push({ ...e, status: EntryStatus.DELETED, snapshot_id: this.snapshotId });
      } else {
        rewritten.push({ ...e, status: EntryStatus.EXISTING });
      }
    }
    const content = manifest.content === 1 ? 'deletes' : 'data';
    return { manifest: await this.writeManifest(base, specById(base, manifest.partition_spec_id, 'table'), content, rewritten), removed, vectors };
  }
}

/** What an attempt made of one parent manifest (manifests are immutable: reused on retry). */
interface FilterOutcome {
  manifest: ManifestFile;
  removed: DataFile[];
  /** Its live deletion-vector entries, removed ones included (the one-per-file check subtracts them). */
  vectors: ManifestEntry[];
}
