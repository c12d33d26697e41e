/**
 * The `tables:` section of a `floe run` config: one source routed to several tables (issue #17
 * part 4). Each entry has its own `table` and `transform` (validated exactly as the single-table
 * config's, by `validateConfig`) and either a `where` condition on the record
 * (`route-condition.ts`), a table-name template (`db.events_{event_type}`, with `name_pattern`,
 * which every name it makes must match in full, and `max_tables`), both, or neither (every record).
 *
 * With `tables:` the top-level `table` and `transform` are not used; `dead_letter.table` names
 * the table of records that match no entry (default `<namespace of the first entry>.unrouted`);
 * each entry's own dead letters go to `<its table>_dead_letters`. Routing is for one process
 * reading every partition: `source.application` (leases) and Kafka are refused for now.
 */
import { ValidationError } from '../errors.js';
import type { PipelineConfig } from './config.js';
import { parseRouteCondition, type RouteCondition } from './route-condition.js';

/** Most entries in `tables:`. */
export const MAX_ROUTES = 100;
/** Default of `table.max_tables` for a template: tables it may create, and hold open, at most. */
export const DEFAULT_MAX_TEMPLATE_TABLES = 100;

/** A table-name template: literal text and field paths, alternating. */
export interface TableTemplate {
  /** The template as written (`db.events_{event_type}`). */
  text: string;
  /** Literal parts (strings) and placeholders (field paths). */
  parts: (string | string[])[];
  /** The namespace (fixed: placeholders are only allowed in the table's own name). */
  namespace: string[];
  /** Every name the template makes must match this in full. */
  pattern: RegExp;
  maxTables: number;
}

/** One entry of `tables:`. */
export interface RouteConfig {
  /** The pipeline config of this table (for a template, `table.name` is the template text). */
  config: PipelineConfig;
  where?: RouteCondition;
  /** The `where` text, for messages. */
  whereText?: string;
  template?: TableTemplate;
}

