/**
 * The commit loop shared by every snapshot-producing operation (append, replace, overwrite).
 *
 * Optimistic concurrency: an attempt builds manifests on top of the table's current state and
 * commits with `assert-ref-snapshot-id` on the branch it read. On CommitConflictError the table is
 * reloaded, the caller's validation runs again on the new state, the snapshot is rebuilt, and the
 * commit is retried with backoff.
 *
 * An unavailable catalog is ridden out for a bounded time ({@link OutagePolicy}, two minutes by
 * default), each wait reported through `onRetry`:
 * - CatalogUnreachableError (the request provably never left: connection refused, DNS): the same
 *   request is sent again; nothing was applied, so this is no conflict and needs no rebuild.
 * - CommitStateUnknownError (a timeout, a reset after the request left, a 5xx): the snapshot id is
 *   chosen before the first attempt, so a reload tells whether the commit landed; reloads are
 *   retried while the catalog is down. Landed: done. Not landed: the same request is sent again
 *   (up to `maxResends` times), which is safe because its `assert-ref-snapshot-id` lets at most
 *   one copy apply (a later conflict finds our snapshot in the table and counts as landed). Not
 *   resolved within the budget, or still unknown after the resends: CommitStateUnknownError,
 *   every written file kept.
 */
import { randomUUID } from 'node:crypto';
import {
  CatalogUnreachableError,
  CommitConflictError,
  CommitStateUnknownError,
  FloeError,
  NotFoundError,
  UnsupportedError,
  ValidationError,
} from '../errors.js';
import { assignFirstRowIds, readManifestList, writeManifestList } from '../iceberg/avro/manifest-list.js';
import { readManifest, inheritSequenceNumbers } from '../iceberg/avro/manifest.js';
import { encodeManifest } from '../iceberg/avro/summary.js';
import type { TableRequirement, TableUpdate } from '../iceberg/commit.js';
import { EntryStatus, FileContent, type DataFile, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { PartitionSpec, Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { currentSchema } from '../iceberg/metadata-lookup.js';
import { partitionType } from '../iceberg/partitioning.js';
import { findSnapshot, mergeSummary, newSnapshotId, snapshotForRef, summarizeFiles } from '../iceberg/snapshot.js';
import type { Schema } from '../iceberg/types.js';
import { applyUpdates } from '../iceberg/update-metadata.js';
import { joinLocation } from '../io/location.js';
import { backoffDelayMs, sleep, type RetryPolicy } from '../retry.js';
import { DEFAULT_OUTAGE_POLICY, retryPolicyFromProperties, type OutagePolicy } from './commit-policy.js';
import type { Table } from './table.js';

/** Summary keys with this prefix are carried from the parent snapshot into every new snapshot. */
export const CHECKPOINT_PREFIX = 'floe.checkpoint.';

/** Options common to every snapshot-producing operation. */
export interface CommitOptions {
  /** Extra snapshot-summary keys (e.g. stream checkpoint positions). */
  summary?: Record<string, string>;
  /**
   * Checkpoint keys ({@link CHECKPOINT_PREFIX}) not to carry from the parent snapshot: positions
   * the source no longer needs (a finished shard whose child has a position).
   */
  dropCheckpoints?: readonly string[];
  /**
   * Runs before every attempt on the table state the attempt builds on; throw to abort the commit
   * (e.g. a pipeline fencing itself when the table's checkpoint moved under it).
   */
  validate?: (base: TableMetadata) => void | Promise<void>;
  /**
   * Conflict retries where the table's `commit.retry.*` properties say nothing (default Java's:
   * 100 ms doubling to 60 s, 5 attempts). Writers that conflict all the time by design (workers
   * sharing a stream, each committing its own shards every second) retry sooner and longer.
   */
  conflictDefaults?: Partial<RetryPolicy>;
  /** Branch to commit to. Default `main`. */
  branch?: string;
  /** Pre-assigned snapshot id. Default: random. */
  snapshotId?: bigint;
  /** How long to ride out an unavailable catalog (see the file comment). Default {@link DEFAULT_OUTAGE_POLICY}. */
  outage?: Partial<OutagePolicy>;
  /** Called before each wait for an unavailable catalog (logs, metrics); must not throw. */
  onRetry?: (event: CommitRetryEvent) => void;
  /**
   * Ends the waits for an unavailable catalog early (a pipeline stopping): the commit then fails
   * as it would when the budget runs out. A request already sent is not abandoned. It also ends
   * the SQLite catalog's wait for another connection's lock (after 250 ms of grace): the commit
   * fails with code `ABORTED`, nothing applied.
   */
  signal?: AbortSignal;
  /**
   * A schema made current in the same atomic commit as the snapshot (columns the added rows
   * introduced: a pipeline's `transform.unmapped: add_columns`). Sent as `add-schema` +
   * `set-current-schema` with `assert-current-schema-id` and `assert-last-assigned-field-id` on
   * the base; the snapshot's manifests and `schema-id` use it. A base whose schema is not the one
   * the change was derived from must be refused by `validate` (a retry would clobber it).
   */
  schemaChange?: { schema: Schema; lastColumnId: number };
}

/** One wait of a commit for an unavailable catalog. */
export interface CommitRetryEvent {
  table: string;
  /**
   * `unreachable`: the commit request never left (it is sent again); `unknown-outcome`: a reload
   * showed the commit did not land (it is sent again); `reload-failed`: a reload, to resolve an
   * unknown outcome or a conflict, could not reach the catalog.
   */
  reason: 'unreachable' | 'unknown-outcome' | 'reload-failed';
  /** Waits of this commit so far, this one included (1-based). */
  retry: number;
  waitMs: number;
  /** Time since this commit first found the catalog unavailable. */
  outageMs: number;
  error: string;
}

/** An error that says the catalog could not serve a request now (a reload may be tried again). */
function catalogUnavailable(e: unknown): boolean {
  return e instanceof FloeError && e.retriable && !(e instanceof CommitConflictError);
}

/** What an attempt produced. */
export interface BuiltSnapshot {
  manifests: ManifestFile[];
  added: DataFile[];
  removed: DataFile[];
}

/** The outcome of a successful commit. */
export interface CommitResult {
  snapshot: Snapshot;
  metadata: TableMetadata;
  metadataLocation: string;
  attempts: number;
}

/** Base of append / replace / overwrite. */
export abstract class SnapshotProducer {
  /** Chosen once, before the first attempt: lets an unknown commit outcome be checked. */
  readonly snapshotId: bigint;
  protected readonly branch: string;
  /** Every file this operation wrote, to delete the unused ones after the commit. */
  private readonly written = new Set<string>();
  private readonly commitUuid = randomUUID();
  private manifestCount = 0;
  /** What each sent attempt built, by manifest list: a landed snapshot keeps exactly its files. */
  private readonly sent = new Map<string, BuiltSnapshot>();
  /** When this commit first found the catalog unavailable; the outage budget counts from here. */
  private outageStart: number | undefined;
  private outageRetries = 0;
  /** An unknown outcome not yet resolved: giving up then keeps every file. */
  private unresolved: CommitStateUnknownError | undefined;
  /**
   * A request was sent again after an unknown outcome: a conflict may be our own first copy, and
   * giving up keeps every file (that copy may still land).
   */
  private resentAfterUnknown = false;
  private resends = 0;

  constructor(
    protected readonly table: Table,
    protected readonly options: CommitOptions = {},
  ) {
    this.snapshotId = options.snapshotId ?? newSnapshotId();
    this.branch = options.branch ?? 'main';
  }

  /** The snapshot operation recorded in the summary. */
  protected abstract operation(): SnapshotSummary['operation'];

  /** Builds the new snapshot's manifests on top of `base` (whose branch head is `parent`). */
  protected abstract build(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot>;

  /** Commits, retrying on conflicts per the table's `commit.retry.*` properties. */
  async commit(): Promise<CommitResult> {
    const started = Date.now();
    let attempt = 0;
    for (;;) {
      attempt++;
      const base = this.table.metadata;
      if (base['format-version'] > 3) {
        throw new UnsupportedError(`table: ${this.table.name}: writing format v${base['format-version']} tables is not supported`);
      }
      const parent = snapshotForRef(base, this.branch);
      try {
        await this.options.validate?.(base);
        const change = this.schemaUpdates(base);
        // The snapshot is built on the base as the schema change leaves it (manifests, schema-id).
        const target = change.updates.length > 0 ? applyUpdates(base, change.updates) : base;
        const built = await this.buildOnBase(target, parent);
        const { snapshot, listLocation } = await this.writeSnapshot(target, parent, built, attempt);
        const requirements: TableRequirement[] = [
          { type: 'assert-table-uuid', uuid: base['table-uuid'] },
          { type: 'assert-ref-snapshot-id', ref: this.branch, 'snapshot-id': parent?.['snapshot-id'] ?? null },
          ...change.requirements,
        ];
        const updates: TableUpdate[] = [
          ...change.updates,
          { action: 'add-snapshot', snapshot },
          { action: 'set-snapshot-ref', 'ref-name': this.branch, type: 'branch', 'snapshot-id': this.snapshotId },
        ];
        this.sent.set(listLocation, built);
        const loaded = await this.send(requirements, updates);
        return this.succeeded(loaded, attempt, listLocation, built);
      } catch (e) {
        if (!(e instanceof CommitConflictError)) {
          if (!(e instanceof CommitStateUnknownError) && !this.resentAfterUnknown) await this.cleanup(new Set());
          throw e;
        }
        const policy = retryPolicyFromProperties(base.properties, this.options.conflictDefaults);
        const exhausted = attempt >= policy.maxAttempts || Date.now() - started > policy.budgetMs;
        // A conflict's backoff is short and not an outage wait: a stop does not cut it.
        if (!exhausted) await sleep(backoffDelayMs(attempt - 1, policy));
        if (!exhausted || this.resentAfterUnknown) {
          await this.refreshPatiently();
          // The first copy of a request sent again may be what we conflicted with.
          if (this.resentAfterUnknown) {
            const landed = await this.landedInTable(attempt);
            if (landed) return landed;
          }
        }
        if (exhausted) {
          if (!this.resentAfterUnknown) await this.cleanup(new Set());
          throw new CommitConflictError(
            `table: ${this.table.name}: commit failed after ${attempt} attempts: ${(e as Error).message}`,
            { cause: e },
          );
        }
      }
    }
  }

  /** The requirements and updates of {@link CommitOptions.schemaChange} on `base` (none without one). */
  private schemaUpdates(base: TableMetadata): { requirements: TableRequirement[]; updates: TableUpdate[] } {
    const change = this.options.schemaChange;
    if (change === undefined) return { requirements: [], updates: [] };
    return {
      requirements: [
        { type: 'assert-current-schema-id', 'current-schema-id': base['current-schema-id'] },
        { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': base['last-column-id'] },
      ],
      updates: [
        { action: 'add-schema', schema: change.schema, 'last-column-id': change.lastColumnId },
        { action: 'set-current-schema', 'schema-id': -1 },
      ],
    };
  }

  /**
   * {@link build}, where a file of the base that is gone means the base is stale: another writer
   * replaced the snapshot it read and expired it (deleting its manifest list) after this table's
   * metadata was loaded. That is a conflict (reload, rebuild); a file missing from the branch's
   * current snapshot is a real loss and fails.
   */
  private async buildOnBase(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot> {
    try {
      return await this.build(base, parent);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      await this.table.refresh();
      const now = snapshotForRef(this.table.metadata, this.branch);
      if (now?.['snapshot-id'] === parent?.['snapshot-id']) throw e;
      throw new CommitConflictError(`table: ${this.table.name}: the snapshot this commit was built on was replaced and expired meanwhile (${(e as Error).message})`, {
        cause: e,
      });
    }
  }

  private async succeeded(
    loaded: { metadata: TableMetadata; metadataLocation: string },
    attempts: number,
    listLocation: string,
    built: BuiltSnapshot,
  ): Promise<CommitResult> {
    const snapshot = findSnapshot(loaded.metadata, this.snapshotId);
    if (!snapshot) throw new ValidationError(`table: ${this.table.name}: committed snapshot ${this.snapshotId} is missing`);
    await this.cleanup(new Set([listLocation, ...built.manifests.map((m) => m.manifest_path)]));
    return { snapshot, metadata: loaded.metadata, metadataLocation: loaded.metadataLocation, attempts };
  }

  /**
   * Sends the commit (the commit point: the catalog swaps the metadata pointer atomically or not
   * at all), riding out an unavailable catalog (see the file comment).
   */
  private async send(requirements: TableRequirement[], updates: TableUpdate[]): Promise<{ metadata: TableMetadata; metadataLocation: string }> {
    for (;;) {
      try {
        // The signal also ends a wait for the SQLite catalog's lock (ABORTED, nothing applied).
        const signal = this.options.signal;
        const loaded = await this.table.commitRaw(requirements, updates, signal ? { signal } : undefined);
        this.unresolved = undefined;
        return loaded;
      } catch (e) {
        if (e instanceof CatalogUnreachableError) {
          await this.waitForCatalog('unreachable', e);
          continue;
        }
        if (!(e instanceof CommitStateUnknownError)) throw e;
        this.unresolved = e;
        const landed = await this.checkLanded();
        if (landed) {
          this.unresolved = undefined;
          return landed;
        }
        // Not in the table: not applied (or not yet; the requirements keep it to one copy).
        if (this.resends >= { ...DEFAULT_OUTAGE_POLICY, ...this.options.outage }.maxResends) throw e; // keeps every file
        this.resends++;
        this.unresolved = undefined;
        this.resentAfterUnknown = true;
        await this.waitForCatalog('unknown-outcome', e);
      }
    }
  }

  /** After an unknown outcome: reload (while the catalog is down, again) and look for our snapshot id. */
  private async checkLanded(): Promise<{ metadata: TableMetadata; metadataLocation: string } | undefined> {
    await this.refreshPatiently();
    return findSnapshot(this.table.metadata, this.snapshotId) ? this.table.loaded : undefined;
  }

  /** Reloads the table, waiting for the catalog while it cannot answer. */
  private async refreshPatiently(): Promise<void> {
    for (;;) {
      try {
        await this.table.refresh();
        return;
      } catch (e) {
        if (!catalogUnavailable(e)) throw this.unresolved ?? e;
        await this.waitForCatalog('reload-failed', e);
      }
    }
  }

  /** Our snapshot, found in the reloaded table after a conflict: it landed from an earlier send. */
  private async landedInTable(attempt: number): Promise<CommitResult | undefined> {
    const snapshot = findSnapshot(this.table.metadata, this.snapshotId);
    if (!snapshot) return undefined;
    const list = snapshot['manifest-list'] ?? '';
    const built = this.sent.get(list);
    if (built) return this.succeeded(this.table.loaded, attempt, list, built);
    this.written.clear(); // cannot tell which files it uses: keep them all (orphan removal sweeps)
    return { snapshot, metadata: this.table.metadata, metadataLocation: this.table.loaded.metadataLocation, attempts: attempt };
  }

  /**
   * One wait for an unavailable catalog, within the outage budget; throws when the budget is spent
   * or the signal aborts: CommitStateUnknownError while an outcome is unresolved, else
   * CatalogUnreachableError (nothing was applied).
   */
  private async waitForCatalog(reason: CommitRetryEvent['reason'], error: unknown): Promise<void> {
    const policy = { ...DEFAULT_OUTAGE_POLICY, ...this.options.outage };
    const now = Date.now();
    this.outageStart ??= now;
    const outageMs = now - this.outageStart;
    if (outageMs >= policy.budgetMs || this.outageRetries + 1 >= policy.maxAttempts) {
      throw this.gaveUp(`the catalog stayed unavailable for ${(outageMs / 1000).toFixed(1)} s (${this.outageRetries} retries)`, error);
    }
    this.outageRetries++;
    const waitMs = Math.max(0, Math.min(policy.budgetMs - outageMs, backoffDelayMs(this.outageRetries - 1, policy)));
    try {
      this.options.onRetry?.({ table: this.table.name, reason, retry: this.outageRetries, waitMs, outageMs, error: errorText(error) });
    } catch {
      // A broken listener must not break the commit.
    }
    await this.pause(waitMs, error);
  }

  /** Sleeps, unless the signal aborts: then the commit gives up (see {@link waitForCatalog}). */
  private async pause(ms: number, error: unknown): Promise<void> {
    if (!(await sleep(ms, this.options.signal))) throw this.gaveUp('stopped while waiting to retry', error);
  }

  private gaveUp(why: string, error: unknown): FloeError {
    // A copy of the request whose outcome was unknown may still land: keep every file.
    const unknown = this.unresolved ?? (error instanceof CommitStateUnknownError ? error : undefined);
    if (unknown || this.resentAfterUnknown) {
      return new CommitStateUnknownError(
        `table: ${this.table.name}: commit outcome unknown: ${why}; reload the table to see whether snapshot ${this.snapshotId} landed: ${errorText(unknown ?? error)}`,
        { cause: error },
      );
    }
    return new CatalogUnreachableError(`table: ${this.table.name}: commit not applied: ${why}: ${errorText(error)}`, { cause: error });
  }

  /** Deletes files this operation wrote that the committed snapshot does not use. */
  private async cleanup(keep: Set<string>): Promise<void> {
    for (const loc of this.written) {
      if (keep.has(loc)) continue;
      try {
        await this.table.io.delete(loc);
      } catch {
        // Best effort: an orphan is harmless and orphan removal sweeps it later.
      }
    }
    this.written.clear();
  }

  /** Forget a written file (it must be kept, e.g. a manifest reused by the next attempt). */
  protected keepWritten(location: string): void {
    this.written.delete(location);
  }

  private metadataDir(base: TableMetadata): string {
    return base.properties['write.metadata.path'] ?? joinLocation(base.location, 'metadata');
  }

  /** Writes a manifest of the given entries and returns its manifest-list entry. */
  protected async writeManifest(
    base: TableMetadata,
    spec: PartitionSpec,
    content: 'data' | 'deletes',
    entries: ManifestEntry[],
  ): Promise<ManifestFile> {
    const schema = currentSchema(base, 'table');
    const path = joinLocation(this.metadataDir(base), `${this.commitUuid}-m${this.manifestCount++}.avro`);
    const v = base['format-version'] as 1 | 2 | 3;
    const { bytes, manifest } = encodeManifest({
      formatVersion: v,
      spec,
      schema,
      partitionType: partitionType(spec, schema),
      content,
      entries: v >= 3 ? entries.map(lineageEntry) : entries,
      snapshotId: this.snapshotId,
      path,
    });
    this.written.add(path);
    await this.table.io.write(path, bytes);
    return manifest;
  }

  /** The parent's manifests (from its manifest list). */
  protected async parentManifests(parent: Snapshot | undefined): Promise<ManifestFile[]> {
    if (!parent) return [];
    const list = parent['manifest-list'];
    if (!list) {
      throw new UnsupportedError(
        `table: ${this.table.name}: snapshot ${parent['snapshot-id']} lists manifests inline (v1 without manifest list); cannot append to it`,
      );
    }
    return readManifestList(await this.table.io.read(list), list);
  }

  /** A manifest's entries with inherited snapshot ids and sequence numbers filled in. */
  protected async manifestEntries(manifest: ManifestFile): Promise<ManifestEntry[]> {
    const { entries } = readManifest(await this.table.io.read(manifest.manifest_path), manifest.manifest_path);
    return inheritSequenceNumbers(entries, manifest);
  }

  private async writeSnapshot(
    base: TableMetadata,
    parent: Snapshot | undefined,
    built: BuiltSnapshot,
    attempt: number,
  ): Promise<{ snapshot: Snapshot; listLocation: string }> {
    const v = base['format-version'] as 1 | 2 | 3;
    const sequenceNumber = v >= 2 ? base['last-sequence-number'] + 1n : 0n;
    const listLocation = joinLocation(
      this.metadataDir(base),
      `snap-${this.snapshotId}-${attempt}-${this.commitUuid}.avro`,
    );
    // v3 row lineage (spec §Snapshot Row IDs): the id range starts at the base's next-row-id, read
    // again on every attempt, so a retry after a conflict takes the range the winner left free.
    // Manifests carried from the parent keep their first_row_id; new data manifests get theirs here.
    const lineage = v >= 3 ? assignFirstRowIds(built.manifests, base['next-row-id'] ?? 0n) : undefined;
    const firstRowId = lineage ? (base['next-row-id'] ?? 0n) : undefined;
    const bytes = writeManifestList({
      formatVersion: v,
      snapshotId: this.snapshotId,
      parentSnapshotId: parent?.['snapshot-id'] ?? null,
      sequenceNumber,
      ...(firstRowId !== undefined ? { firstRowId } : {}),
      manifests: lineage?.manifests ?? built.manifests,
      what: listLocation,
    });
    this.written.add(listLocation);
    await this.table.io.write(listLocation, bytes);

    const carried: Record<string, string> = {};
    const drop = this.options.dropCheckpoints;
    for (const [k, val] of Object.entries(parent?.summary ?? {})) {
      if (k.startsWith(CHECKPOINT_PREFIX) && !drop?.includes(k)) carried[k] = val;
    }
    const summary = mergeSummary(
      this.operation(),
      summarizeFiles(built.added, built.removed),
      parent?.summary,
      { ...carried, ...this.options.summary },
    );
    const snapshot: Snapshot = {
      'snapshot-id': this.snapshotId,
      ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
      ...(v >= 2 ? { 'sequence-number': sequenceNumber } : {}),
      'timestamp-ms': Math.max(Date.now(), parent?.['timestamp-ms'] ?? 0),
      'manifest-list': listLocation,
      summary,
      'schema-id': base['current-schema-id'],
      // added-rows is the whole range handed out (existing rows of rewritten manifests too), so
      // next-row-id = first-row-id + added-rows stays above every id this list assigns.
      ...(lineage && firstRowId !== undefined ? { 'first-row-id': firstRowId, 'added-rows': lineage.nextRowId - firstRowId } : {}),
    };
    return { snapshot, listLocation };
  }
}

/**
 * A manifest entry as a v3 manifest must hold it (spec §First Row ID Inheritance): an ADDED data
 * file gets its `first_row_id` by inheritance when the list assigns the manifest's, so a value the
 * caller's DataFile carries (e.g. one read back from another manifest) is dropped; delete files
 * never have one. EXISTING and DELETED data entries keep the inherited value they were read with.
 */
function lineageEntry(e: ManifestEntry): ManifestEntry {
  const d = e.data_file;
  const clear = d.content !== FileContent.DATA || e.status === EntryStatus.ADDED;
  if (!clear || d.first_row_id == null) return e;
  const file: DataFile = { ...d };
  delete file.first_row_id;
  return { ...e, data_file: file };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
