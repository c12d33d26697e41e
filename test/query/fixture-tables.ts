/**
 * Opens the foreign Iceberg tables in `../shared/fixtures/iceberg-tables` (written by Spark,
 * Iceberg Java, DuckDB) with a FileIO that remaps each table's baked-in path prefix onto the
 * local copy. Only call when SKIP_NO_SHARED is false.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import type { TableMetadata } from '../../src/iceberg/metadata.js';
import type { FileIO } from '../../src/io/file-io.js';
import { LocalFileIO } from '../../src/io/local.js';
import { RemapFileIO } from '../../src/io/remap.js';
import { fixturePath } from '../helpers/shared.js';

/** One table of `manifest.json`. */
export interface FixtureEntry {
  name: string;
  metadata: string;
  pathPrefix: string;
  localRoot: string;
  expected: { count: number; snapshotCounts?: Record<string, number>; expectedRowsParquet?: string };
}

/** An opened fixture table. */
export interface FixtureTable {
  entry: FixtureEntry;
  /** Local directory of the table copy. */
  root: string;
  io: FileIO;
  metadata: TableMetadata;
}

/** The entries of `manifest.json`. */
export function fixtureEntries(): FixtureEntry[] {
  const text = readFileSync(fixturePath('iceberg-tables', 'manifest.json'), 'utf8');
  return (JSON.parse(text) as { tables: FixtureEntry[] }).tables;
}

/**
 * Opens a fixture table at its listed metadata file, or at another metadata file of the same
 * directory (`v8.metadata.json`) for older versions.
 */
export function openFixture(name: string, metadataFile?: string): FixtureTable {
  const entry = fixtureEntries().find((t) => t.name === name);
  if (!entry) throw new Error(`test: no fixture table ${name}`);
  const root = fixturePath('iceberg-tables', entry.localRoot);
  const io = new RemapFileIO([{ from: entry.pathPrefix, to: root }], new LocalFileIO());
  let metadataPath = join(root, entry.metadata);
  if (metadataFile) metadataPath = join(metadataPath, '..', metadataFile);
  const metadata = parseTableMetadata(readFileSync(metadataPath, 'utf8'), metadataPath);
  return { entry, root, io, metadata };
}
