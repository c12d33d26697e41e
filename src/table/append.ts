/**
 * Fast append: adds data files in a new manifest and keeps every existing manifest as is.
 * Appends never conflict semantically, so on a concurrent commit the attempt is simply rebuilt on
 * the new head (the new-files manifest is written once and reused across attempts).
 */
import { ValidationError } from '../errors.js';
import { EntryStatus, FileContent, type DataFile, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { SnapshotProducer, type BuiltSnapshot } from './snapshot-producer.js';

/** Appends data files to a table in one snapshot. */
export class FastAppend extends SnapshotProducer {
  private readonly files = new Map<number, DataFile[]>();
  private newManifests: ManifestFile[] | undefined;

  /** Adds a data file written with partition spec `specId` (default: the table's default spec). */
  appendFile(file: DataFile, specId?: number): this {
    if (file.content !== FileContent.DATA) {
      throw new ValidationError(`table: ${this.table.name}: append takes data files, got a delete file ${file.file_path}`);
    }
    const id = specId ?? this.table.metadata['default-spec-id'];
    const list = this.files.get(id) ?? [];
    list.push(file);
    this.files.set(id, list);
    return this;
  }

  /** Adds several data files of one spec. */
  appendFiles(files: Iterable<DataFile>, specId?: number): this {
    for (const f of files) this.appendFile(f, specId);
    return this;
  }

  protected operation(): SnapshotSummary['operation'] {
    return 'append';
  }

  protected async build(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot> {
    if (this.newManifests === undefined) {
      const written: ManifestFile[] = [];
      for (const [specId, files] of this.files) {
        const v1 = base['format-version'] === 1;
        const entries: ManifestEntry[] = files.map((f) => ({
          status: EntryStatus.ADDED,
          // v2: null ids and sequence numbers are inherited from the manifest list at read time.
          snapshot_id: v1 ? this.snapshotId : null,
          sequence_number: null,
          file_sequence_number: null,
          data_file: f,
        }));
        written.push(await this.writeManifest(base, specById(base, specId, 'table'), 'data', entries));
      }
      this.newManifests = written;
    }
    const added = [...this.files.values()].flat();
    return { manifests: [...this.newManifests, ...(await this.parentManifests(parent))], added, removed: [] };
  }
}
