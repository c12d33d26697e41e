/**
 * The Iceberg JDBC catalog's tables, exactly as Java's `JdbcUtil` creates them (schema V1: V0 plus
 * `iceberg_type`), so that Java's JdbcCatalog and PyIceberg's SqlCatalog can open a database floe
 * created, and floe can open theirs.
 *
 * Compatibility notes:
 * - PyIceberg creates `iceberg_tables` without `iceberg_type` (V0). floe then works in V0 mode and
 *   never alters a schema it did not create. Java treats a NULL `iceberg_type` as a table.
 * - A namespace has no row of its own: it exists while it has a property row or a table (or a
 *   child namespace does). Creating one without properties stores `exists`=`true`, as both Java
 *   and PyIceberg do.
 * - Namespace strings are the levels joined by `.`.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { ValidationError } from '../../errors.js';
import type { Namespace } from '../catalog.js';

/** `iceberg_tables` DDL (Java `V0_CREATE_CATALOG_SQL` + the V1 `iceberg_type` column). */
export const CREATE_TABLES_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS iceberg_tables(' +
  'catalog_name VARCHAR(255) NOT NULL,' +
  'table_namespace VARCHAR(255) NOT NULL,' +
  'table_name VARCHAR(255) NOT NULL,' +
  'metadata_location VARCHAR(1000),' +
  'previous_metadata_location VARCHAR(1000),' +
  'iceberg_type VARCHAR(5),' +
  'PRIMARY KEY (catalog_name, table_namespace, table_name))';

/** `iceberg_namespace_properties` DDL (Java `CREATE_NAMESPACE_PROPERTIES_TABLE_SQL`). */
export const CREATE_NAMESPACE_PROPERTIES_TABLE_SQL =
  'CREATE TABLE IF NOT EXISTS iceberg_namespace_properties(' +
  'catalog_name VARCHAR(255) NOT NULL,' +
  'namespace VARCHAR(255) NOT NULL,' +
  'property_key VARCHAR(255),' +
  'property_value VARCHAR(1000),' +
  'PRIMARY KEY (catalog_name, namespace, property_key))';

/** `iceberg_type` of a table row. Rows with NULL (written by V0 clients) are tables too. */
export const TABLE_RECORD_TYPE = 'TABLE';
/** Property stored for a namespace created without properties, so that it exists. */
export const NAMESPACE_EXISTS_PROPERTY = 'exists';

/**
 * Creates the catalog tables when missing and tells whether `iceberg_tables` has the V1
 * `iceberg_type` column.
 */
export function ensureCatalogSchema(db: BetterSqlite3.Database): { hasRecordType: boolean } {
  db.transaction(() => {
    db.exec(CREATE_TABLES_TABLE_SQL);
    db.exec(CREATE_NAMESPACE_PROPERTIES_TABLE_SQL);
  }).immediate();
  const columns = db.prepare('PRAGMA table_info(iceberg_tables)').all() as { name: string }[];
  return { hasRecordType: columns.some((c) => c.name.toLowerCase() === 'iceberg_type') };
}

/**
 * Namespace levels → the JDBC namespace string (`['a', 'b']` → `a.b`).
 * @throws ValidationError for an empty namespace or a level that is empty or contains `.`
 *   (it could not be told apart from two levels when read back)
 */
export function namespaceToString(namespace: Namespace): string {
  if (namespace.length === 0) throw new ValidationError('catalog: namespace must have at least one level');
  for (const level of namespace) {
    if (level.length === 0) throw new ValidationError(`catalog: namespace ${JSON.stringify(namespace)} has an empty level`);
    if (level.includes('.')) {
      throw new ValidationError(`catalog: namespace level '${level}' must not contain '.' (levels are stored joined by '.')`);
    }
  }
  return namespace.join('.');
}

/** The JDBC namespace string → levels. */
export function stringToNamespace(text: string): Namespace {
  return text.split('.');
}

/** A LIKE pattern matching every namespace strictly below `ns` (escape character `!`). */
export function childNamespacePattern(ns: string): string {
  return `${ns.replace(/[!_%]/g, (c) => `!${c}`)}.%`;
}
