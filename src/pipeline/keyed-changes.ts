/**
 * The changes of an upsert table (`table.upsert`) between two commits: per key, the last thing
 * the stream said about it (a row, or a delete), in stream order. Within one commit the last
 * record of a key wins because the unit holds one entry per key; the commit writes the rows that
 * remain, and one equality delete per key touched (`table/equality-deletes.ts`), which removes the
 * key's rows of earlier commits only (its own rows have the same sequence number).
 *
 * How a record says what it is:
 * - plain (`json`): an upsert of the record; with `transform.operation`, a record whose value at
 *   its `path` is one of its `delete` values deletes the key the mapping reads from it;
 * - `debezium`: a change event, `{before, after, op, ts_ms, …}`, bare or inside the JSON
 *   converter's `{schema, payload}` wrapper: `c`, `r` (snapshot read), `u` upsert `after`; `d`
 *   deletes `before`'s key. The mapping's paths are read inside `after` (or `before`): the
 *   transform is compiled with the paths prefixed, so numbers keep their exact text.
 * A record with no value (a Kafka tombstone) changes nothing; the pipeline counts it.
 */
import type { IcebergValue, Schema } from '../iceberg/types.js';
import { keyText } from '../table/equality-deletes.js';
import { keySchema } from '../table/equality-deletes.js';
import type { PipelineConfig } from './config.js';
import { compileTransform, RecordError, type ColumnMapping, type CompiledTransform, type RecordContext, type TransformSpec } from './transform.js';

/** What a record did. */
export type ChangeKind = 'upsert' | 'delete';

/** One key's last change: its row, or null when deleted. */
interface Change {
  key: IcebergValue[];
  row: IcebergValue[] | null;
}

/** The mapping with each record path read under `prefix` (derived values, constants, headers as they are). */
function prefixed(spec: TransformSpec, prefix: string, only?: readonly string[]): TransformSpec {
  const columns = spec.columns
    .filter((c) => only === undefined || only.includes(c.name))
    .map((c): ColumnMapping => (c.value !== undefined || c.constant !== undefined || c.header !== undefined ? c : { ...c, path: prefix + (c.path ?? c.name) }));
  return { columns };
}

function describe(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 100 ? `${s.slice(0, 100)}…` : s;
}

