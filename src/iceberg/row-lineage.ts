/**
 * The row lineage metadata columns of format v3 (spec §Row Lineage, §Reserved Field IDs): a
 * row's `_row_id` and `_last_updated_sequence_number`. Data files may store them (a rewrite must:
 * a row moved to another file keeps both), and a null or absent value is inherited on read from
 * the file's `first_row_id` + row position, and from the file's data sequence number. They are not
 * columns of the table schema: the reserved ids lie above every id a schema may use.
 */
import type { NestedField } from './types.js';

/** Reserved field id of `_row_id`. */
export const ROW_ID_FIELD_ID = 2147483540;
/** Reserved field id of `_last_updated_sequence_number`. */
export const LAST_UPDATED_SEQUENCE_NUMBER_FIELD_ID = 2147483539;

/** Column name of `_row_id`. */
export const ROW_ID_NAME = '_row_id';
/** Column name of `_last_updated_sequence_number`. */
export const LAST_UPDATED_SEQUENCE_NUMBER_NAME = '_last_updated_sequence_number';

/**
 * The two columns as fields (both optional longs: null means "inherit"), in the order floe writes
 * and reads them.
 */
export const ROW_LINEAGE_FIELDS: readonly NestedField[] = [
  { id: ROW_ID_FIELD_ID, name: ROW_ID_NAME, required: false, type: 'long' },
  { id: LAST_UPDATED_SEQUENCE_NUMBER_FIELD_ID, name: LAST_UPDATED_SEQUENCE_NUMBER_NAME, required: false, type: 'long' },
];
