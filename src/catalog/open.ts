/**
 * Opens a catalog from a URI, the way the CLI and configs name catalogs:
 * a SQLite file (`path.db`, `sqlite:///path.db`, `jdbc:sqlite:/path.db`) opens the embedded SQL
 * catalog; `glue://[catalog-id][?region=…]` the AWS Glue Data Catalog; `http(s)://…` an Iceberg REST
 * catalog (`rest/rest-catalog.ts`); an S3 table bucket ARN (`arn:aws:s3tables:…:bucket/<name>`) or
 * `s3tables://<bucket>` the S3 Tables Iceberg REST endpoint (`s3tables.ts`).
 *
 * Opening is asynchronous because the Glue client (the AWS SDK's Glue module: about 0.2 s and
 * 27 MB to load) is imported only when a Glue catalog is asked for; `floe run` on the embedded
 * catalog never pays for it.
 */
import { resolve } from 'node:path';
import { UnsupportedError } from '../errors.js';
import { RemapFileIO, type PathMapping } from '../io/remap.js';
import type { Catalog } from './catalog.js';
import type { RestAuthConfig } from './rest/rest-auth.js';
import { RestCatalog, type RestFileIOResolver } from './rest/rest-catalog.js';
import { tableFileIO } from './rest/rest-fileio.js';
import { isS3TablesUri, openS3TablesCatalog } from './s3tables.js';
import { openSqlCatalog } from './sql/sql-catalog.js';

/** Where floe keeps its tables when nothing else is configured. */
export const DEFAULT_WAREHOUSE = 'warehouse';

/** Options of {@link openCatalog}. */
export interface OpenCatalogOptions {
  /** Catalog URI; default `<warehouse>/catalog.db`. */
  uri?: string;
  /** Warehouse root for new tables; default `./warehouse`. */
  warehouse?: string;
  /** Catalog name (JDBC `catalog_name`); default `floe`. */
  name?: string;
  /** Authentication for REST catalogs (bearer token, OAuth2 client credentials, SigV4). */
  auth?: RestAuthConfig;
  /**
   * Prefix rewrites (`--path-map FROM=TO`) for every location the catalog holds or a table's
   * metadata names: the metadata locations of a catalog written on another machine or with
   * relative paths (PyIceberg's SqlCatalog) are read, and new files written, through them.
   */
  pathMap?: PathMapping[];
}

/** The default catalog database of a warehouse directory. */
export function defaultCatalogUri(warehouse: string): string {
  return resolve(warehouse, 'catalog.db');
}

/** Whether a URI names the AWS Glue Data Catalog (`glue:` / `glue://…`). */
function isGlueUri(uri: string): boolean {
  return /^glue:/i.test(uri.trim());
}

/** Opens the catalog a URI names. */
export async function openCatalog(options: OpenCatalogOptions = {}): Promise<Catalog> {
  const pathMap = options.pathMap ?? [];
  // One FileIO for the catalog's own reads (metadata files) and its tables' files alike.
  const io = pathMap.length > 0 ? { io: new RemapFileIO(pathMap) } : {};
  const restIO = pathMap.length > 0 ? { io: (_location: string, config: Record<string, string>) => new RemapFileIO(pathMap, (m) => tableFileIO(m, config)) } : {};
  if (options.uri !== undefined && isGlueUri(options.uri)) {
    const { openGlueCatalog } = await import('./glue/glue-catalog.js');
    // Remote warehouses (s3://…) are used as given; only a local directory is made absolute.
    const wh = options.warehouse;
    const warehouse = wh === undefined ? undefined : /^[a-z][\w+.-]*:\/\//i.test(wh) ? wh : resolve(wh);
    return openGlueCatalog(options.uri, { ...(warehouse ? { warehouse } : {}), ...(options.name ? { name: options.name } : {}), ...io });
  }
  if (options.uri !== undefined && isS3TablesUri(options.uri)) {
    return openS3TablesCatalog(options.uri, { ...(options.name ? { name: options.name } : {}), ...restIO });
  }
  if (options.uri !== undefined && /^https?:\/\//i.test(options.uri)) return openRestCatalog(options.uri, options.name, options.auth, restIO.io);
  const warehouse = resolve(options.warehouse ?? DEFAULT_WAREHOUSE);
  const uri = options.uri ?? defaultCatalogUri(warehouse);
  if (/^(https?|rest|glue|s3tables):/i.test(uri)) {
    throw new UnsupportedError(`catalog: '${uri}': not a catalog URI floe knows (SQLite file, http(s):// REST, glue:, s3tables: or an S3 Tables ARN)`);
  }
  return openSqlCatalog(uri, { warehouse, ...(options.name ? { name: options.name } : {}), ...io });
}

/**
 * An Iceberg REST catalog at an http(s) URI. A `warehouse` query parameter
 * (`http://host:8181?warehouse=wh`) is sent to the server's `/v1/config` and removed from the base
 * URI; the local `--warehouse` is not, since it names a directory on this machine.
 */
function openRestCatalog(uri: string, name: string | undefined, auth: RestAuthConfig | undefined, io: RestFileIOResolver | undefined): Catalog {
  const url = new URL(uri);
  const warehouse = url.searchParams.get('warehouse') ?? undefined;
  url.search = '';
  return new RestCatalog({ uri: url.toString(), ...(warehouse ? { warehouse } : {}), ...(name ? { name } : {}), ...(auth ? { auth } : {}), ...(io ? { io } : {}) });
}
