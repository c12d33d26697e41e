/**
 * The commit loop shared by every snapshot-producing operation (append, replace, overwrite).
 *
 * Optimistic concurrency: an attempt builds manifests on top of the table's current state and
 * commits with `assert-ref-snapshot-id` on the branch it read. On CommitConflictError the table is
 * reloaded, the caller's validation runs again on the new state, the snapshot is rebuilt, and the
 * commit is retried with backoff. On CommitStateUnknownError nothing is retried: the snapshot id is
 * chosen before the first attempt, so a reload can tell whether the commit landed.
 */
import { randomUUID } from 'node:crypto';
import {
  CommitConflictError,
  CommitStateUnknownError,
  NotFoundError,
  UnsupportedError,
  ValidationError,
} from '../errors.js';
import { readManifestList, writeManifestList } from '../iceberg/avro/manifest-list.js';
import { readManifest, inheritSequenceNumbers } from '../iceberg/avro/manifest.js';
import { encodeManifest } from '../iceberg/avro/summary.js';
import type { TableRequirement, TableUpdate } from '../iceberg/commit.js';
import type { DataFile, ManifestEntry, ManifestFile } from '../iceberg/manifest-types.js';
import type { PartitionSpec, Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { partitionType } from '../iceberg/partitioning.js';
import { findSnapshot, mergeSummary, newSnapshotId, snapshotForRef, summarizeFiles } from '../iceberg/snapshot.js';
import type { Schema } from '../iceberg/types.js';
import { joinLocation } from '../io/location.js';
import { backoffMs, retryPolicyFromProperties, sleep } from './retry.js';
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
  /** Branch to commit to. Default `main`. */
  branch?: string;
  /** Pre-assigned snapshot id. Default: random. */
  snapshotId?: bigint;
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
      if (base['format-version'] > 2) {
        throw new UnsupportedError(`table: ${this.table.name}: writing format v${base['format-version']} tables is not supported`);
      }
      const parent = snapshotForRef(base, this.branch);
      try {
        await this.options.validate?.(base);
        const built = await this.buildOnBase(base, parent);
        const { snapshot, listLocation } = await this.writeSnapshot(base, parent, built, attempt);
        const requirements: TableRequirement[] = [
          { type: 'assert-table-uuid', uuid: base['table-uuid'] },
          { type: 'assert-ref-snapshot-id', ref: this.branch, 'snapshot-id': parent?.['snapshot-id'] ?? null },
        ];
        const updates: TableUpdate[] = [
          { action: 'add-snapshot', snapshot },
          { action: 'set-snapshot-ref', 'ref-name': this.branch, type: 'branch', 'snapshot-id': this.snapshotId },
        ];
        let loaded;
        try {
          // The commit point: the catalog swaps the metadata pointer atomically or not at all.
          loaded = await this.table.commitRaw(requirements, updates);
        } catch (e) {
          if (e instanceof CommitStateUnknownError) {
            const landed = await this.checkLanded();
            if (landed) return this.succeeded(landed, attempt, listLocation, built);
            throw e; // Neither confirmed nor refuted: keep every file, never retry blindly.
          }
          throw e;
        }
        return this.succeeded(loaded, attempt, listLocation, built);
      } catch (e) {
        if (!(e instanceof CommitConflictError)) {
          if (!(e instanceof CommitStateUnknownError)) await this.cleanup(new Set());
          throw e;
        }
        const policy = retryPolicyFromProperties(base.properties);
        if (attempt > policy.retries || Date.now() - started > policy.totalTimeoutMs) {
          await this.cleanup(new Set());
          throw new CommitConflictError(
            `table: ${this.table.name}: commit failed after ${attempt} attempts: ${(e as Error).message}`,
            { cause: e },
          );
        }
        await sleep(backoffMs(policy, attempt));
        await this.table.refresh();
      }
    }
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

  /** After an unknown outcome: reload and look for our snapshot id. */
  private async checkLanded(): Promise<{ metadata: TableMetadata; metadataLocation: string } | undefined> {
    for (let i = 0; i < 3; i++) {
      try {
        await this.table.refresh();
        return findSnapshot(this.table.metadata, this.snapshotId) ? this.table.loaded : undefined;
      } catch {
        await sleep(200 * (i + 1));
      }
    }
    return undefined;
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
    const schema = currentSchema(base);
    const path = joinLocation(this.metadataDir(base), `${this.commitUuid}-m${this.manifestCount++}.avro`);
    const { bytes, manifest } = encodeManifest({
      formatVersion: base['format-version'] as 1 | 2,
      spec,
      schema,
      partitionType: partitionType(spec, schema),
      content,
      entries,
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
    const v = base['format-version'] as 1 | 2;
    const sequenceNumber = v >= 2 ? base['last-sequence-number'] + 1n : 0n;
    const listLocation = joinLocation(
      this.metadataDir(base),
      `snap-${this.snapshotId}-${attempt}-${this.commitUuid}.avro`,
    );
    const bytes = writeManifestList({
      formatVersion: v,
      snapshotId: this.snapshotId,
      parentSnapshotId: parent?.['snapshot-id'] ?? null,
      sequenceNumber,
      manifests: built.manifests,
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
    };
    return { snapshot, listLocation };
  }
}

/** The table's current schema. */
export function currentSchema(md: TableMetadata): Schema {
  const s = md.schemas.find((x) => x['schema-id'] === md['current-schema-id']);
  if (!s) throw new ValidationError(`table: current schema ${md['current-schema-id']} not found`);
  return s;
}

/** A partition spec by id. */
export function specById(md: TableMetadata, id: number): PartitionSpec {
  const s = md['partition-specs'].find((x) => x['spec-id'] === id);
  if (!s) throw new ValidationError(`table: partition spec ${id} not found`);
  return s;
}