/** What routing adds to {@link PipelineConfig}. */
export interface RoutingConfig {
  routes: RouteConfig[];
  /** The dead-letter table of records no entry takes (`dead_letter.table`). */
  unroutedTable: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses `{a.b}` placeholders out of a table-name template. */
function parseTemplate(text: string, pattern: string | undefined, maxTables: unknown, where: string): TableTemplate {
  const dot = text.lastIndexOf('.');
  const namespace = text.slice(0, dot);
  if (/[{}]/.test(namespace)) throw new ValidationError(`config: ${where}.name: placeholders are only allowed in the table's name, not its namespace ('${namespace}')`);
  const parts: (string | string[])[] = [];
  const re = /\{([^{}]*)\}/g;
  let last = dot + 1;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index < last) continue;
    if (m.index > last) parts.push(text.slice(last, m.index));
    const path = m[1]!.split('.');
    if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(p))) throw new ValidationError(`config: ${where}.name: '{${m[1]}}' is not a field name or dotted path`);
    parts.push(path);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.some((p) => typeof p === 'string' && /[{}]/.test(p))) throw new ValidationError(`config: ${where}.name: unbalanced braces in '${text}'`);
  if (pattern === undefined) {
    throw new ValidationError(`config: ${where}.name_pattern: required with a table-name template: the names '${text}' may make (and create) must match it, e.g. '^${namespace.replace(/\./g, '\\.')}\\.[a-z0-9_]{1,64}$'`);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${pattern})$`);
  } catch (e) {
    throw new ValidationError(`config: ${where}.name_pattern: not a regular expression: ${(e as Error).message}`);
  }
  let max = DEFAULT_MAX_TEMPLATE_TABLES;
  if (maxTables !== undefined) {
    if (typeof maxTables !== 'number' || !Number.isSafeInteger(maxTables) || maxTables < 1 || maxTables > 10_000) {
      throw new ValidationError(`config: ${where}.max_tables: must be an integer from 1 to 10000`);
    }
    max = maxTables;
  }
  return { text, parts, namespace: namespace.split('.'), pattern: regex, maxTables: max };
}

/** Puts `tables[i].` in front of the key a message names. */
function prefixed(e: unknown, i: number): unknown {
  if (!(e instanceof ValidationError)) return e;
  return new ValidationError(e.message.replace(/^config: /, `config: tables[${i}].`), { cause: e });
}

/**
 * Validates a config with `tables:`. `validate` is `validateConfig` (passed in: that module
 * imports this one), run on each entry as a single-table config.
 */
export function parseRoutedConfig(raw: Obj, validate: (raw: unknown) => PipelineConfig): PipelineConfig {
  for (const k of ['table', 'transform']) {
    if (raw[k] !== undefined) throw new ValidationError(`config: ${k}: not used with tables: (each entry has its own table and transform)`);
  }
  const list = raw.tables;
  if (!Array.isArray(list) || list.length === 0) throw new ValidationError('config: tables: must be a non-empty list of { table, transform, where }');
  if (list.length > MAX_ROUTES) throw new ValidationError(`config: tables: at most ${MAX_ROUTES} entries`);
  const source = isObj(raw.source) ? raw.source : {};
  if (source.application !== undefined) throw new ValidationError('config: tables: routing with source.application (leases) is not supported yet');
  if (source.type === 'kafka') throw new ValidationError('config: tables: routing with a Kafka source is not supported yet');
  const dl = isObj(raw.dead_letter) ? raw.dead_letter : {};
  const { table: unroutedRaw, ...dlRest } = dl;
  const { tables: _tables, ...rest } = raw;

  const routes: RouteConfig[] = [];
  list.forEach((entry: unknown, i) => {
    if (!isObj(entry)) throw new ValidationError(`config: tables[${i}]: must be a mapping with table, transform and optionally where`);
    for (const k of Object.keys(entry)) {
      if (!['table', 'transform', 'where'].includes(k)) throw new ValidationError(`config: tables[${i}].${k}: unknown key (allowed: table, transform, where)`);
    }
    if (!isObj(entry.table)) throw new ValidationError(`config: tables[${i}].table: missing section`);
    const { name_pattern: pattern, max_tables: maxTables, ...table } = entry.table;
    const name = typeof table.name === 'string' ? table.name : '';
    const isTemplate = name.includes('{');
    if (!isTemplate && (pattern !== undefined || maxTables !== undefined)) {
      throw new ValidationError(`config: tables[${i}].table.${pattern !== undefined ? 'name_pattern' : 'max_tables'}: only used with a table-name template ({field} in table.name)`);
    }
    if (pattern !== undefined && (typeof pattern !== 'string' || pattern.length === 0)) throw new ValidationError(`config: tables[${i}].table.name_pattern: must be a non-empty string`);
    let config: PipelineConfig;
    try {
      config = validate({ ...rest, table, transform: entry.transform, dead_letter: dlRest });
    } catch (e) {
      throw prefixed(e, i);
    }
    const route: RouteConfig = { config };
    if (entry.where !== undefined) {
      if (typeof entry.where !== 'string') throw new ValidationError(`config: tables[${i}].where: must be a condition as text, e.g. "event_type = 'purchase'"`);
      route.where = parseRouteCondition(entry.where, `tables[${i}].where`);
      route.whereText = entry.where;
    }
    if (isTemplate) route.template = parseTemplate(name, pattern as string | undefined, maxTables, `tables[${i}].table`);
    routes.push(route);
  });

  const names = new Map<string, number>();
  routes.forEach((r, i) => {
    if (r.template) return;
    const other = names.get(r.config.table.name);
    if (other !== undefined) throw new ValidationError(`config: tables[${i}].table.name: '${r.config.table.name}' is also tables[${other}] (one entry per table; use OR in where)`);
    names.set(r.config.table.name, i);
  });
  const first = routes[0]!.config.table.name;
  const unroutedTable = unroutedRaw === undefined ? `${routes[0]!.template ? routes[0]!.template.namespace.join('.') : first.slice(0, first.lastIndexOf('.'))}.unrouted` : unroutedRaw;
  if (typeof unroutedTable !== 'string' || !/^[^.]+(\.[^.]+)+$/.test(unroutedTable)) {
    throw new ValidationError(`config: dead_letter.table: expected namespace.table, got '${String(unroutedTable)}'`);
  }
  if (names.has(unroutedTable) || routes.some((r) => r.config.deadLetter.table === unroutedTable)) {
    throw new ValidationError(`config: dead_letter.table: '${unroutedTable}' is also a table of tables: (records no entry takes need a table of their own)`);
  }
  for (const r of routes) {
    if (!r.template && [...names.keys()].some((n) => `${n}_dead_letters` === r.config.table.name)) {
      throw new ValidationError(`config: tables: '${r.config.table.name}' is the dead-letter table of another entry`);
    }
  }
  return { ...routes[0]!.config, routing: { routes, unroutedTable } };
}
