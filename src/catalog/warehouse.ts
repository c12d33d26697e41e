/**
 * Where tables and their metadata files live, and reading/writing those files. Shared by every
 * catalog that manages metadata files itself (the embedded SQL catalog, later Glue).
 *
 * Default table location: `<warehouse>/<namespace>/<table>`, the convention of PyIceberg's
 * SqlCatalog (`MetastoreCatalog._get_default_warehouse_location`), where `<namespace>` is the levels
 * joined by `.` (the JDBC `table_namespace` string). A namespace `location` property overrides the
 * warehouse: `<namespace location>/<table>`, as in PyIceberg. For the usual one-level namespace this
 * is also the layout of Java's JdbcCatalog, so tables land in the same place whichever engine
 * created them.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ValidationError } from '../errors.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { parseTableMetadata, serializeTableMetadata } from '../iceberg/table-metadata.js';
import { metadataFileName } from '../iceberg/update-metadata.js';
import type { FileIO } from '../io/file-io.js';
import { joinLocation, stripTrailingSlash } from '../io/location.js';
import type { Namespace } from './catalog.js';

/** Table property: directory for metadata files instead of `<table location>/metadata`. */
export const METADATA_PATH_PROPERTY = 'write.metadata.path';
/** Table property: `gzip` compresses new metadata files (`….gz.metadata.json`), as in Java. */
export const METADATA_COMPRESSION_PROPERTY = 'write.metadata.compression-codec';
/** Namespace property giving the base location of its tables. */
export const NAMESPACE_LOCATION_PROPERTY = 'location';

/**
 * The location a new table gets when none is given (see the file comment for the convention).
 * @param namespaceProperties the namespace's properties; its `location` wins over the warehouse
 */
export function defaultTableLocation(
  warehouse: string,
  namespace: Namespace,
  table: string,
  namespaceProperties: Record<string, string> = {},
): string {
  const nsLocation = namespaceProperties[NAMESPACE_LOCATION_PROPERTY];
  if (nsLocation) return joinLocation(nsLocation, table);
  if (!warehouse) {
    throw new ValidationError(`catalog: no warehouse location configured; give a location for table ${table}`);
  }
  return joinLocation(warehouse, namespace.join('.'), table);
}

/**
 * Location of a table's next metadata file: `<metadata dir>/<version padded to 5>-<uuid>.metadata.json`
 * where the directory is `write.metadata.path` or `<location>/metadata`.
 */
export function newMetadataLocation(md: TableMetadata, version: number): string {
  const dir = md.properties[METADATA_PATH_PROPERTY];
  const codec = md.properties[METADATA_COMPRESSION_PROPERTY]?.toLowerCase() === 'gzip' ? 'gzip' : 'none';
  const base = dir ? stripTrailingSlash(dir) : joinLocation(md.location, 'metadata');
  return joinLocation(base, metadataFileName(version, codec));
}

/** True when the bytes start with the gzip magic number. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads and parses a metadata file. Gzip files are recognized by content, whatever their name
 * (`….gz.metadata.json`, `….metadata.json.gz`).
 * @throws NotFoundError when the file is missing; ValidationError `metadata: <location>: …`
 */
export async function readTableMetadataFile(io: FileIO, location: string): Promise<TableMetadata> {
  let bytes = await io.read(location);
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new ValidationError(`metadata: ${location}: invalid gzip data`, { cause: e });
    }
  }
  return parseTableMetadata(new TextDecoder('utf-8', { fatal: false }).decode(bytes), location);
}

/**
 * Writes a new metadata file. Never overwrites: a metadata file, once written, is immutable, and
 * a name clash means another writer owns that file (AlreadyExistsError).
 *
 * The text is parsed back before writing: a catalog must never publish metadata that it (or any
 * reader) cannot load, since the table would be unreadable until someone repaired it by hand.
 * @returns the metadata parsed back from the written text: what reading the file gives (a
 *   catalog keeps it as the base of its next commit instead of reading the file again)
 * @throws ValidationError `metadata: <location>: …` when the serialized metadata does not parse
 */
export async function writeTableMetadataFile(io: FileIO, location: string, md: TableMetadata): Promise<TableMetadata> {
  const text = serializeTableMetadata(md);
  const parsed = parseTableMetadata(text, location);
  const bytes = new TextEncoder().encode(text);
  const gzip = /\.gz\.metadata\.json$|\.metadata\.json\.gz$/.test(location);
  await io.write(location, gzip ? gzipSync(bytes) : bytes);
  return parsed;
}