/** Own property `k` of an object value, else undefined. */
function field(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' && !Array.isArray(o) && Object.prototype.hasOwnProperty.call(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

/** The changes of one unit, and how records become them. */
export class KeyedChanges {
  private changes = new Map<string, Change>();
  /** Positions of the key columns in the table schema's rows, in key order. */
  private readonly keyIndexes: number[];
  /** Upsert mappings: bare, and (debezium) under `after.` / `payload.after.`. */
  private readonly rows: { bare: CompiledTransform; wrapped: CompiledTransform | undefined };
  /** Key-only mappings of deletes: bare (operation) or under `before.` / `payload.before.`. */
  private readonly keys: { bare: CompiledTransform; wrapped: CompiledTransform | undefined };
  private readonly format: 'json' | 'debezium';
  private readonly operation: PipelineConfig['transform']['operation'];
  private readonly opPath: string[] | undefined;
  private readonly row: IcebergValue[];
  private readonly key: IcebergValue[];

  constructor(
    config: PipelineConfig,
    /** The mapping compiled on the table's schema (plain records). */
    transform: CompiledTransform,
    /** The key columns' field ids (table identifier fields, key order). */
    readonly keyIds: readonly number[],
  ) {
    const schema: Schema = transform.schema;
    this.keyIndexes = keyIds.map((id) => schema.fields.findIndex((f) => f.id === id));
    const spec = config.transform;
    const keyNames = keyIds.map((id) => schema.fields.find((f) => f.id === id)!.name);
    const ks = keySchema(schema, keyIds);
    this.format = spec.format ?? 'json';
    this.operation = spec.operation;
    this.opPath = spec.operation?.path.split('.');
    const what = 'config: transform';
    if (this.format === 'debezium') {
      this.rows = { bare: compileTransform(prefixed(spec, 'after.'), schema, what), wrapped: compileTransform(prefixed(spec, 'payload.after.'), schema, what) };
      this.keys = { bare: compileTransform(prefixed(spec, 'before.', keyNames), ks, what), wrapped: compileTransform(prefixed(spec, 'payload.before.', keyNames), ks, what) };
    } else {
      this.rows = { bare: transform, wrapped: undefined };
      this.keys = { bare: compileTransform(prefixed(spec, '', keyNames), ks, what), wrapped: undefined };
    }
    this.row = new Array<IcebergValue>(schema.fields.length).fill(null);
    this.key = new Array<IcebergValue>(keyIds.length).fill(null);
  }

  /** Keys with a change in this unit. */
  get size(): number {
    return this.changes.size;
  }

  /**
   * Takes one parsed record: the key's entry becomes its row or its delete (replacing what the
   * unit held for the key). Throws RecordError for a record that says nothing usable (the
   * record's dead letter); nothing is changed then.
   */
  take(obj: unknown, ctx: RecordContext): ChangeKind {
    let kind: ChangeKind;
    let wrapped = false;
    if (this.format === 'debezium') {
      let env = obj;
      if (field(obj, 'payload') !== undefined && field(obj, 'schema') !== undefined) {
        env = field(obj, 'payload');
        wrapped = true;
      }
      if (env === null || typeof env !== 'object' || Array.isArray(env)) throw new RecordError(`debezium: the change event is not a JSON object (got ${describe(env)})`);
      const op = field(env, 'op');
      if (op === 'c' || op === 'r' || op === 'u') {
        if (field(env, 'after') === null || typeof field(env, 'after') !== 'object') throw new RecordError(`debezium: op '${op}' without an 'after' row`);
        kind = 'upsert';
      } else if (op === 'd') {
        if (field(env, 'before') === null || typeof field(env, 'before') !== 'object') {
          throw new RecordError("debezium: op 'd' without a 'before' row (the source table must send the key of deleted rows: Postgres REPLICA IDENTITY DEFAULT or FULL)");
        }
        kind = 'delete';
      } else if (op === undefined) {
        throw new RecordError("debezium: no 'op' field (not a Debezium change event; with Kafka Connect's JSON converter, schemas.enable gives {schema, payload}, both read)");
      } else {
        throw new RecordError(`debezium: op ${describe(op)} is not supported (c, r, u, d)`);
      }
    } else if (this.operation !== undefined) {
      let v: unknown = obj;
      for (const k of this.opPath!) v = field(v, k);
      kind = v !== undefined && v !== null && this.operation.delete.includes(v as string | number | boolean) ? 'delete' : 'upsert';
    } else {
      kind = 'upsert';
    }
    if (kind === 'upsert') {
      const t = wrapped ? this.rows.wrapped! : this.rows.bare;
      t.applyInto(obj, ctx, this.row);
      const key = this.keyIndexes.map((i) => this.row[i] ?? null);
      this.set(key, this.row.slice());
    } else {
      const t = wrapped ? this.keys.wrapped! : this.keys.bare;
      t.applyInto(obj, ctx, this.key);
      this.set(this.key.slice(), null);
    }
    return kind;
  }

  private set(key: IcebergValue[], row: IcebergValue[] | null): void {
    const k = keyText(key);
    // Deleted first: the map's order stays the order of each key's last change.
    this.changes.delete(k);
    this.changes.set(k, { key, row });
  }

  /**
   * Ends the unit: the rows that remain (the last of their key, upserted), and every key touched
   * (one equality delete each, in key order of the key columns); the unit starts empty.
   */
  seal(): { rows: IcebergValue[][]; keys: IcebergValue[][] } {
    const rows: IcebergValue[][] = [];
    const keys: IcebergValue[][] = [];
    for (const c of this.changes.values()) {
      keys.push(c.key);
      if (c.row !== null) rows.push(c.row);
    }
    this.changes = new Map();
    return { rows, keys };
  }

  /** Drops the unit's changes (a rewind). */
  clear(): number {
    const n = this.changes.size;
    this.changes = new Map();
    return n;
  }
}
