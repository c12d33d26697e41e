/**
 * `floe maintain compact|expire-snapshots|remove-orphans|rewrite-manifests NAMESPACE.TABLE`: table
 * maintenance on demand (the same operations `floe run` schedules from its `maintenance` policy).
 * Each prints one row describing what it did (remove-orphans: one row per orphan file), as a table
 * or with `--format json|csv`; a progress bar goes to stderr when the output is a terminal.
 * Exit codes: 0 done (also when there was nothing to do), 1 failure (including files that could
 * not be deleted), 2 bad usage.
 */
import type { Catalog, TableIdentifier } from '../../catalog/catalog.js';
import { parseTableIdentifier } from '../../catalog/catalog.js';
import { ValidationError } from '../../errors.js';
import { compactTable } from '../../maintenance/compact.js';
import { expireSnapshots } from '../../maintenance/expire-snapshots.js';
import type { MaintenanceProgress } from '../../maintenance/progress.js';
import { checkOrphanWindow, DEFAULT_ORPHAN_AGE_MS, removeOrphanFiles } from '../../maintenance/remove-orphans.js';
import { rewriteManifests } from '../../maintenance/rewrite-manifests.js';
import { parseWhere } from '../../maintenance/where.js';
import { MAX_AGE_MS, parseDuration, parseSize } from '../../pipeline/config.js';
import type { JsonOut } from '../../query/result-values.js';
import { Table } from '../../table/table.js';
import { parse, str, UsageError } from '../args.js';
import { CATALOG_OPTIONS, catalogFrom } from '../context.js';
import { formatPlain, parseFormat, type OutputFormat } from '../format.js';
import type { CommandIO } from '../io.js';

export const MAINTAIN_USAGE = `usage: floe maintain compact NAMESPACE.TABLE [--target-file-size 128MB] [--min-input-files 5] [--where "FILTER"]
       floe maintain expire-snapshots NAMESPACE.TABLE [--older-than 5d] [--retain-last 1] [--keep-files]
       floe maintain remove-orphans NAMESPACE.TABLE [--older-than 3d] [--allow-short-older-than] [--dry-run]
       floe maintain rewrite-manifests NAMESPACE.TABLE [--target-manifest-size 8MB] [--min-manifests 2]
  common: [--catalog URI] [--warehouse DIR] [--format table|json|csv]
  compact          bin-packs small data files per partition into files of the target size, applying
                   deletes; --where selects files (e.g. "event_time >= '2026-01-08'"), whole files
                   are rewritten
  expire-snapshots removes snapshots older than --older-than beyond the newest --retain-last, then
                   deletes the files only they needed (and metadata files older than the metadata log)
  remove-orphans   deletes files under the table location that no metadata references and that are
                   older than --older-than (a safety window for writers; default 3d, at least 24h
                   unless --allow-short-older-than); refuses a table whose location holds the
                   warehouse root, the catalog database or another table
  rewrite-manifests merges small manifests into fewer (no data change)`;

const SUBCOMMANDS = ['compact', 'expire-snapshots', 'remove-orphans', 'rewrite-manifests'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

/** Flags valid for each subcommand (besides the catalog flags and --format). */
const FLAGS: Record<Sub, string[]> = {
  compact: ['target-file-size', 'min-input-files', 'where'],
  'expire-snapshots': ['older-than', 'retain-last', 'keep-files'],
  'remove-orphans': ['older-than', 'dry-run', 'allow-short-older-than'],
  'rewrite-manifests': ['target-manifest-size', 'min-manifests'],
};

function cliValue<T>(flag: string, parseIt: () => T): T {
  try {
    return parseIt();
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`cli: --${flag}: ${e.message.replace(/^config: --?[\w-]+: /, '')}`, { cause: e });
    throw e;
  }
}

function duration(values: Record<string, unknown>, flag: string): number | undefined {
  const v = str(values, flag);
  return v === undefined ? undefined : cliValue(flag, () => parseDuration(v, `--${flag}`, MAX_AGE_MS));
}

function size(values: Record<string, unknown>, flag: string): number | undefined {
  const v = str(values, flag);
  return v === undefined ? undefined : cliValue(flag, () => parseSize(v, `--${flag}`));
}

