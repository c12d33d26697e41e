/**
 * How an Iceberg table and namespace are stored in the AWS Glue Data Catalog, the way Iceberg
 * Java's GlueCatalog stores them (`IcebergToGlueConverter`, `GlueTableOperations`), so that
 * Athena, Spark, Trino and PyIceberg see floe's tables as their own:
 *
 * - a namespace is a Glue database (one level); `comment` ↔ Description, `location` ↔
 *   LocationUri, other properties ↔ Parameters;
 * - a table is TableType `EXTERNAL_TABLE` with Parameters `table_type=ICEBERG`,
 *   `metadata_location`, `previous_metadata_location`; its StorageDescriptor has the table's
 *   Location and one Column per field (current schema first, then fields only older schemas have),
 *   typed with a Hive type string and tagged `iceberg.field.id` / `.optional` / `.current`.
 *
 * The columns are informational (Java's own comment: engines read the schema from the metadata
 * file named by `metadata_location`), but the Glue console, Lake Formation and `SHOW COLUMNS` use
 * them, so they are kept in step on every commit.
 */
import type { Column, Database, DatabaseInput, StorageDescriptor, Table, TableInput } from '@aws-sdk/client-glue';
import { ValidationError } from '../../errors.js';
import type { TableMetadata } from '../../iceberg/metadata.js';
import { findSchema } from '../../iceberg/metadata-lookup.js';
import type { IcebergType, NestedField } from '../../iceberg/types.js';
import { stripTrailingSlash } from '../../io/location.js';
import type { Namespace, TableIdentifier } from '../catalog.js';

/** Glue TableType of Iceberg tables (Hive's `EXTERNAL_TABLE`). */
export const GLUE_EXTERNAL_TABLE_TYPE = 'EXTERNAL_TABLE';
/** Table parameter marking an Iceberg table. */
export const TABLE_TYPE_PARAM = 'table_type';
/** Its value; written upper case as Java does, compared case-insensitively. */
export const ICEBERG_TABLE_TYPE_VALUE = 'ICEBERG';
/** Table parameter: the current metadata file. */
export const METADATA_LOCATION_PARAM = 'metadata_location';
/** Table parameter: the metadata file before the last commit. */
export const PREVIOUS_METADATA_LOCATION_PARAM = 'previous_metadata_location';
/** Column parameter: the Iceberg field id. */
export const ICEBERG_FIELD_ID = 'iceberg.field.id';
/** Column parameter: `true` when the field is optional. */
export const ICEBERG_FIELD_OPTIONAL = 'iceberg.field.optional';
/** Column parameter: `true` when the field is in the current schema. */
export const ICEBERG_FIELD_CURRENT = 'iceberg.field.current';
/** Namespace property stored as the database's (and table property as the table's) Description. */
export const GLUE_DESCRIPTION_KEY = 'comment';
/** Namespace property stored as the database's LocationUri. */
export const GLUE_DB_LOCATION_KEY = 'location';

/** Table properties whose locations Java lists as the StorageDescriptor's AdditionalLocations. */
const ADDITIONAL_LOCATION_PROPERTIES = ['write.data.path', 'write.metadata.path', 'write.object-storage.path', 'write.folder-storage.path'];

// Athena's naming rules, which Java's GlueCatalog enforces (lower case, digits, underscore).
const DATABASE_NAME = /^[a-z0-9_]{1,252}$/;
const TABLE_NAME = /^[a-z0-9_]{1,255}$/;

/**
 * The Glue database of a namespace.
 * @throws ValidationError unless the namespace has one level of 1–252 lower-case letters, digits, `_`
 */
export function glueDatabaseName(namespace: Namespace): string {
  const db = namespace.length === 1 ? namespace[0] : undefined;
  if (db === undefined || !DATABASE_NAME.test(db)) {
    throw new ValidationError(
      `catalog: glue: cannot use namespace '${namespace.join('.')}' as a Glue database: it must be one level of 1-252 lower-case letters, digits or underscores`,
    );
  }
  return db;
}

/**
 * The Glue database and table names of an identifier.
 * @throws ValidationError unless the table name is 1–255 lower-case letters, digits, `_`
 */
