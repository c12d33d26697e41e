/**
 * The part of a catalog commit that does not depend on where the pointer lives: check the
 * requirements against the current metadata, apply the updates, and decide the next metadata file.
 * Shared by every catalog that writes metadata files itself (the embedded SQL catalog, Glue), so
 * they all produce the same files for the same commit; only the pointer swap differs.
 */
import { randomUUID } from 'node:crypto';
import type { TableRequirement, TableUpdate } from '../iceberg/commit.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { serializeTableMetadata } from '../iceberg/table-metadata.js';
import { applyUpdates, checkRequirements, metadataVersion, withMetadataLog } from '../iceberg/update-metadata.js';
import { newMetadataLocation } from './warehouse.js';

/** What {@link planCommit} decided. */
export type PlannedCommit =
  /** The updates change nothing: no new file, no new version (as PyIceberg and Java do). */
  | { changed: false; metadata: TableMetadata; metadataLocation: string }
  /** Write `metadata` to `metadataLocation`, then swap the pointer from the base to it. */
  | { changed: true; metadata: TableMetadata; metadataLocation: string };

/**
 * Checks `requirements` against `base`, applies `updates`, and names the next metadata file
 * (`<version + 1>-<uuid>.metadata.json`, with the previous file added to the metadata log).
 * Pure: nothing is written, and `base` is only read (catalogs may pass the metadata they cached).
 * @throws CommitConflictError when a requirement does not hold; ValidationError for bad updates
 */
export function planCommit(
  base: TableMetadata,
  baseLocation: string,
  requirements: TableRequirement[],
  updates: TableUpdate[],
): PlannedCommit {
  checkRequirements(base, requirements);
  const updated = applyUpdates(base, updates);
  // A commit that adds a snapshot always changes the table (applyUpdates refuses an id that
  // exists), so the two serializations that find a no-op commit are spared on the pipeline's
  // commits: a few milliseconds and two large strings each once the metadata holds many snapshots.
  const addsSnapshot = updates.some((u) => u.action === 'add-snapshot');
  if (!addsSnapshot && serializeTableMetadata(updated) === serializeTableMetadata(base)) {
    return { changed: false, metadata: base, metadataLocation: baseLocation };
  }
  const next = withMetadataLog(updated, baseLocation, base['last-updated-ms']);
  return { changed: true, metadata: next, metadataLocation: newMetadataLocation(next, (metadataVersion(baseLocation) ?? -1) + 1) };
}

/**
 * The metadata of a table created by a commit with `assert-create` (the REST "create
 * transaction"): the updates are applied to an empty table at `location` (format v1 until an
 * `upgrade-format-version`, which REST clients send; v2 when none is given). Version 0 of the
 * table is written to {@link newMetadataLocation}`(metadata, 0)`.
 * @throws CommitConflictError when a requirement other than assert-create is given
 */
export function createTransactionMetadata(location: string, requirements: TableRequirement[], updates: TableUpdate[]): TableMetadata {
  checkRequirements(undefined, requirements);
  const empty: TableMetadata = {
    'format-version': 1,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0n,
    'last-updated-ms': Date.now(),
    'last-column-id': 0,
    // Ids 0 (not -1) so that the first schema/spec/order added gets id 0, as in a created table.
    schemas: [],
    'current-schema-id': 0,
    'partition-specs': [],
    'default-spec-id': 0,
    'last-partition-id': 999,
    properties: {},
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [],
    'default-sort-order-id': 0,
    refs: {},
  };
  const all: TableUpdate[] = updates.some((u) => u.action === 'upgrade-format-version')
    ? updates
    : [{ action: 'upgrade-format-version', 'format-version': 2 }, ...updates];
  return applyUpdates(empty, all);
}
