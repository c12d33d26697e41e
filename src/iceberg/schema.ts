/**
 * Compatibility only: the primitive type helpers that files in `src/data/` import from here. They
 * live in `schema-types.ts`; `src/data/` is being reorganized by others right now (the Parquet
 * writer split, DuckDB's own folder), so its imports move there afterwards, and then this file
 * goes. Nothing new imports from here.
 *
 * Where the rest of the former `schema.ts` is: `schema-types.ts` (type guards, primitive type
 * strings, v3-only types, type equality), `schema-parse.ts` (parseSchema, parseType, identifier
 * fields, default values), `schema-index.ts` (field indexes, names, max id),
 * `schema-fresh-ids.ts` (assignFreshIds), `schema-evolution.ts` (canPromote, column operations),
 * `schema-display.ts` (typeToString, schemaToString).
 */
export { decimalParams, fixedLength, primitiveKind, type PrimitiveKind } from './schema-types.js';
