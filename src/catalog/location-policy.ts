/**
 * What a table owns: the directories its orphan sweep lists and may delete from (its location, and
 * `write.data.path` / `write.metadata.path` when they lie outside it). Those directories must not
 * hold anything the table does not own, or an orphan sweep deletes it as "unreferenced":
 *
 * - no root of a table may contain the warehouse root (every other table lives below it),
 * - nor the catalog database (`catalog.db` with its `-wal`, `-shm` and `-journal` files),
 * - nor contain, equal or lie inside a root of another table (any catalog name sharing the database).
 *
 * Catalogs check a new table against the rule (`assertLocationAllowed`); orphan removal checks the
 * table it sweeps again before deleting anything (`findLocationConflicts`), because tables created
 * before this rule, registered, moved by a commit or created by another engine were never checked.
 *
 * Locations are compared canonically: local paths resolved (`..`, `//`, symlinked parents),
 * `file:` URIs and plain paths alike; `s3a://` and `s3n://` as `s3://`; repeated and trailing
 * slashes dropped. A location is never a string prefix of another (`events` vs `events_dl`): only
 * whole path segments count.
 */
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { NoSuchTableError, ValidationError } from '../errors.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { mapLimit } from '../iceberg/map-limit.js';
import { fileUriToPath, isLocalLocation, stripTrailingSlash } from '../io/location.js';
import { formatTableIdentifier, type Catalog, type Namespace, type TableIdentifier } from './catalog.js';

/** The table properties naming directories outside the table location that a table writes to. */
export const OWNED_PATH_PROPERTIES = ['write.data.path', 'write.metadata.path'] as const;

/** The directories a table owns: its location, then data/metadata paths outside it. */
export function tableRoots(md: Pick<TableMetadata, 'location' | 'properties'>): string[] {
  const base = stripTrailingSlash(md.location);
  const out = [base];
  for (const key of OWNED_PATH_PROPERTIES) {
    const p = md.properties[key];
    if (p && !locationContains(base, p)) out.push(stripTrailingSlash(p));
  }
  return out;
}

/** A local path with its existing part resolved through symlinks (the rest kept as written). */
function realLocalPath(path: string): string {
  let existing = path;
  const rest: string[] = [];
  while (!existsSync(existing)) {
    const parent = dirname(existing);
    if (parent === existing) return path;
    rest.unshift(relative(parent, existing));
    existing = parent;
  }
  try {
    return join(realpathSync.native(existing), ...rest);
  } catch {
    return path;
  }
}

/**
 * The canonical form of a location, for comparisons only (see the file comment).
 * @throws ValidationError for a `file:` URI with a remote host
 */
export function canonicalLocation(location: string): string {
  if (isLocalLocation(location)) {
    const p = realLocalPath(resolve(fileUriToPath(location)));
    return p.length > 1 ? p.replace(/\/+$/, '') : p;
  }
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/.exec(location);
  if (!m) return stripTrailingSlash(location);
  let scheme = m[1]!.toLowerCase();
  if (scheme === 's3a' || scheme === 's3n') scheme = 's3';
  const path = m[3]!.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return `${scheme}://${m[2]!.toLowerCase()}${path}`;
}

/** {@link locationContains} on locations already in {@link canonicalLocation} form. */
export function canonicalContains(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith('/') ? outer : `${outer}/`);
}

/** True when `inner` is `outer` or lies below it (whole segments; canonical comparison). */
export function locationContains(outer: string, inner: string): boolean {
  return canonicalContains(canonicalLocation(outer), canonicalLocation(inner));
}

/** The directories one table owns, as a catalog knows them. */
export interface LocationClaim {
  /** The table, as people name it (`db.events`, or `catalog:db.events` for another catalog name). */
  table: string;
  /** Its roots ({@link tableRoots}); for a table whose metadata could not be read, what is known. */
  roots: string[];
  /** Why the table's roots could not be read at all (orphan removal refuses to guess). */
  unreadable?: string;
}

/** Everything a catalog knows that a table location must not cover. */
export interface CatalogLocationFacts {
  /** The warehouse root, when the catalog has one locally configured. */
  warehouse?: string;
  /** Files of the catalog itself (the SQLite database and its -wal/-shm/-journal files). */
  catalogFiles: string[];
  /** The other tables (the one being checked excluded). */
  tables: LocationClaim[];
}

/** A catalog that knows its facts directly (the SQL catalog reads its own database). */
export interface LocationFactsSource {
  locationFacts(exclude?: TableIdentifier): Promise<CatalogLocationFacts>;
}

