/**
 * Opens a table straight from storage, without a catalog: from a metadata JSON file (any name
 * ending in `.json`, optionally gzip-compressed as `….json.gz`) or from a table directory (newest
 * metadata from `metadata/version-hint.text`, else the highest `vN.metadata.json` or
 * `NNNNN-<uuid>.metadata.json`).
 *
 * Moved tables: when the table is opened from a directory other than the location recorded in
 * its metadata, every path under the recorded location is resolved inside the directory it was
 * opened from. Other prefixes are rewritten by explicit path mappings (`--path-map FROM=TO`).
 */
import { NotFoundError, ValidationError } from '../errors.js';
import type { LoadedTable } from '../catalog/catalog.js';
import { readTableMetadataFile } from '../catalog/warehouse.js';
import { metadataVersion } from '../iceberg/update-metadata.js';
import type { FileIO } from '../io/file-io.js';
import { fileIOFor } from '../io/resolve.js';
import { joinLocation, locationBaseName, parentLocation, stripTrailingSlash } from '../io/location.js';
import { RemapFileIO, type PathMapping } from '../io/remap.js';

/** Options of {@link openTableAt}. */
export interface OpenTableOptions {
  /** Extra prefix rewrites, applied to every path the metadata names. */
  pathMap?: PathMapping[];
  /** Name given to the table (its identifier's name). Default: the directory name. */
  name?: string;
}

const METADATA_FILE = /(^|\/)(v\d+|\d{5,}-[0-9a-fA-F-]{36})\.metadata\.json$/;

/** Finds the newest metadata file of a table directory. */
export async function findCurrentMetadata(io: FileIO, tableDir: string): Promise<string> {
  const metaDir = joinLocation(tableDir, 'metadata');
  const hint = joinLocation(metaDir, 'version-hint.text');
  if (await io.exists(hint)) {
    const text = new TextDecoder().decode(await io.read(hint)).trim();
    // Hadoop tables write the version number; some writers write the file name or a full path.
    const candidates = /^\d+$/.test(text)
      ? [joinLocation(metaDir, `v${text}.metadata.json`), joinLocation(metaDir, `v${text}.gz.metadata.json`)]
      : [text.includes('/') ? text : joinLocation(metaDir, text)];
    for (const c of candidates) if (await io.exists(c)) return c;
  }
  let best: { location: string; version: number } | undefined;
  for await (const f of io.list(metaDir + '/')) {
    if (!METADATA_FILE.test(f.location)) continue;
    const version = metadataVersion(f.location);
    if (version === undefined) continue;
    if (!best || version > best.version) best = { location: f.location, version };
  }
  if (!best) throw new NotFoundError(`table: ${tableDir}: not a metadata file, and no metadata file found in ${metaDir}`);
  return best.location;
}

/** Opens a table from a metadata file or a table directory. */
export async function openTableAt(location: string, options: OpenTableOptions = {}): Promise<LoadedTable> {
  const rawIO = fileIOFor(location);
  const loc = stripTrailingSlash(location);
  let metadataLocation: string;
  let tableDir: string;
  // Any JSON file is a metadata file: copies and test vectors are often named `….json`, and a
  // table directory is never named like that.
  if (/\.json(\.gz)?$/i.test(loc)) {
    metadataLocation = loc;
    const dir = parentLocation(loc);
    tableDir = locationBaseName(dir) === 'metadata' ? parentLocation(dir) : dir;
  } else {
    tableDir = loc;
    metadataLocation = await findCurrentMetadata(rawIO, loc);
  }
  // Gzip-compressed metadata (`….gz.metadata.json`, Java's codec option) is recognized by content.
  const metadata = await readTableMetadataFile(rawIO, metadataLocation);
  const recorded = stripTrailingSlash(metadata.location);
  const mappings: PathMapping[] = [...(options.pathMap ?? [])];
  if (recorded !== tableDir) mappings.push({ from: recorded, to: tableDir });
  const io = mappings.length ? new RemapFileIO(mappings) : rawIO;
  const name = options.name ?? locationBaseName(tableDir);
  if (!name) throw new ValidationError(`table: ${location}: cannot derive a table name`);
  return { identifier: { namespace: [], name }, metadataLocation, metadata, io };
}
