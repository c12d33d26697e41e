/**
 * `DELETE …/tables/{table}?purgeRequested=true` on floe's REST catalog server: the server drops
 * the table from the catalog, then deletes the table's files itself through a FileIO that reads
 * and deletes only inside the table's own directories (`LocationPolicy.purgeRoots`), so that a
 * snapshot naming a foreign manifest list, manifest, data file or statistics file can never
 * have the server read or delete it. Files outside are left in place and reported to the log.
 *
 * Dropping first and purging what was loaded just before means a commit landing in between
 * leaves its new files behind (never deletes files of a table that still exists).
 */
import { FloeError } from '../../errors.js';
import type { FileIO } from '../../io/file-io.js';
import { formatTableIdentifier, type Catalog, type TableIdentifier } from '../catalog.js';
import { assertPurged, purgeTableFiles } from '../sql/purge.js';
import { locationInside, type LocationPolicy } from './rest-server-locations.js';

/** Raised by the confined FileIO for a location outside the table. */
class OutsideTableError extends FloeError {
  constructor(location: string) {
    super('PURGE_REFUSED', `catalog: rest: purge: ${location} is outside the table's location; left in place`);
  }
}

/** A FileIO that reads and deletes only below one of `roots`. */
function confined(io: FileIO, roots: readonly string[]): FileIO {
  const inside = (location: string) => roots.some((r) => locationInside(r, location));
  const guard = (location: string) => {
    if (!inside(location)) throw new OutsideTableError(location);
  };
  return {
    read: async (l) => (guard(l), io.read(l)),
    readRange: async (l, o, n) => (guard(l), io.readRange(l, o, n)),
    stat: async (l) => (guard(l), io.stat(l)),
    exists: async (l) => (guard(l), io.exists(l)),
    write: async (l) => {
      throw new OutsideTableError(l); // a purge never writes
    },
    delete: async (l) => (guard(l), io.delete(l)),
    list: (p) => {
      guard(p);
      return io.list(p);
    },
    localPath: async (l) => (guard(l), io.localPath(l)),
  };
}

/**
 * Drops a table and deletes its files within its own directories.
 * @param log receives one line naming what was left outside the table, if anything
 * @throws FloeError `PURGE_INCOMPLETE` when files inside the table could not be deleted
 */
export async function dropAndPurge(catalog: Catalog, id: TableIdentifier, policy: LocationPolicy, log: (line: string) => void): Promise<void> {
  const table = await catalog.loadTable(id);
  await catalog.dropTable(id, { purge: false });
  const roots = policy.purgeRoots(table.metadata);
  const result = await purgeTableFiles(confined(table.io, roots), table.metadata, table.metadataLocation);
  const refused = result.failures.filter((f) => f.error instanceof OutsideTableError);
  const failed = result.failures.filter((f) => !(f.error instanceof OutsideTableError));
  const display = formatTableIdentifier(id);
  if (refused.length > 0) {
    log(`floe catalog: purge of ${display}: left ${refused.length} file(s) outside the table's location in place (first: ${refused[0]!.location})`);
  }
  assertPurged(display, failed);
}
