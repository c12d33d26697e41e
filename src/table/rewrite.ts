/**
 * Replace and overwrite: remove some files and add others in one snapshot. Compaction commits a
 * `replace` (same rows, different files); an `overwrite` changes rows.
 *
 * Manifests that hold a removed file are rewritten with that entry marked DELETED and the others
 * EXISTING (keeping their sequence numbers, so delete files keep applying exactly as before);
 * untouched manifests are carried over. Every attempt re-checks that each file to remove is still
 * live in the table: if a concurrent commit already removed one, the operation fails rather than
 * resurrecting or double-deleting rows.
 */
import { ValidationError } from '../errors.js';
import { EntryStatus, FileContent, type DataFile, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
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
  private readonly toRemove = new Set<string>();
  private readonly toAdd = new Map<number, DataFile[]>();
  /**
   * What earlier attempts made of each parent manifest and of the new files, reused on retry:
   * manifests are immutable, so the outcome for a manifest path never changes, and a retry only
   * reads the manifests committed since (keeps the attempt short next to a busy writer).
   */
  private newFileManifests: ManifestFile[] | undefined;
  private readonly filtered = new Map<string, { manifest: ManifestFile; removed: DataFile[] }>();

  constructor(
    table: Table,
    private readonly op: 'replace' | 'overwrite' | 'delete',
    private readonly rewriteOptions: RewriteOptions = {},
  ) {
    super(table, rewriteOptions);
  }

  /** Removes a data or delete file (by its path as recorded in the manifest). */
  deleteFile(path: string): this {
    this.toRemove.add(path);
    return this;
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
    const v1 = base['format-version'] === 1;
    const seq = this.rewriteOptions.dataSequenceNumber ?? null;

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
      if (this.toRemove.size === 0) {
        manifests.push(manifest);
        continue;
      }
      let outcome = this.filtered.get(manifest.manifest_path);
      if (!outcome) {
        outcome = await this.filter(base, manifest);
        this.filtered.set(manifest.manifest_path, outcome);
      }
      manifests.push(outcome.manifest);
      for (const f of outcome.removed) {
        found.add(f.file_path);
        removed.push(f);
      }
    }

    const missing = [...this.toRemove].filter((p) => !found.has(p));
    if (missing.length > 0) {
      throw new ValidationError(
        `table: ${this.table.name}: cannot ${this.op}: ${missing.length} file(s) are no longer in the table (removed by a concurrent commit?): ${missing.slice(0, 3).join(', ')}`,
      );
    }
    const added = [...this.toAdd.values()].flat();
    return { manifests, added, removed };
  }

  /** A parent manifest as this operation leaves it: as is, or rewritten with removed entries DELETED. */
  private async filter(base: TableMetadata, manifest: ManifestFile): Promise<{ manifest: ManifestFile; removed: DataFile[] }> {
    const entries = await this.manifestEntries(manifest);
    const hits = entries.filter((e) => e.status !== EntryStatus.DELETED && this.toRemove.has(e.data_file.file_path));
    if (hits.length === 0) return { manifest, removed: [] };
    const removed: DataFile[] = [];
    const rewritten: ManifestEntry[] = [];
    for (const e of entries) {
      if (e.status === EntryStatus.DELETED) continue; // deletions of earlier snapshots are history
      if (this.toRemove.has(e.data_file.file_path)) {
        removed.push(e.data_file);
        rewritten.push({ ...e, status: EntryStatus.DELETED, snapshot_id: this.snapshotId });
      } else {
        rewritten.push({ ...e, status: EntryStatus.EXISTING });
      }
    }
    const content = manifest.content === 1 ? 'deletes' : 'data';
    return { manifest: await this.writeManifest(base, specById(base, manifest.partition_spec_id, 'table'), content, rewritten), removed };
  }
}
