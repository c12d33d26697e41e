/**
 * Parses the compact schema and partition notations the CLI and config files accept:
 *
 *   schema:    `event_id string not null, event_time timestamptz, tags list<string>,
 *               attrs map<string, long>, geo struct<lat: double, lon: double>, price decimal(9,2)`
 *              (or the Iceberg schema JSON itself)
 *   partition: `day(event_time), bucket(16, user_id), truncate(4, page), event_type`
 *
 * Field ids are placeholders (the catalog assigns fresh ones on create).
 */
import { ValidationError } from '../errors.js';
import type { PartitionField, PartitionSpec } from './metadata.js';
import { validatePartitionSpec } from './partitioning.js';
import { parseSchema } from './schema-parse.js';
import { parsePrimitiveType } from './schema-types.js';
import type { IcebergType, NestedField, Schema } from './types.js';

class Lexer {
  i = 0;
  constructor(
    readonly text: string,
    readonly what: string,
  ) {}
  ws(): void {
    while (this.i < this.text.length && /\s/.test(this.text[this.i]!)) this.i++;
  }
  peek(): string | undefined {
    this.ws();
    return this.text[this.i];
  }
  eat(c: string): boolean {
    if (this.peek() === c) {
      this.i++;
      return true;
    }
    return false;
  }
  expect(c: string): void {
    if (!this.eat(c)) this.fail(`expected '${c}'`);
  }
  word(): string {
    this.ws();
    const m = /^(`[^`]+`|"[^"]+"|[A-Za-z_][\w$]*)/.exec(this.text.slice(this.i));
    if (!m) this.fail('expected a name');
    this.i += m![0].length;
    const w = m![0];
    return w.startsWith('`') || w.startsWith('"') ? w.slice(1, -1) : w;
  }
  int(): number {
    this.ws();
    const m = /^\d+/.exec(this.text.slice(this.i));
    if (!m) this.fail('expected a number');
    this.i += m![0].length;
    return Number(m![0]);
  }
  atEnd(): boolean {
    this.ws();
    return this.i >= this.text.length;
  }
  fail(msg: string): never {
    throw new ValidationError(`${this.what}: ${msg} at position ${this.i + 1} of '${this.text}'`);
  }
}

const ALIASES: Record<string, string> = {
  integer: 'int',
  bigint: 'long',
  int64: 'long',
  int32: 'int',
  bool: 'boolean',
  varchar: 'string',
  text: 'string',
  real: 'float',
  float64: 'double',
  float32: 'float',
  bytes: 'binary',
  blob: 'binary',
  timestamp_tz: 'timestamptz',
};

function parseTypeExpr(lx: Lexer, nextId: () => number, column: string): IcebergType {
  const name = lx.word().toLowerCase();
  if (name === 'struct') {
    lx.expect('<');
    const fields: NestedField[] = [];
    do {
      fields.push(parseField(lx, nextId, ':'));
    } while (lx.eat(','));
    lx.expect('>');
    return { type: 'struct', fields };
  }
  if (name === 'list' || name === 'array') {
    lx.expect('<');
    const id = nextId();
    const element = parseTypeExpr(lx, nextId, `${column}.element`);
    lx.expect('>');
    return { type: 'list', 'element-id': id, element, 'element-required': false };
  }
  if (name === 'map') {
    lx.expect('<');
    const keyId = nextId();
    const valueId = nextId();
    const key = parseTypeExpr(lx, nextId, `${column}.key`);
    lx.expect(',');
    const value = parseTypeExpr(lx, nextId, `${column}.value`);
    lx.expect('>');
    return { type: 'map', 'key-id': keyId, key, 'value-id': valueId, value, 'value-required': false };
  }
  if (name === 'decimal' || name === 'numeric') {
    lx.expect('(');
    const p = lx.int();
    lx.expect(',');
    const s = lx.int();
    lx.expect(')');
    return primitive(lx, `decimal(${p},${s})`, column);
  }
  if (name === 'fixed') {
    lx.expect('[');
    const l = lx.int();
    lx.expect(']');
    return primitive(lx, `fixed[${l}]`, column);
  }
  return primitive(lx, ALIASES[name] ?? name, column);
}

/**
 * Parses a primitive type name. The schema module's error (`schema: …`) is re-raised through the
 * lexer so the message names the caller's flag or key, the column and the position (the CLI then
 * reports bad usage instead of a failure).
 */
