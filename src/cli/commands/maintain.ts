/**
 * `floe maintain compact|expire-snapshots|remove-orphans|rewrite-manifests|convert-deletes NAMESPACE.TABLE`: table
 * maintenance on demand (the same operations `floe run` schedules from its `maintenance` policy).
 * Each prints one row describing what it did (remove-orphans: one row per orphan file), as a table
 * or with `--format json|csv`; a progress bar goes to stderr when the output is a terminal.
 * Exit codes: 0 done (also when there was nothing to do), 1 failure (including files that could
 * not be deleted), 2 bad usage.
 */
import type { Catalog, TableIdentifier } from '../../catalog/catalog.js';
import { parseTableIdentifier } from '../../catalog/catalog.js';
import { catalogLocationFacts, describeConflicts, findLocationConflicts, tableRoots } from '../../catalog/location-policy.js';
import { FloeError, ValidationError } from '../../errors.js';
import { remapLocation, type PathMapping } from '../../io/remap.js';
import { compactTable } from '../../maintenance/compact.js';
import { convertEqualityDeletes } from '../../maintenance/convert-deletes.js';
import { expireSnapshots } from '../../maintenance/expire-snapshots.js';
import type { MaintenanceProgress } from '../../maintenance/progress.js';
import { DEFAULT_ORPHAN_AGE_MS, removeOrphanFiles } from '../../maintenance/remove-orphans.js';
import { checkOrphanWindow } from '../../table/orphan-window.js';
import { rewriteManifests } from '../../maintenance/rewrite-manifests.js';
import { parseWhere } from '../../maintenance/where.js';
import { MAX_AGE_MS, parseDuration, parseSize } from '../../pipeline/config.js';
import type { JsonOut } from '../../query/result-values.js';
import { Table } from '../../table/table.js';
import { parse, str, UsageError } from '../args.js';
import { CATALOG_FLAGS, catalogFrom, PATH_MAP_FLAG, pathMapFrom } from '../context.js';
import { FORMAT_FLAG, formatPlain, parseFormat, type OutputFormat } from '../format.js';
import { renderGroup, renderUsage, type CommandGroup, type CommandSpec, type FlagSpec, type FlagSpecs } from '../help.js';
import type { CommandIO } from '../io.js';

const SUBCOMMANDS = ['compact', 'expire-snapshots', 'remove-orphans', 'rewrite-manifests', 'convert-deletes'] as const;
type Sub = (typeof SUBCOMMANDS)[number];

const COMMON: FlagSpecs = { ...CATALOG_FLAGS, ...PATH_MAP_FLAG, ...FORMAT_FLAG };
const OLDER_THAN = (dflt: string, what: string): FlagSpec => ({ type: 'string', value: 'DURATION', help: `${what} (default ${dflt}; e.g. 90m, 12h, 7d)` });

/** `floe maintain …`: each subcommand's flags and help (the parser's definitions). */
export const MAINTAIN_SPECS: Record<Sub, CommandSpec> = {
  compact: {
    name: 'maintain compact',
    args: 'NAMESPACE.TABLE',
    summary: 'Bin-packs small data files per partition into files of the target size, applying deletes; whole files are rewritten.',
    flags: {
      'target-file-size': { type: 'string', value: 'SIZE', help: 'the size of the files written (default the table\'s write.target-file-size-bytes, else 128MB)' },
      'min-input-files': { type: 'string', value: 'N', help: 'compacts a partition only when it has at least N candidate files (default 5)' },
      where: { type: 'string', value: '"FILTER"', help: "selects the files to compact, e.g. \"event_time >= '2026-01-08'\"" },
      ...COMMON,
    },
  },
  'expire-snapshots': {
    name: 'maintain expire-snapshots',
    args: 'NAMESPACE.TABLE',
    summary:
      'Removes snapshots older than --older-than beyond the newest --retain-last, then deletes the files only they ' +
      'needed (and metadata files older than the metadata log).',
    flags: {
      'older-than': OLDER_THAN("the table's history.expire.max-snapshot-age-ms, else 5d", 'expires snapshots older than this'),
      'retain-last': { type: 'string', value: 'N', help: "always keeps the newest N snapshots (default the table's history.expire.min-snapshots-to-keep, else 1)" },
      'keep-files': { type: 'boolean', help: 'removes the snapshots from the metadata but deletes no file' },
      ...COMMON,
    },
  },
  'remove-orphans': {
    name: 'maintain remove-orphans',
    args: 'NAMESPACE.TABLE',
    summary:
      'Deletes files under the table location that no metadata references and that are older than --older-than; ' +
      'refuses a table whose location holds the warehouse root, the catalog database or another table. One row per orphan file.',
    flags: {
      'older-than': OLDER_THAN('3d', 'a safety window for writers still writing: only older files are orphans; at least 24h unless --allow-short-older-than'),
      'allow-short-older-than': { type: 'boolean', help: 'accepts an --older-than under 24 hours (a writer\'s files in flight may be deleted)' },
      'dry-run': { type: 'boolean', help: 'lists the orphan files, deletes nothing' },
      ...COMMON,
    },
  },
  'rewrite-manifests': {
    name: 'maintain rewrite-manifests',
    args: 'NAMESPACE.TABLE',
    summary: 'Merges small manifests into fewer (no data change).',
    flags: {
      'target-manifest-size': { type: 'string', value: 'SIZE', help: "the size of the manifests written (default the table's commit.manifest.target-size-bytes, else 8MB)" },
      'min-manifests': { type: 'string', value: 'N', help: 'rewrites only when there are at least N manifests (default 2)' },
      ...COMMON,
    },
  },
  'convert-deletes': {
    name: 'maintain convert-deletes',
    args: 'NAMESPACE.TABLE',
    summary:
      'Turns the live equality deletes (upserts) into position deletes: one join finds the rows they delete; no data file is rewritten (format v2 tables).',
    flags: {
      'min-files': { type: 'string', value: 'N', help: 'converts only when at least N equality delete files are live (default 1)' },
      ...COMMON,
    },
  },
};

