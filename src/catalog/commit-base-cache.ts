/**
 * The metadata of the files a catalog has just written, kept as the base of its next commit.
 *
 * A pipeline commits every few hundred milliseconds, and each commit starts from the metadata file
 * the previous one wrote. Reading and parsing that file again (a few hundred KB once the table
 * holds a few hundred snapshots) cost several milliseconds per commit and put large strings
 * straight into V8's old generation, which is what made the heap swing under steady commits
 * (issue 12). A metadata file never changes once written (its name holds a random UUID), so the
 * metadata parsed back from the text when it was written (`writeTableMetadataFile`) is exactly
 * what reading the file would give.
 *
 * Entries are never handed to callers: a commit only reads its base (`planCommit` copies before
 * it changes anything), so nothing outside can alter a cached object. The cache holds the newest
 * few files (one per table being committed to, in practice) and nothing else.
 */
import type { TableMetadata } from '../iceberg/metadata.js';

/** How many metadata files are kept: a pipeline commits to its table and its dead-letter table. */
const DEFAULT_ENTRIES = 8;

/** Metadata files this process wrote, by location, the newest {@link DEFAULT_ENTRIES} of them. */
export class CommitBaseCache {
  private readonly entries = new Map<string, TableMetadata>();

  constructor(private readonly maxEntries = DEFAULT_ENTRIES) {}

  /** The metadata of the file at `location`, when this process wrote it recently; never to be modified. */
  get(location: string): TableMetadata | undefined {
    return this.entries.get(location);
  }

  /** Remembers the metadata parsed back from the file just written at `location`. */
  set(location: string, metadata: TableMetadata): void {
    this.entries.delete(location);
    this.entries.set(location, metadata);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done === true) break;
      this.entries.delete(oldest.value);
    }
  }

  /** Forgets a file (deleted, or its commit not applied). */
  delete(location: string): void {
    this.entries.delete(location);
  }
}