function hasLocationFacts(c: Catalog): c is Catalog & LocationFactsSource {
  return typeof (c as Partial<LocationFactsSource>).locationFacts === 'function';
}


function sameId(a: TableIdentifier, b: TableIdentifier): boolean {
  return a.name === b.name && a.namespace.length === b.namespace.length && a.namespace.every((p, i) => p === b.namespace[i]);
}

/**
 * The facts of any catalog: its own answer when it has one, else every table of every namespace
 * (loaded 8 at a time). A table that disappears meanwhile is left out; one that cannot be loaded
 * is reported `unreadable`.
 */
export async function catalogLocationFacts(catalog: Catalog, exclude?: TableIdentifier): Promise<CatalogLocationFacts> {
  if (hasLocationFacts(catalog)) return catalog.locationFacts(exclude);
  const namespaces: Namespace[] = [];
  const walk = async (parent: Namespace): Promise<void> => {
    let children: Namespace[];
    try {
      children = await catalog.listNamespaces(parent);
    } catch (e) {
      if (parent.length === 0) throw e;
      return; // a catalog without nested namespaces
    }
    for (const ns of children) {
      if (ns.length <= parent.length) continue;
      namespaces.push(ns);
      await walk(ns);
    }
  };
  await walk([]);
  const ids: TableIdentifier[] = [];
  for (const ns of namespaces) for (const id of await catalog.listTables(ns)) if (!exclude || !sameId(id, exclude)) ids.push(id);
  const claims = await mapLimit(ids, 8, async (id): Promise<LocationClaim | undefined> => {
    try {
      return { table: formatTableIdentifier(id), roots: tableRoots((await catalog.loadTable(id)).metadata) };
    } catch (e) {
      if (e instanceof NoSuchTableError) return undefined;
      return { table: formatTableIdentifier(id), roots: [], unreadable: e instanceof Error ? e.message : String(e) };
    }
  });
  return { catalogFiles: [], tables: claims.filter((c): c is LocationClaim => c !== undefined) };
}

/** One way a table's roots break the rule. */
export interface LocationConflict {
  /** The root of the checked table. */
  root: string;
  /** `contains`: the root contains (or equals) `what`; `inside`: the root lies inside `what`. */
  relation: 'contains' | 'inside';
  /** What it collides with: `the warehouse root /w`, `table db.b (/w/db/b)`. */
  what: string;
  /** The other table, when the conflict is with a table. */
  table?: string;
}

/** Every conflict of a table's roots with the facts (empty when the table owns its directories alone). */
export function findLocationConflicts(roots: readonly string[], facts: CatalogLocationFacts): LocationConflict[] {
  const out: LocationConflict[] = [];
  for (const root of roots) {
    if (facts.warehouse && locationContains(root, facts.warehouse)) {
      out.push({ root, relation: 'contains', what: `the warehouse root ${facts.warehouse}` });
    }
    const file = facts.catalogFiles.find((f) => locationContains(root, f));
    if (file !== undefined) out.push({ root, relation: 'contains', what: `the catalog database ${file}` });
    for (const t of facts.tables) {
      for (const other of t.roots) {
        const what = `table ${t.table} (${other})`;
        if (locationContains(root, other)) out.push({ root, relation: 'contains', what, table: t.table });
        else if (locationContains(other, root)) out.push({ root, relation: 'inside', what, table: t.table });
      }
    }
  }
  return out;
}

/** The conflicts as one sentence: `/w contains the warehouse root /w; /w/a/b lies inside table db.a (/w/a)`. */
export function describeConflicts(conflicts: readonly LocationConflict[]): string {
  return conflicts.map((c) => `${c.root} ${c.relation === 'contains' ? 'contains' : 'lies inside'} ${c.what}`).join('; ');
}

/**
 * Refuses a new table whose roots break the rule (see the file comment).
 * @param table the new table's name, for the message
 * @throws ValidationError `catalog: table db.t: location … contains …`
 */
export function assertLocationAllowed(table: string, roots: readonly string[], facts: CatalogLocationFacts): void {
  const conflicts = findLocationConflicts(roots, facts);
  if (conflicts.length === 0) return;
  throw new ValidationError(
    `catalog: table ${table}: location refused: ${describeConflicts(conflicts)}. A table's location must hold only its own ` +
      `files (its orphan sweep deletes everything else); choose a directory of its own`,
  );
}

