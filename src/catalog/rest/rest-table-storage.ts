/**
 * What a REST catalog client remembers of each table's storage settings: the `config` and
 * `storage-credentials` of the table's last LoadTableResult (load, create, register). A
 * CommitTableResponse carries neither (the spec's shape: `metadata-location` and `metadata`), so
 * the table after a commit keeps the settings of its last load, as Iceberg's Java client keeps
 * its table's FileIO; without this, a table on S3 with vended credentials fell back to the
 * process's own S3 settings at its first commit ("Could not load credentials from any providers").
 * Every load replaces the entry: vended credentials rotate, and the latest ones win.
 */
import type { JsonValue } from '../../iceberg/json.js';
import type { TableIdentifier } from '../catalog.js';

/** A table's storage settings as the server sent them (merged per location by `effectiveTableConfig`). */
export interface TableStorage {
  /** The LoadTableResult's `config`. */
  config: Record<string, string>;
  /** The LoadTableResult's `storage-credentials`, unparsed (checked where it is used). */
  credentials: JsonValue | undefined;
}

/** True when the answer carries any storage settings at all. */
export function vendsStorage(s: TableStorage): boolean {
  return Object.keys(s.config).length > 0 || (s.credentials !== undefined && s.credentials !== null);
}

/** Tables remembered per client: enough for every table a process works with, bounded all the same. */
const MAX_TABLES = 4096;

/** The storage settings of each table's last load, by table identifier (see the file comment). */
export class TableStorageMemory {
  private readonly byTable = new Map<string, TableStorage>();

  /** Namespace levels may contain dots: the key keeps the levels apart (the last is the name). */
  private static key(id: TableIdentifier): string {
    return JSON.stringify([...id.namespace, id.name]);
  }

  remember(id: TableIdentifier, storage: TableStorage): void {
    const key = TableStorageMemory.key(id);
    this.byTable.delete(key); // re-insert: most recent last
    this.byTable.set(key, storage);
    if (this.byTable.size > MAX_TABLES) {
      const oldest = this.byTable.keys().next().value as string;
      this.byTable.delete(oldest);
    }
  }

  recall(id: TableIdentifier): TableStorage | undefined {
    return this.byTable.get(TableStorageMemory.key(id));
  }

  forget(id: TableIdentifier): void {
    this.byTable.delete(TableStorageMemory.key(id));
  }
}
