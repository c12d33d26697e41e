/**
 * Output formats shared by every CLI command that prints rows: `table` (aligned text for humans),
 * `json` (one JSON array of row objects and nothing else) and `csv` (RFC 4180).
 */
import { ValidationError } from '../errors.js';
import { toDisplayString, toJsonValue, type JsonOut } from '../query/result-values.js';
import type { DuckDBValue } from '@duckdb/node-api';
import type { FlagSpecs } from './help.js';

/** The output formats. */
export type OutputFormat = 'table' | 'json' | 'csv';

/** `--format`, for every command that prints rows. */
export const FORMAT_FLAG: FlagSpecs = {
  format: {
    type: 'string',
    value: 'table|json|csv',
    help: 'table: aligned text (default); json: one JSON array of row objects and nothing else; csv: RFC 4180 with a header',
  },
};

/** Parses a `--format` value. */
export function parseFormat(v: string | undefined): OutputFormat {
  if (v === undefined) return 'table';
  if (v === 'table' || v === 'json' || v === 'csv') return v;
  throw new ValidationError(`cli: --format must be table, json or csv, got '${v}'`);
}

/** Rows as produced by a query: column names plus DuckDB values per row. */
export interface ResultRows {
  columns: string[];
  rows: DuckDBValue[][];
}

/** Plain JS rows (already JSON-friendly), as produced by `floe table …` commands. */
export interface PlainRows {
  columns: string[];
  rows: JsonOut[][];
}

function plainDisplay(v: JsonOut): string {
  if (v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function renderTable(columns: string[], cells: string[][], nulls: boolean[][]): string {
  const widths = columns.map((c) => c.length);
  const shown = cells.map((row, r) =>
    row.map((cell, i) => {
      const text = nulls[r]?.[i] ? 'NULL' : cell.replace(/\n/g, '\\n');
      widths[i] = Math.max(widths[i] ?? 0, text.length);
      return text;
    }),
  );
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ').trimEnd();
  const sep = widths.map((w) => '-'.repeat(w)).join('-+-');
  const out = [line(columns), sep, ...shown.map(line)];
  out.push(`(${cells.length} row${cells.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

/** Formats query results. */
export function formatResult(result: ResultRows, format: OutputFormat): string {
  if (format === 'json') {
    const objs = result.rows.map((row) => {
      const o: { [key: string]: JsonOut } = {};
      result.columns.forEach((c, i) => (o[c] = toJsonValue(row[i] ?? null)));
      return o;
    });
    return JSON.stringify(objs) + '\n';
  }
  const cells = result.rows.map((row) => row.map((v) => toDisplayString(v)));
  if (format === 'csv') {
    return [result.columns, ...cells].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
  }
  const nulls = result.rows.map((row) => row.map((v) => v === null || v === undefined));
  return renderTable(result.columns, cells, nulls);
}

/** Formats plain rows. */
export function formatPlain(result: PlainRows, format: OutputFormat): string {
  if (format === 'json') {
    const objs = result.rows.map((row) => {
      const o: { [key: string]: JsonOut } = {};
      result.columns.forEach((c, i) => (o[c] = row[i] ?? null));
      return o;
    });
    return JSON.stringify(objs) + '\n';
  }
  const cells = result.rows.map((row) => row.map(plainDisplay));
  if (format === 'csv') {
    return [result.columns, ...cells].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
  }
  const nulls = result.rows.map((row) => row.map((v) => v === null));
  return renderTable(result.columns, cells, nulls);
}
