/**
 * `floe run` on an existing table: what the config says that the table does not have yet, as one
 * REST-shaped commit made before ingestion starts (issue #17 part 2). Nothing in the config is
 * silently ignored:
 * - a mapping column the table lacks is added as an optional column (fresh id after
 *   `last-column-id`); one without a `type` is an error (there is nothing to add);
 * - a declared type the table's column can be widened to (int→long, float→double, decimal
 *   precision) widens it; any other difference is an error naming the column, both types and
 *   the `floe table alter` commands that would make them agree;
 * - a `partition_by` whose spec differs from the table's default spec becomes a new spec made
 *   default (partition evolution; field ids follow the spec: a field the table had keeps its id);
 * - `properties` whose value differs from the table's are set (others of the table are kept).
 * With `table.evolve: false` any of these is an error naming the commands instead.
 * Pure: the caller commits the plan (with its requirements, so a concurrent change is no
 * clobber) and reports its `changes`.
 */
import { ValidationError } from '../errors.js';
import type { TableRequirement, TableUpdate } from '../iceberg/commit.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { currentSchema, defaultSpec } from '../iceberg/metadata-lookup.js';
import { parsePartitionArg } from '../iceberg/notation.js';
import { partitionSpecToString, specsEquivalent } from '../iceberg/partitioning.js';
import { typeToString } from '../iceberg/schema-display.js';
import { addColumn, canPromote, promoteColumn } from '../iceberg/schema-evolution.js';
import { typesEqual } from '../iceberg/schema-types.js';
import { RESERVED_PROPERTIES } from '../iceberg/table-metadata.js';
import type { PrimitiveType, Schema } from '../iceberg/types.js';
import { requirementsForUpdates } from '../iceberg/update-metadata.js';
import type { PipelineConfig } from './config.js';
import { parseColumnType } from './transform.js';

/** What the config asks of the table: the commit to make and what it changes, in words. */
export interface EvolutionPlan {
  requirements: TableRequirement[];
  updates: TableUpdate[];
  /** One line per change (`added column country string`), for the log. */
  changes: string[];
}

/** A change that needs a commit, with the `floe table alter` command that would make it. */
interface Wanted {
  change: string;
  command: string;
}

