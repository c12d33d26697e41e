/**
 * Manifest rewriting: merges small manifests into fewer, larger ones, committed as a `replace`
 * snapshot that changes no data. Every fast append adds one manifest, so a table committed every
 * second gains 3,600 manifests an hour; each query plan and each expiry reads them all.
 *
 * Manifests are grouped by partition spec and content (data / deletes); within a group, manifests
 * smaller than the target size (`commit.manifest.target-size-bytes`, default 8 MiB) are bin-packed
 * and each bin of two or more becomes one manifest. Their live entries are written as EXISTING
 * with their snapshot ids and data/file sequence numbers made explicit, so every delete file keeps
 * applying exactly as before; deleted entries (history) are dropped. Other manifests are carried
 * over untouched. The snapshot carries the `floe.checkpoint.*` positions forward like any commit,
 * and a conflict rebuilds the merge on the new head.
 */
import { EntryStatus, type ManifestEntry, type ManifestFile } from '../iceberg/manifest-types.js';
import type { Snapshot, SnapshotSummary, TableMetadata } from '../iceberg/metadata.js';
import { specById } from '../iceberg/metadata-lookup.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import { SnapshotProducer, type BuiltSnapshot } from '../table/snapshot-producer.js';
import type { Table } from '../table/table.js';
import { checkPositiveInt, ManifestCache } from './files.js';
import { checkAborted, report, type MaintenanceRunOptions } from './progress.js';

/** Iceberg's default `commit.manifest.target-size-bytes`: 8 MiB. */
export const DEFAULT_TARGET_MANIFEST_SIZE = 8 * 1024 * 1024;

/** Options of {@link rewriteManifests}. */
export interface RewriteManifestsOptions extends MaintenanceRunOptions {
  /** Size of merged manifests. Default: `commit.manifest.target-size-bytes`, else 8 MiB. */
  targetManifestSizeBytes?: number;
  /** Do nothing unless the current snapshot has at least this many manifests. Default 2. */
  minManifests?: number;
}

/** What a manifest rewrite did. */
export interface RewriteManifestsResult {
  table: string;
  /** The replace snapshot; undefined when nothing was merged. */
  snapshotId: bigint | undefined;
  manifestsBefore: number;
  manifestsAfter: number;
  /** Manifests merged away. */
  replacedManifests: number;
  /** Manifests written. */
  createdManifests: number;
  /** Live entries written into the new manifests. */
  entries: number;
  attempts: number;
  durationMs: number;
}

/** The bins of manifests to merge, per spec and content (only bins of two or more). */
export function planManifestMerge(manifests: readonly ManifestFile[], target: number): ManifestFile[][] {
  const groups = new Map<string, ManifestFile[]>();
  for (const m of manifests) {
    if (m.manifest_length >= target) continue;
    const key = `${m.partition_spec_id}/${m.content}`;
    const g = groups.get(key);
    if (g) g.push(m);
    else groups.set(key, [m]);
  }
  const out: ManifestFile[][] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    // Oldest first (the list is newest first), so merged manifests keep related entries together.
    const bins: { size: number; items: ManifestFile[] }[] = [];
    for (const m of [...group].reverse()) {
      const last = bins[bins.length - 1];
      if (last && last.size + m.manifest_length <= target) {
        last.size += m.manifest_length;
        last.items.push(m);
      } else {
        bins.push({ size: m.manifest_length, items: [m] });
      }
    }
    for (const b of bins) if (b.items.length > 1) out.push(b.items);
  }
  return out;
}

/** The snapshot producer of a manifest rewrite. */
class RewriteManifestsOp extends SnapshotProducer {
  /** Filled by each attempt; the producer reads it when it writes the snapshot summary. */
  private readonly extra: Record<string, string>;
  private bins: { items: ManifestFile[]; output: { manifest: ManifestFile | null; entries: number } | undefined }[] | undefined;
  created = 0;
  replaced = 0;
  entries = 0;
  after = 0;

  constructor(
    table: Table,
    private readonly target: number,
    extra: Record<string, string>,
    signal?: AbortSignal,
  ) {
    // The signal ends the commit's wait for an unavailable catalog (a stopping `floe run`).
    super(table, { summary: extra, ...(signal ? { signal } : {}) });
    this.extra = extra;
  }