function primitive(lx: Lexer, text: string, column: string): IcebergType {
  try {
    return parsePrimitiveType(text);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    return lx.fail(`column '${column}': ${e.message.replace(/^schema: /, '')}`);
  }
}

function parseField(lx: Lexer, nextId: () => number, sep?: string): NestedField {
  const name = lx.word();
  if (sep) lx.eat(sep);
  const id = nextId();
  const type = parseTypeExpr(lx, nextId, name);
  let required = false;
  const save = lx.i;
  if (lx.peek() && /[nN]/.test(lx.peek()!)) {
    const w = lx.word().toLowerCase();
    if (w === 'not') {
      if (lx.word().toLowerCase() !== 'null') lx.fail("expected 'null' after 'not'");
      required = true;
    } else {
      lx.i = save;
    }
  }
  return { id, name, required, type };
}

/** Parses a schema given as JSON (Iceberg schema) or in the compact `name type, …` notation. */
export function parseSchemaArg(text: string, what = 'schema'): Schema {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (e) {
      throw new ValidationError(`${what}: invalid JSON: ${(e as Error).message}`);
    }
    // Prefixed with the caller's flag or key, like every other error of this notation.
    try {
      return parseSchema(json);
    } catch (e) {
      if (e instanceof ValidationError) throw new ValidationError(`${what}: ${e.message}`, { cause: e });
      throw e;
    }
  }
  let id = 0;
  const nextId = () => ++id;
  const lx = new Lexer(trimmed, what);
  const fields: NestedField[] = [];
  do {
    fields.push(parseField(lx, nextId));
  } while (lx.eat(','));
  if (!lx.atEnd()) lx.fail('unexpected text');
  const names = new Set<string>();
  for (const f of fields) {
    if (names.has(f.name)) throw new ValidationError(`${what}: duplicate column '${f.name}'`);
    names.add(f.name);
  }
  return { type: 'struct', 'schema-id': 0, fields };
}

const TRANSFORM_SUFFIX: Record<string, string> = {
  bucket: 'bucket',
  truncate: 'trunc',
  year: 'year',
  month: 'month',
  day: 'day',
  hour: 'hour',
  void: 'null',
};

/** Parses `day(ts), bucket(16, id), col` against a schema into a partition spec (spec id 0). */
export function parsePartitionArg(text: string, schema: Schema, what = 'partition-by'): PartitionSpec {
  const lx = new Lexer(text.trim(), what);
  const fields: PartitionField[] = [];
  if (lx.atEnd()) return { 'spec-id': 0, fields };
  let fieldId = 1000;
  const column = (name: string) => {
    const f = schema.fields.find((x) => x.name === name);
    if (!f) throw new ValidationError(`${what}: unknown column '${name}'`);
    return f;
  };
  do {
    const first = lx.word();
    let transform = 'identity';
    let source: string;
    if (lx.eat('(')) {
      const fn = first.toLowerCase();
      if (fn === 'bucket' || fn === 'truncate') {
        const n = lx.int();
        lx.expect(',');
        source = lx.word();
        transform = `${fn}[${n}]`;
      } else if (['year', 'month', 'day', 'hour', 'void', 'identity', 'years', 'months', 'days', 'hours'].includes(fn)) {
        source = lx.word();
        transform = fn.replace(/s$/, '');
      } else {
        lx.fail(`unknown transform '${first}'`);
      }
      lx.expect(')');
    } else {
      source = first;
    }
    const col = column(source!);
    const kind = transform.replace(/\[.*$/, '');
    const name = kind === 'identity' ? col.name : `${col.name}_${TRANSFORM_SUFFIX[kind] ?? kind}`;
    fields.push({ 'source-id': col.id, 'field-id': fieldId++, name, transform });
  } while (lx.eat(','));
  if (!lx.atEnd()) lx.fail('unexpected text');
  const spec: PartitionSpec = { 'spec-id': 0, fields };
  // Validate here (transform parameters, transform vs. column type, clashing or redundant fields)
  // so the error names the caller's flag or key: a bad --partition-by is bad usage, not a
  // catalog failure.
  try {
    validatePartitionSpec(spec, schema, { newSpec: true });
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(`${what}: ${e.message.replace(/^partition: /, '')}`, { cause: e });
    throw e;
  }
  return spec;
}
