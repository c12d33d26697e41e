/**
 * Look-ups in table metadata: schemas, partition specs and sort orders by id, and the current /
 * default one of each (snapshots: `snapshot.ts`).
 *
 * `find…` returns undefined when the id is absent; the others throw. A parsed table metadata
 * always holds its current schema, default spec and default sort order (`validateTableMetadata`),
 * but an id read from elsewhere (a manifest's `partition_spec_id`, a snapshot's `schema-id`) may
 * name nothing. The throwing forms take the caller's subsystem so the message starts with it
 * (`table: partition spec 3 not found`).
 */
import { ValidationError } from '../errors.js';
import type { PartitionSpec, SortOrder, TableMetadata } from './metadata.js';
import type { Schema } from './types.js';

/** The schema with this id, or undefined. */
export function findSchema(md: TableMetadata, id: number): Schema | undefined {
  return md.schemas.find((s) => s['schema-id'] === id);
}

/**
 * The schema with this id.
 * @throws ValidationError `<subsystem>: schema N not found`
 */
export function schemaById(md: TableMetadata, id: number, subsystem = 'metadata'): Schema {
  const s = findSchema(md, id);
  if (!s) throw new ValidationError(`${subsystem}: schema ${id} not found`);
  return s;
}

/**
 * The table's current schema (`current-schema-id`).
 * @throws ValidationError `<subsystem>: current schema N not found`
 */
export function currentSchema(md: TableMetadata, subsystem = 'metadata'): Schema {
  const s = findSchema(md, md['current-schema-id']);
  if (!s) throw new ValidationError(`${subsystem}: current schema ${md['current-schema-id']} not found`);
  return s;
}

/** The partition spec with this id, or undefined. */
export function findSpec(md: TableMetadata, id: number): PartitionSpec | undefined {
  return md['partition-specs'].find((s) => s['spec-id'] === id);
}

/**
 * The partition spec with this id.
 * @throws ValidationError `<subsystem>: partition spec N not found`
 */
export function specById(md: TableMetadata, id: number, subsystem = 'metadata'): PartitionSpec {
  const s = findSpec(md, id);
  if (!s) throw new ValidationError(`${subsystem}: partition spec ${id} not found`);
  return s;
}

/**
 * The spec new data files are written with (`default-spec-id`).
 * @throws ValidationError `<subsystem>: partition spec N not found`
 */
export function defaultSpec(md: TableMetadata, subsystem = 'metadata'): PartitionSpec {
  return specById(md, md['default-spec-id'], subsystem);
}

/** The sort order with this id, or undefined. */
export function findSortOrder(md: TableMetadata, id: number): SortOrder | undefined {
  return md['sort-orders'].find((o) => o['order-id'] === id);
}

/**
 * The sort order with this id.
 * @throws ValidationError `<subsystem>: sort order N not found`
 */
export function sortOrderById(md: TableMetadata, id: number, subsystem = 'metadata'): SortOrder {
  const o = findSortOrder(md, id);
  if (!o) throw new ValidationError(`${subsystem}: sort order ${id} not found`);
  return o;
}

/**
 * The table's default sort order (`default-sort-order-id`).
 * @throws ValidationError `<subsystem>: sort order N not found`
 */
export function defaultSortOrder(md: TableMetadata, subsystem = 'metadata'): SortOrder {
  return sortOrderById(md, md['default-sort-order-id'], subsystem);
}
