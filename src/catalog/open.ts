/**
 * Opens a catalog from a URI, the way the CLI and configs name catalogs:
 * a SQLite file (`path.db`, `sqlite:///path.db`, `jdbc:sqlite:/path.db`) opens the embedded SQL
 * catalog. Remote catalogs (REST, Glue) plug in here when they exist.
 */
import { resolve } from 'node:path';
import { UnsupportedError } from '../errors.js';
import type { Catalog } from './catalog.js';
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
}

/** The default catalog database of a warehouse directory. */
export function defaultCatalogUri(warehouse: string): string {
  return resolve(warehouse, 'catalog.db');
}

/** Opens the catalog a URI names. */
export function openCatalog(options: OpenCatalogOptions = {}): Catalog {
  const warehouse = resolve(options.warehouse ?? DEFAULT_WAREHOUSE);
  const uri = options.uri ?? defaultCatalogUri(warehouse);
  if (/^(https?|rest|glue|s3tables):/i.test(uri)) {
    throw new UnsupportedError(`catalog: '${uri}': REST, Glue and S3 Tables catalogs are not available in this build yet`);
  }
  return openSqlCatalog(uri, { warehouse, ...(options.name ? { name: options.name } : {}) });
}