/** Quotes a command argument for a shell when it needs it. */
function arg(s: string): string {
  return /^[A-Za-z0-9_.,=:()/-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Plans what `config` asks of the existing table `md` (see the file comment). Throws
 * ValidationError `config: …` for what cannot be done (an incompatible type, a missing column
 * without a type, anything at all under `table.evolve: false`), before any work.
 */
export function planTableEvolution(md: TableMetadata, config: Pick<PipelineConfig, 'table' | 'transform'>): EvolutionPlan {
  const table = config.table.name;
  const alter = `floe table alter ${table}`;
  let schema: Schema = currentSchema(md, 'table');
  const schemaId = Math.max(...md.schemas.map((s) => s['schema-id'])) + 1;
  let lastColumnId = md['last-column-id'];
  let schemaChanged = false;
  const wanted: Wanted[] = [];
  const updates: TableUpdate[] = [];

  config.transform.columns.forEach((c, i) => {
    const where = `config: transform.columns[${i}] (${c.name})`;
    const field = schema.fields.find((f) => f.name === c.name);
    if (c.type === undefined) {
      if (!field) throw new ValidationError(`${where}: the table ${table} has no column '${c.name}' and the mapping gives no type to add it with (set type:)`);
      return;
    }
    const declared = parseColumnType(c.type, `${where}.type`);
    const shown = typeToString(declared);
    if (!field) {
      const clash = schema.fields.find((f) => f.name.toLowerCase() === c.name.toLowerCase());
      if (clash) {
        throw new ValidationError(`${where}: the table ${table} has no column '${c.name}' but has '${clash.name}', which differs only in case (DuckDB, which writes the files, cannot hold both): use the table's name`);
      }
      const added = addColumn(schema, { name: c.name, type: declared }, { schemaId, lastColumnId });
      schema = added.schema;
      lastColumnId = added.lastColumnId;
      schemaChanged = true;
      wanted.push({ change: `added column ${c.name} ${shown} (optional)`, command: `${alter} add-column ${arg(c.name)} ${arg(shown)}` });
      return;
    }
    if (typesEqual(field.type, declared)) return;
    const has = typeToString(field.type);
    if (canPromote(field.type, declared, md['format-version'])) {
      schema = promoteColumn(schema, c.name, declared as PrimitiveType, { schemaId, formatVersion: md['format-version'] });
      schemaChanged = true;
      wanted.push({ change: `widened column ${c.name} ${has} → ${shown}`, command: `${alter} widen ${arg(c.name)} ${arg(shown)}` });
      return;
    }
    const narrower = canPromote(declared, field.type, md['format-version']);
    throw new ValidationError(
      `${where}: type ${shown} does not match the table's ${has}, and a column of type ${has} cannot become ${shown}` +
        ` (columns only widen: int→long, float→double, decimal precision).` +
        (narrower
          ? ` Set type: ${has} in the config (the table's type takes every ${shown} value)`
          : ` Set type: ${has} in the config, or keep the old column under another name and add a new one:` +
            ` \`${alter} rename-column ${arg(c.name)} ${arg(c.name + '_' + has.replace(/\W+/g, '_'))}\`, then \`${alter} add-column ${arg(c.name)} ${arg(shown)}\``),
    );
  });
  if (schemaChanged) {
    updates.push({ action: 'add-schema', schema, 'last-column-id': lastColumnId }, { action: 'set-current-schema', 'schema-id': -1 });
  }

  const partitionBy = config.table.partitionBy;
  if (partitionBy !== undefined) {
    const parsed = parsePartitionArg(partitionBy, schema, 'config: table.partition_by');
    const current = defaultSpec(md, 'table');
    if (!specsEquivalent(current, parsed)) {
      // Without field ids the table keeps the id of a field it had and numbers the new ones.
      const fields = parsed.fields.map(({ 'field-id': _id, ...f }) => f);
      updates.push({ action: 'add-spec', spec: { 'spec-id': 0, fields } as never }, { action: 'set-default-spec', 'spec-id': -1 });
      const was = current.fields.length ? partitionSpecToString(current) : 'unpartitioned';
      wanted.push({ change: `partition spec ${was} → ${partitionBy}`, command: `${alter} set-partition-spec ${arg(partitionBy)}` });
    }
  }

  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.table.properties)) {
    // Reserved properties describe the metadata and are never stored (`format-version` was used
    // when the table was created): they cannot differ from stored properties, only from the table.
    if (k === 'format-version') {
      if (Number(v) !== md['format-version']) {
        throw new ValidationError(
          `config: table.properties.format-version is ${v} but the table ${table} is format v${md['format-version']}; floe does not change a table's format version (create the table anew, or remove the property)`,
        );
      }
      continue;
    }
    if (RESERVED_PROPERTIES.includes(k)) continue;
    if (md.properties[k] === v) continue;
    set[k] = v;
    wanted.push({ change: `property ${k}=${v}${md.properties[k] === undefined ? '' : ` (was ${md.properties[k]})`}`, command: `${alter} set-property ${arg(`${k}=${v}`)}` });
  }
  if (Object.keys(set).length > 0) updates.push({ action: 'set-properties', updates: set });

  if (wanted.length > 0 && !config.table.evolve) {
    throw new ValidationError(
      `config: table.evolve is false and the table ${table} differs from the config: ${wanted.map((w) => w.change).join('; ')}. ` +
        `Change the table first (${wanted.map((w) => `\`${w.command}\``).join(', ')}) or set table.evolve: true`,
    );
  }
  return { requirements: updates.length ? requirementsForUpdates(md, updates) : [], updates, changes: wanted.map((w) => w.change) };
}
