/**
 * Compatibility only: the scan table function moved to `src/duckdb/column-scan.ts`.
 * `encoded-column.ts` still imports these names from here while it is being changed by others;
 * once it imports `../duckdb/column-scan.js`, this file goes. Nothing new imports from here.
 */
export { allValid, SCAN_CHUNK_ROWS, type PreparedColumn } from '../duckdb/column-scan.js';