export function glueTableRef(id: TableIdentifier): { db: string; name: string } {
  const db = glueDatabaseName(id.namespace);
  if (!TABLE_NAME.test(id.name)) {
    throw new ValidationError(
      `catalog: glue: cannot use '${id.name}' as a Glue table name: it must be 1-255 lower-case letters, digits or underscores`,
    );
  }
  return { db, name: id.name };
}

/** True when the namespace could name a Glue database (so asking Glue about it makes sense). */
export function isValidGlueNamespace(namespace: Namespace): boolean {
  return namespace.length === 1 && DATABASE_NAME.test(namespace[0] ?? '');
}

/**
 * The Hive type string Glue shows for an Iceberg type, as Java's `toTypeString`: time, string and
 * uuid are `string`; fixed and binary `binary`; both timestamps `timestamp`; long `bigint`; nested
 * types `struct<a:int,…>`, `array<…>`, `map<k,v>`; anything else its Iceberg name
 * (`timestamp_ns` → `timestamp_nano`, Java's type id name).
 */
export function glueTypeString(type: IcebergType): string {
  if (typeof type === 'object') {
    switch (type.type) {
      case 'struct':
        return `struct<${type.fields.map((f) => `${f.name}:${glueTypeString(f.type)}`).join(',')}>`;
      case 'list':
        return `array<${glueTypeString(type.element)}>`;
      case 'map':
        return `map<${glueTypeString(type.key)},${glueTypeString(type.value)}>`;
    }
  }
  const t = type.toLowerCase();
  const decimal = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  if (decimal) return `decimal(${decimal[1]},${decimal[2]})`;
  if (t.startsWith('fixed[')) return 'binary';
  switch (t) {
    case 'boolean':
    case 'int':
    case 'float':
    case 'double':
    case 'date':
    case 'binary':
      return t;
    case 'long':
      return 'bigint';
    case 'time':
    case 'string':
    case 'uuid':
      return 'string';
    case 'timestamp':
    case 'timestamptz':
      return 'timestamp';
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return 'timestamp_nano';
    default:
      // variant, unknown, geometry(…), geography(…): the type's name, as Java's default branch.
      return t.replace(/\(.*$/, '');
  }
}

function column(field: NestedField, current: boolean, existingComments: ReadonlyMap<string, string>): Column {
  const comment = field.doc ? field.doc : existingComments.get(field.name);
  return {
    Name: field.name,
    Type: glueTypeString(field.type),
    ...(comment !== undefined ? { Comment: comment } : {}),
    Parameters: {
      [ICEBERG_FIELD_ID]: String(field.id),
      [ICEBERG_FIELD_OPTIONAL]: String(!field.required),
      [ICEBERG_FIELD_CURRENT]: String(current),
    },
  };
}

/**
 * The Glue columns of a table: the current schema's fields, then fields that only older schemas
 * have (`iceberg.field.current=false`), one per name. A field without a doc keeps the comment its
 * column already had in Glue (set by a user in the console), as Java does.
 */
export function glueColumns(md: TableMetadata, existingComments: ReadonlyMap<string, string> = new Map()): Column[] {
  const out: Column[] = [];
  const seen = new Set<string>();
  const add = (field: NestedField, current: boolean) => {
    if (seen.has(field.name)) return;
    seen.add(field.name);
    out.push(column(field, current, existingComments));
  };
  const currentSchema = findSchema(md, md['current-schema-id']);
  for (const f of currentSchema?.fields ?? []) add(f, true);
  for (const s of md.schemas) {
    if (s['schema-id'] === md['current-schema-id']) continue;
    for (const f of s.fields) add(f, false);
  }
  return out;
}

/** The StorageDescriptor of a table: its location, columns and additional write locations. */
export function glueStorageDescriptor(md: TableMetadata, existing?: Table): StorageDescriptor {
  const comments = new Map<string, string>();
  for (const c of existing?.StorageDescriptor?.Columns ?? []) if (c.Name && c.Comment) comments.set(c.Name, c.Comment);
  const additional = [...new Set(ADDITIONAL_LOCATION_PROPERTIES.map((k) => md.properties[k]).filter((v): v is string => !!v))];
  return {
    Location: md.location,
    Columns: glueColumns(md, comments),
    ...(additional.length > 0 ? { AdditionalLocations: additional } : {}),
  };
}

/**
 * The TableInput that points a Glue table at a metadata file. On update, the table's other
 * parameters (set by Athena, Lake Formation or a user) and its description are kept, as Java does;
 * a `comment` table property replaces the description.
 * @param existing the Glue table being updated, or undefined for a new table
 * @param previousMetadataLocation the metadata file the commit replaced
 */
export function glueTableInput(
  name: string,
  md: TableMetadata,
  metadataLocation: string,
  existing: Table | undefined,
  previousMetadataLocation?: string,
): TableInput {
  const parameters: Record<string, string> = { ...(existing?.Parameters ?? {}) };
  parameters[TABLE_TYPE_PARAM] = ICEBERG_TABLE_TYPE_VALUE;
  parameters[METADATA_LOCATION_PARAM] = metadataLocation;
  if (previousMetadataLocation) parameters[PREVIOUS_METADATA_LOCATION_PARAM] = previousMetadataLocation;
  const description = md.properties[GLUE_DESCRIPTION_KEY] ?? existing?.Description;
  return {
    Name: name,
    ...(description !== undefined ? { Description: description } : {}),
    TableType: GLUE_EXTERNAL_TABLE_TYPE,
    Parameters: parameters,
    StorageDescriptor: glueStorageDescriptor(md, existing),
  };
}

/**
 * A TableInput recreating `table` under another name (Glue has no rename: Java creates the new
 * table from the old one's definition, then deletes the old one).
 */
export function copyTableInput(table: Table, newName: string): TableInput {
  return {
    Name: newName,
    ...(table.Description !== undefined ? { Description: table.Description } : {}),
    ...(table.Owner !== undefined ? { Owner: table.Owner } : {}),
    ...(table.Retention !== undefined ? { Retention: table.Retention } : {}),
    ...(table.TableType !== undefined ? { TableType: table.TableType } : {}),
    ...(table.Parameters !== undefined ? { Parameters: table.Parameters } : {}),
    ...(table.StorageDescriptor !== undefined ? { StorageDescriptor: table.StorageDescriptor } : {}),
    ...(table.PartitionKeys !== undefined ? { PartitionKeys: table.PartitionKeys } : {}),
  };
}

/** True when a Glue table is an Iceberg table (`table_type` = `iceberg`, any case). */
export function isIcebergGlueTable(table: Table): boolean {
  return table.Parameters?.[TABLE_TYPE_PARAM]?.toLowerCase() === ICEBERG_TABLE_TYPE_VALUE.toLowerCase();
}

/** The DatabaseInput for a namespace and its properties. */
export function glueDatabaseInput(namespace: Namespace, properties: Record<string, string>): DatabaseInput {
  const input: DatabaseInput = { Name: glueDatabaseName(namespace), Parameters: {} };
  for (const [k, v] of Object.entries(properties)) {
    if (k === GLUE_DESCRIPTION_KEY) input.Description = v;
    else if (k === GLUE_DB_LOCATION_KEY) input.LocationUri = v;
    else input.Parameters![k] = v;
  }
  return input;
}

/** A namespace's properties from its Glue database (the inverse of {@link glueDatabaseInput}). */
export function namespacePropertiesOf(db: Database): Record<string, string> {
  const out: Record<string, string> = { ...(db.Parameters ?? {}) };
  if (db.LocationUri) out[GLUE_DB_LOCATION_KEY] = stripTrailingSlash(db.LocationUri);
  if (db.Description !== undefined) out[GLUE_DESCRIPTION_KEY] = db.Description;
  return out;
}

/**
 * Where a new table goes when no location is given, as Java's GlueCatalog (and HiveCatalog):
 * `<database LocationUri>/<table>` when the database has a location, else
 * `<warehouse>/<database>.db/<table>`.
 * @throws ValidationError when neither exists
 */
export function glueDefaultTableLocation(warehouse: string, db: string, table: string, databaseLocation?: string): string {
  if (databaseLocation) return `${stripTrailingSlash(databaseLocation)}/${table}`;
  if (!warehouse) {
    throw new ValidationError(
      `catalog: glue: no warehouse configured and database ${db} has no location; give the table ${table} a location or configure catalog.warehouse`,
    );
  }
  return `${stripTrailingSlash(warehouse)}/${db}.db/${table}`;
}