function count(values: Record<string, unknown>, flag: string, min: number): number | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`cli: --${flag}: expected an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** A one-line progress bar on stderr, redrawn at most every 100 ms. */
class ProgressBar {
  private last = 0;
  private shown = false;

  constructor(private readonly io: CommandIO) {}

  update(p: MaintenanceProgress): void {
    const now = Date.now();
    if (now - this.last < 100 && p.done < p.total) return;
    this.last = now;
    const width = 24;
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const filled = Math.round(frac * width);
    this.io.stderr(`\r\x1b[2K${p.operation} ${p.phase.padEnd(7)} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}`);
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.io.stderr('\r\x1b[2K');
    this.shown = false;
  }
}

function tableArg(positionals: string[], sub: string): TableIdentifier {
  if (positionals.length !== 1) throw new UsageError(`cli: maintain ${sub} expects NAMESPACE.TABLE\n${MAINTAIN_USAGE}`);
  try {
    return parseTableIdentifier(positionals[0]!);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(`cli: maintain ${sub}: ${e.message}`, { cause: e });
    throw e;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const id = (v: bigint | undefined): JsonOut => (v === undefined ? null : v.toString());

/** Runs `floe maintain …`. */
export async function maintainCommand(argv: string[], io: CommandIO): Promise<number> {
  const [subArg, ...rest] = argv;
  if (!subArg || !(SUBCOMMANDS as readonly string[]).includes(subArg)) {
    throw new UsageError(`cli: unknown maintain subcommand '${subArg ?? ''}'\n${MAINTAIN_USAGE}`);
  }
  const sub = subArg as Sub;
  const { values, positionals } = parse(`maintain ${sub}`, rest, {
    ...CATALOG_OPTIONS,
    format: { type: 'string' },
    'target-file-size': { type: 'string' },
    'min-input-files': { type: 'string' },
    where: { type: 'string' },
    'older-than': { type: 'string' },
    'retain-last': { type: 'string' },
    'keep-files': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    'allow-short-older-than': { type: 'boolean' },
    'target-manifest-size': { type: 'string' },
    'min-manifests': { type: 'string' },
  });
  for (const flag of Object.values(FLAGS).flat()) {
    if (values[flag] !== undefined && !FLAGS[sub].includes(flag)) throw new UsageError(`cli: maintain ${sub}: --${flag} does not apply to ${sub}`);
  }
  const format = parseFormat(str(values, 'format'));
  const ident = tableArg(positionals, sub);
  // Everything parsed before the catalog is opened: bad usage never touches the table.
  const opts = {
    targetFileSize: size(values, 'target-file-size'),
    minInputFiles: count(values, 'min-input-files', 1),
    olderThan: duration(values, 'older-than'),
    retainLast: count(values, 'retain-last', 1),
    targetManifestSize: size(values, 'target-manifest-size'),
    minManifests: count(values, 'min-manifests', 1),
  };
  if (sub === 'remove-orphans') {
    const consent = values['allow-short-older-than'] === true || values['dry-run'] === true;
    cliValue('older-than', () => checkOrphanWindow(opts.olderThan ?? DEFAULT_ORPHAN_AGE_MS, consent, 'config: --older-than', '--allow-short-older-than'));
  }
  const catalog = await catalogFrom(values, io.env);
  const bar = io.isTTY ? new ProgressBar(io) : undefined;
  const onProgress = bar ? (p: MaintenanceProgress) => bar.update(p) : undefined;
  try {
    const table = await Table.load(catalog, ident);
    const out = await run(sub, table, values, opts, onProgress);
    bar?.clear();
    io.stdout(formatPlain({ columns: out.columns, rows: out.rows }, format));
    if (out.failedDeletes > 0) {
      io.stderr(`floe: maintain ${sub}: ${out.failedDeletes} file(s) could not be deleted; 'floe maintain remove-orphans' will sweep them\n`);
      return 1;
    }
    return 0;
  } finally {
    bar?.clear();
    await closeQuietly(catalog);
  }
}

async function closeQuietly(catalog: Catalog): Promise<void> {
  await catalog.close().catch(() => undefined);
}

interface Output {
  columns: string[];
  rows: JsonOut[][];
  failedDeletes: number;
}

async function run(
  sub: Sub,
  table: Table,
  values: Record<string, unknown>,
  opts: {
    targetFileSize: number | undefined;
    minInputFiles: number | undefined;
    olderThan: number | undefined;
    retainLast: number | undefined;
    targetManifestSize: number | undefined;
    minManifests: number | undefined;
  },
  onProgress: ((p: MaintenanceProgress) => void) | undefined,
): Promise<Output> {
  const progress = onProgress ? { onProgress } : {};
  switch (sub) {
    case 'compact': {
      const whereText = str(values, 'where');
      let filter;
      try {
        filter = whereText === undefined ? undefined : parseWhere(whereText, table.schema(), 'cli: --where');
      } catch (e) {
        if (e instanceof ValidationError) throw new UsageError(e.message, { cause: e });
        throw e;
      }
      const r = await compactTable(table, {
        ...(opts.targetFileSize !== undefined ? { targetFileSizeBytes: opts.targetFileSize } : {}),
        ...(opts.minInputFiles !== undefined ? { minInputFiles: opts.minInputFiles } : {}),
        ...(filter ? { filter } : {}),
        ...progress,
      });
      return {
        columns: ['table', 'snapshot_id', 'partitions', 'rewritten_files', 'added_files', 'removed_delete_files', 'rewritten_bytes', 'added_bytes', 'records', 'duration_ms'],
        rows: [[r.table, id(r.snapshotId), r.partitions, r.rewrittenDataFiles, r.addedDataFiles, r.removedDeleteFiles, r.rewrittenBytes, r.addedBytes, r.records, r.durationMs]],
        failedDeletes: 0,
      };
    }
    case 'expire-snapshots': {
      const r = await expireSnapshots(table, {
        ...(opts.olderThan !== undefined ? { olderThanMs: opts.olderThan } : {}),
        ...(opts.retainLast !== undefined ? { retainLast: opts.retainLast } : {}),
        ...(values['keep-files'] === true ? { deleteFiles: false } : {}),
        ...progress,
      });
      return {
        columns: [
          'table',
          'expired_snapshots',
          'retained_snapshots',
          'removed_refs',
          'deleted_data_files',
          'deleted_delete_files',
          'deleted_manifests',
          'deleted_manifest_lists',
          'deleted_statistics_files',
          'deleted_metadata_files',
          'failed_deletes',
          'duration_ms',
        ],
        rows: [
          [
            r.table,
            r.expiredSnapshots,
            r.retainedSnapshots,
            r.removedRefs,
            r.deletedDataFiles,
            r.deletedDeleteFiles,
            r.deletedManifests,
            r.deletedManifestLists,
            r.deletedStatisticsFiles,
            r.deletedMetadataFiles,
            r.failedDeletes,
            r.durationMs,
          ],
        ],
        failedDeletes: r.failedDeletes,
      };
    }
    case 'remove-orphans': {
      const r = await removeOrphanFiles(table, {
        ...(opts.olderThan !== undefined ? { olderThanMs: opts.olderThan } : {}),
        allowShortOlderThan: values['allow-short-older-than'] === true,
        dryRun: values['dry-run'] === true,
        ...progress,
      });
      return {
        columns: ['location', 'size', 'last_modified', 'deleted'],
        rows: r.orphans.map((o) => [o.location, o.size, iso(o.lastModified), o.deleted]),
        failedDeletes: r.failed,
      };
    }
    case 'rewrite-manifests': {
      const r = await rewriteManifests(table, {
        ...(opts.targetManifestSize !== undefined ? { targetManifestSizeBytes: opts.targetManifestSize } : {}),
        ...(opts.minManifests !== undefined ? { minManifests: opts.minManifests } : {}),
        ...progress,
      });
      return {
        columns: ['table', 'snapshot_id', 'manifests_before', 'manifests_after', 'replaced_manifests', 'created_manifests', 'entries', 'duration_ms'],
        rows: [[r.table, id(r.snapshotId), r.manifestsBefore, r.manifestsAfter, r.replacedManifests, r.createdManifests, r.entries, r.durationMs]],
        failedDeletes: 0,
      };
    }
  }
}
