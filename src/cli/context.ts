/**
 * Resolves the catalog a command works on from its flags and the environment
 * (`--catalog` / `FLOE_CATALOG`, `--warehouse` / `FLOE_WAREHOUSE`).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { DEFAULT_WAREHOUSE, defaultCatalogUri, openCatalog } from '../catalog/open.js';
import { str, type OptionSpec } from './args.js';

/** Flags every catalog-using command accepts. */
export const CATALOG_OPTIONS: OptionSpec = {
  catalog: { type: 'string' },
  warehouse: { type: 'string' },
  'catalog-name': { type: 'string' },
};

/** Catalog settings from flags, then environment, then defaults. */
export function catalogSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const rawWarehouse = str(values, 'warehouse') ?? env.FLOE_WAREHOUSE ?? DEFAULT_WAREHOUSE;
  // A URI (s3://…, file://…) is used as given; only a local directory is made absolute.
  const warehouse = /^[a-z][\w+.-]*:\/\//i.test(rawWarehouse) ? rawWarehouse : resolve(rawWarehouse);
  const uri = str(values, 'catalog') ?? env.FLOE_CATALOG ?? defaultCatalogUri(warehouse);
  const explicit = str(values, 'catalog') !== undefined || env.FLOE_CATALOG !== undefined || str(values, 'warehouse') !== undefined || env.FLOE_WAREHOUSE !== undefined;
  const name = str(values, 'catalog-name') ?? env.FLOE_CATALOG_NAME;
  return { warehouse, uri, explicit, ...(name ? { name } : {}) };
}

/** Opens the configured catalog. */
export function catalogFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Catalog {
  const s = catalogSettings(values, env);
  return openCatalog({ uri: s.uri, warehouse: s.warehouse, ...(s.name ? { name: s.name } : {}) });
}

/**
 * Opens the catalog only when one is configured or the default one exists, so that a query over
 * `--table` locations never creates an empty catalog database as a side effect.
 */
export function optionalCatalogFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Catalog | undefined {
  const s = catalogSettings(values, env);
  const isFile = !/^[a-z][\w+.-]*:\/\//i.test(s.uri) && !s.uri.startsWith('sqlite:') && !s.uri.startsWith('jdbc:');
  if (!s.explicit && isFile && !existsSync(s.uri)) return undefined;
  return openCatalog({ uri: s.uri, warehouse: s.warehouse, ...(s.name ? { name: s.name } : {}) });
}