  protected operation(): SnapshotSummary['operation'] {
    return 'replace';
  }

  protected async build(base: TableMetadata, parent: Snapshot | undefined): Promise<BuiltSnapshot> {
    const current = await this.parentManifests(parent);
    const present = new Set(current.map((m) => m.manifest_path));
    // The first attempt fixes the bins; a retry reuses each merged manifest whose inputs are all
    // still in the table (manifests committed meanwhile are carried as they are), so a retry next
    // to a busy writer only rewrites the manifest list.
    this.bins ??= planManifestMerge(current, this.target).map((items) => ({ items, output: undefined }));
    const merged = new Set<string>();
    const written: ManifestFile[] = [];
    let entries = 0;
    for (const bin of this.bins) {
      if (!bin.items.every((m) => present.has(m.manifest_path))) continue;
      if (!bin.output) {
        const live: ManifestEntry[] = [];
        for (const m of bin.items) {
          for (const e of await this.manifestEntries(m)) {
            if (e.status === EntryStatus.DELETED) continue;
            live.push({ ...e, status: EntryStatus.EXISTING });
          }
        }
        const first = bin.items[0]!;
        // Only history (deleted entries): the manifests just go.
        const manifest =
          live.length === 0
            ? null
            : await this.writeManifest(base, specById(base, first.partition_spec_id, 'table'), first.content === 1 ? 'deletes' : 'data', live);
        bin.output = { manifest, entries: live.length };
      }
      for (const m of bin.items) merged.add(m.manifest_path);
      entries += bin.output.entries;
      if (bin.output.manifest) written.push(bin.output.manifest);
    }
    const kept = current.filter((m) => !merged.has(m.manifest_path));
    this.created = written.length;
    this.replaced = merged.size;
    this.entries = entries;
    this.after = written.length + kept.length;
    this.extra['manifests-created'] = String(written.length);
    this.extra['manifests-replaced'] = String(merged.size);
    this.extra['manifests-kept'] = String(kept.length);
    this.extra['entries-processed'] = String(entries);
    return { manifests: [...written, ...kept], added: [], removed: [] };
  }
}

/**
 * Merges the current snapshot's small manifests (see the file comment). When nothing would be
 * merged, nothing is committed.
 * @throws CommitConflictError when the commit keeps conflicting after the table's retries
 */
export async function rewriteManifests(table: Table, options: RewriteManifestsOptions = {}): Promise<RewriteManifestsResult> {
  const started = Date.now();
  await table.refresh();
  const md = table.metadata;
  const prop = Number(md.properties['commit.manifest.target-size-bytes']);
  const target =
    options.targetManifestSizeBytes !== undefined
      ? checkPositiveInt(options.targetManifestSizeBytes, 'rewrite-manifests: target manifest size')
      : Number.isSafeInteger(prop) && prop > 0
        ? prop
        : DEFAULT_TARGET_MANIFEST_SIZE;
  const minManifests = checkPositiveInt(options.minManifests ?? 2, 'rewrite-manifests: minimum manifests');
  const head = snapshotForRef(md, 'main');
  const before = head ? await new ManifestCache(table.io, table.name).snapshotManifests(head) : [];
  const result: RewriteManifestsResult = {
    table: table.name,
    snapshotId: undefined,
    manifestsBefore: before.length,
    manifestsAfter: before.length,
    replacedManifests: 0,
    createdManifests: 0,
    entries: 0,
    attempts: 0,
    durationMs: 0,
  };
  if (!head || before.length < minManifests || planManifestMerge(before, target).length === 0) {
    return { ...result, durationMs: Date.now() - started };
  }
  checkAborted(options.signal, `rewrite-manifests: ${table.name}`);
  report(options.onProgress, { operation: 'rewrite-manifests', phase: 'commit', done: 0, total: 1 });
  const op = new RewriteManifestsOp(table, target, {}, options.signal);
  const committed = await op.commit();
  report(options.onProgress, { operation: 'rewrite-manifests', phase: 'commit', done: 1, total: 1 });
  return {
    ...result,
    snapshotId: committed.snapshot['snapshot-id'],
    manifestsAfter: op.after,
    replacedManifests: op.replaced,
    createdManifests: op.created,
    entries: op.entries,
    attempts: committed.attempts,
    durationMs: Date.now() - started,
  };
}
