/**
 * Resolves the catalog a command works on from its flags and the environment
 * (`--catalog` / `FLOE_CATALOG`, `--warehouse` / `FLOE_WAREHOUSE`).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Catalog } from '../catalog/catalog.js';
import { DEFAULT_WAREHOUSE, defaultCatalogUri, openCatalog } from '../catalog/open.js';
import type { RestAuthConfig } from '../catalog/rest/rest-auth.js';
import { parsePathMapping, type PathMapping } from '../io/remap.js';
import { list, str, UsageError, type OptionSpec } from './args.js';
import { optionsOf, type FlagSpecs } from './help.js';

/** Flags every catalog-using command accepts, with their help. */
export const CATALOG_FLAGS: FlagSpecs = {
  catalog: {
    type: 'string',
    value: 'URI',
    help:
      'the catalog: a SQLite file (warehouse/catalog.db, sqlite:////abs.db, jdbc:sqlite:/abs.db), an Iceberg REST ' +
      'catalog (http(s)://…), glue:// or an S3 Tables ARN / s3tables://BUCKET. Default FLOE_CATALOG, else <warehouse>/catalog.db',
  },
  warehouse: {
    type: 'string',
    value: 'DIR',
    help: 'root directory of new tables and of the default catalog database. Default FLOE_WAREHOUSE, else ./warehouse',
  },
  'catalog-name': {
    type: 'string',
    value: 'NAME',
    help:
      "the catalog's name: in a SQLite catalog, the catalog_name its rows carry (several catalogs can share one " +
      "database; PyIceberg's SqlCatalog writes the name it was given), elsewhere a label in messages. Default " +
      'FLOE_CATALOG_NAME, else floe',
  },
};

/** parseArgs options of {@link CATALOG_FLAGS}. */
export const CATALOG_OPTIONS: OptionSpec = optionsOf(CATALOG_FLAGS);

/** `--path-map`, for commands that open tables (by location or from a catalog). */
export const PATH_MAP_FLAG: FlagSpecs = {
  'path-map': {
    type: 'string',
    multiple: true,
    value: 'FROM=TO',
    help:
      'reads (and writes) locations starting with FROM under TO instead, on whole path segments, the longest FROM ' +
      'winning: the metadata locations a catalog holds and every path a table names. For tables written on another ' +
      "machine or with relative paths (a PyIceberg SqlCatalog's warehouse), e.g. --path-map /srv/wh=/data/wh",
  },
};

/**
 * REST catalog authentication from the environment (never from flags or config files, which end
 * up in shell history and repositories): `FLOE_CATALOG_TOKEN` (bearer), or
 * `FLOE_CATALOG_CREDENTIAL=<client id>:<client secret>` (OAuth2 client credentials, token endpoint
 * `FLOE_CATALOG_OAUTH2_SERVER_URI` or the catalog's `/v1/oauth/tokens`, scope
 * `FLOE_CATALOG_SCOPE`), or `FLOE_CATALOG_SIGV4_SIGNING_NAME` (AWS SigV4, e.g. `glue` for the Glue
 * Iceberg REST endpoint, with the default credential chain).
 */
export function restAuthFromEnv(env: NodeJS.ProcessEnv): RestAuthConfig | undefined {
  if (env.FLOE_CATALOG_TOKEN) return { type: 'bearer', token: env.FLOE_CATALOG_TOKEN };
  const cred = env.FLOE_CATALOG_CREDENTIAL;
  if (cred) {
    const i = cred.indexOf(':');
    if (i <= 0) throw new UsageError('cli: FLOE_CATALOG_CREDENTIAL must be <client id>:<client secret>');
    return {
      type: 'oauth2',
      clientId: cred.slice(0, i),
      clientSecret: cred.slice(i + 1),
      ...(env.FLOE_CATALOG_OAUTH2_SERVER_URI ? { tokenEndpoint: env.FLOE_CATALOG_OAUTH2_SERVER_URI } : {}),
      ...(env.FLOE_CATALOG_SCOPE ? { scope: env.FLOE_CATALOG_SCOPE } : {}),
    };
  }
  if (env.FLOE_CATALOG_SIGV4_SIGNING_NAME) return { type: 'sigv4', signingName: env.FLOE_CATALOG_SIGV4_SIGNING_NAME };
  return undefined;
}

/** Catalog settings from flags, then environment, then defaults. */
export function catalogSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv) {
  const rawWarehouse = str(values, 'warehouse') ?? env.FLOE_WAREHOUSE ?? DEFAULT_WAREHOUSE;
  // A URI (s3://…, file://…) is used as given; only a local directory is made absolute.
  const warehouse = /^[a-z][\w+.-]*:\/\//i.test(rawWarehouse) ? rawWarehouse : resolve(rawWarehouse);
  const uri = str(values, 'catalog') ?? env.FLOE_CATALOG ?? defaultCatalogUri(warehouse);
  const explicit = str(values, 'catalog') !== undefined || env.FLOE_CATALOG !== undefined || str(values, 'warehouse') !== undefined || env.FLOE_WAREHOUSE !== undefined;
  const name = str(values, 'catalog-name') ?? env.FLOE_CATALOG_NAME;
  const auth = restAuthFromEnv(env);
  return { warehouse, uri, explicit, ...(name ? { name } : {}), ...(auth ? { auth } : {}) };
}

/** The `--path-map` flags' mappings (none when the command has no such flag or none is given). */
export function pathMapFrom(values: Record<string, unknown>): PathMapping[] {
  return list(values, 'path-map').map((text) => {
    try {
      return parsePathMapping(text);
    } catch (e) {
      throw new UsageError(`cli: --path-map expects FROM=TO, got '${text}'`, { cause: e });
    }
  });
}

/** Opens the configured catalog (its locations through `--path-map` when the command has it). */
export async function catalogFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<Catalog> {
  const s = catalogSettings(values, env);
  const pathMap = pathMapFrom(values);
  return openCatalog({
    uri: s.uri,
    warehouse: s.warehouse,
    ...(s.name ? { name: s.name } : {}),
    ...(s.auth ? { auth: s.auth } : {}),
    ...(pathMap.length ? { pathMap } : {}),
  });
}

/**
 * Opens the catalog only when one is configured or the default one exists, so that a query over
 * `--table` locations never creates an empty catalog database as a side effect.
 */
export async function optionalCatalogFrom(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Promise<Catalog | undefined> {
  const s = catalogSettings(values, env);
  const isFile = !/^[a-z][\w+.-]*:\/\//i.test(s.uri) && !s.uri.startsWith('sqlite:') && !s.uri.startsWith('jdbc:');
  if (!s.explicit && isFile && !existsSync(s.uri)) return undefined;
  return catalogFrom(values, env);
}