/** `floe maintain` as a group. */
export const MAINTAIN_GROUP: CommandGroup = {
  name: 'maintain',
  summary:
    'Table maintenance on demand (the operations floe run schedules from its maintenance policy). Each prints one row ' +
    'describing what it did, as a table or with --format json|csv; a progress bar goes to stderr on a terminal.',
  subcommands: Object.values(MAINTAIN_SPECS),
};

/** The usage text of `floe maintain`. */
export const MAINTAIN_USAGE = renderGroup(MAINTAIN_GROUP);

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
  if (positionals.length !== 1) throw new UsageError(`cli: maintain ${sub} expects NAMESPACE.TABLE\n${renderUsage(MAINTAIN_SPECS[sub as Sub])}`);
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
  // A sibling's flag (--dry-run on compact) is named as not applying to this subcommand.
  const { values, positionals } = parse(MAINTAIN_SPECS[sub], rest, MAINTAIN_GROUP.subcommands);
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
    minFiles: count(values, 'min-files', 1),
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
    const pathMap = pathMapFrom(values);
    if (sub === 'remove-orphans' && pathMap.length > 0) await checkMappedRoots(table, pathMap);
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

/**
 * With `--path-map`, a table's recorded roots (compared by the sweep) are not where its files are:
 * the warehouse root and the catalog database are paths on this machine, so the roots are checked
 * again where the mapping puts them (a root mapped onto the warehouse would sweep every table).
 */
async function checkMappedRoots(table: Table, pathMap: PathMapping[]): Promise<void> {
  const facts = await catalogLocationFacts(table.catalog, table.identifier);
  const mapped = tableRoots(table.metadata).map((r) => remapLocation(r, pathMap));
  const conflicts = findLocationConflicts(mapped, {
    ...facts,
    tables: facts.tables.map((t) => ({ ...t, roots: t.roots.map((r) => remapLocation(r, pathMap)) })),
  });
  if (conflicts.length > 0) {
    throw new FloeError(
      'LOCATION_OVERLAP',
      `remove-orphans: ${table.name}: refused, nothing deleted: through --path-map the table does not own its directories alone: ${describeConflicts(conflicts)}`,
    );
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
    minFiles: number | undefined;
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
    case 'convert-deletes': {
      const r = await convertEqualityDeletes(table, { ...(opts.minFiles !== undefined ? { minFiles: opts.minFiles } : {}), ...progress });
      return {
        // v2 tables get position delete files, v3 tables deletion vectors (replacing live ones).
        columns: [
          'table',
          'snapshot_id',
          'removed_equality_delete_files',
          'removed_equality_deletes',
          'added_position_delete_files',
          'added_deletion_vectors',
          'replaced_deletion_vectors',
          'positions',
          'duration_ms',
        ],
        rows: [
          [
            r.table,
            id(r.snapshotId),
            r.removedEqualityDeleteFiles,
            r.removedEqualityDeletes,
            r.addedPositionDeleteFiles,
            r.addedDeletionVectors,
            r.replacedDeletionVectors,
            r.positions,
            r.durationMs,
          ],
        ],
        failedDeletes: 0,
      };
    }
  }
}
