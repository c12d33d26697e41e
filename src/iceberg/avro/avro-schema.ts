/**
 * Avro schemas as JSON, and their compiled form for reading files written by other engines.
 *
 * Reading never trusts names: Iceberg resolves manifest fields by `field-id`, and writers differ
 * in names (old Java names 504–506 `added_data_files_count`; partition fields carry user names,
 * sanitized differently by each library). {@link compileSchema} therefore turns the file's writer
 * schema into
 *  - a node tree that keeps every field's original name, `field-id` and logical type, and
 *  - an equivalent schema for avsc in which every name is synthetic (`n0`, `f0`, …), so avsc's
 *    ASCII-only name validation can never reject a file another engine considered valid.
 * Decoding with the writer's own schema is exact: field names play no part in Avro's binary form.
 */
import avsc from 'avsc';
import { ValidationError } from '../../errors.js';

/** An Avro schema in its JSON form (a type name, a union array, or a complex type object). */
export type AvroSchema = string | AvroSchema[] | AvroComplexSchema;

/** A complex Avro type (or a primitive in object form with attributes such as `logicalType`). */
export interface AvroComplexSchema {
  type: AvroSchema;
  name?: string;
  namespace?: string;
  doc?: string;
  fields?: AvroFieldSchema[];
  items?: AvroSchema;
  values?: AvroSchema;
  size?: number;
  symbols?: string[];
  logicalType?: string;
  precision?: number;
  scale?: number;
  [attribute: string]: unknown;
}

/** A record field in JSON form; Iceberg adds `field-id`. */
export interface AvroFieldSchema {
  name: string;
  type: AvroSchema;
  doc?: string;
  default?: unknown;
  'field-id'?: number;
  [attribute: string]: unknown;
}

/** Avro primitive type names. */
export type AvroPrimitiveName = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

/** A compiled Avro type. Decoded values follow avsc's representation (longs are bigint). */
export type AvroNode = AvroPrimitiveNode | AvroFixedNode | AvroEnumNode | AvroArrayNode | AvroMapNode | AvroUnionNode | AvroRecordNode;

/** A primitive, possibly annotated with a logical type (date, decimal, uuid, timestamp-micros…). */
export interface AvroPrimitiveNode {
  kind: 'primitive';
  type: AvroPrimitiveName;
  logicalType?: string;
  precision?: number;
  scale?: number;
}

/** A fixed-size byte string. */
export interface AvroFixedNode {
  kind: 'fixed';
  name: string;
  size: number;
  logicalType?: string;
  precision?: number;
  scale?: number;
}

/** An enum; decoded values are the original symbols. */
export interface AvroEnumNode {
  kind: 'enum';
  name: string;
  symbols: string[];
}

/** An array; `elementId` is Iceberg's `element-id`. */
export interface AvroArrayNode {
  kind: 'array';
  items: AvroNode;
  elementId?: number;
  logicalType?: string;
}

/** A string-keyed Avro map. */
export interface AvroMapNode {
  kind: 'map';
  values: AvroNode;
}

/** A union; Iceberg only uses `[null, T]`. */
export interface AvroUnionNode {
  kind: 'union';
  branches: AvroNode[];
}

/** A record field: its original name, the key avsc uses in decoded values, and its field id. */
export interface AvroRecordField {
  name: string;
  /** Property name of this field in values decoded by the compiled avsc type. */
  key: string;
  fieldId?: number;
  node: AvroNode;
}

/** A record, with its fields also indexed by field id. */
export interface AvroRecordNode {
  kind: 'record';
  name: string;
  fields: AvroRecordField[];
  byId: Map<number, AvroRecordField>;
}

/** A compiled writer schema: the node tree and the avsc type that decodes its datums. */
export interface CompiledSchema {
  node: AvroNode;
  type: avsc.Type;
}

const PRIMITIVES: ReadonlySet<string> = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * avsc's `long` is a JS number, which silently loses precision beyond 2^53 (snapshot ids are
 * random 63-bit values). This type reads and writes Avro longs as `bigint` instead.
 */
const BIGINT_LONG: avsc.types.LongType = avsc.types.LongType.__with({
  fromBuffer: (buf: Buffer): bigint => buf.readBigInt64LE(0),
  toBuffer: (n: bigint): Buffer => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n, 0);
    return buf;
  },
  fromJSON: (v: unknown): bigint => BigInt(v as string | number | bigint),
  toJSON: (n: bigint): string => n.toString(),
  isValid: (n: unknown): boolean => typeof n === 'bigint' && n >= INT64_MIN && n <= INT64_MAX,
  compare: (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0),
});

/**
 * Builds an avsc type whose `long` values are `bigint`. The schema must use valid Avro names
 * (floe's own schemas do; foreign schemas go through {@link compileSchema}).
 */
export function avscType(schema: unknown): avsc.Type {
  // avsc adds every named type to the registry it is given: use a fresh one per schema.
  return avsc.Type.forSchema(barePrimitives(schema) as avsc.Schema, {
    registry: { long: BIGINT_LONG },
    wrapUnions: 'auto',
  });
}

/**
 * Replaces primitives in object form (`{"type": "long", "logicalType": "timestamp-micros"}`) by
 * their bare names: avsc builds its own number-based long for the object form, bypassing the
 * registry's bigint long. Logical types are Iceberg's business, not avsc's.
 */
function barePrimitives(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(barePrimitives);
  if (s === null || typeof s !== 'object') return s;
  const o = s as AvroComplexSchema;
  if (typeof o.type === 'string' && PRIMITIVES.has(o.type)) return o.type;
  const out: Record<string, unknown> = { ...o };
  if (typeof o.type === 'object') out.type = barePrimitives(o.type);
  if (o.items !== undefined) out.items = barePrimitives(o.items);
  if (o.values !== undefined) out.values = barePrimitives(o.values);
  if (Array.isArray(o.fields)) out.fields = o.fields.map((f) => ({ ...f, type: barePrimitives(f.type) }));
  return out;
}

/**
 * Compiles a writer schema (JSON text or value) for reading.
 * @param what names the file in error messages
 */
export function compileSchema(schema: unknown, what: string): CompiledSchema {
  const fail = (msg: string): never => {
    throw new ValidationError(`avro: ${what}: invalid schema: ${msg}`);
  };
  const named = new Map<string, { node: AvroNode; ref: string }>();
  let counter = 0;

  const fullName = (name: string, namespace: string | undefined): string =>
    name.includes('.') || !namespace ? name : `${namespace}.${name}`;

  const lookup = (name: string, namespace: string | undefined): { node: AvroNode; ref: string } => {
    const hit = named.get(fullName(name, namespace)) ?? named.get(name);
    if (hit) return hit;
    // Writers that omit namespaces on references: fall back to the simple name.
    const simple = name.slice(name.lastIndexOf('.') + 1);
    for (const [full, v] of named) if (full.slice(full.lastIndexOf('.') + 1) === simple) return v;
    return fail(`unknown type '${name}'`);
  };

  const optNumber = (v: unknown): number | undefined => {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
    return undefined;
  };

  const walk = (s: unknown, namespace: string | undefined): [AvroNode, unknown] => {
    if (typeof s === 'string') {
      if (PRIMITIVES.has(s)) return [{ kind: 'primitive', type: s as AvroPrimitiveName }, s];
      const hit = lookup(s, namespace);
      return [hit.node, hit.ref];
    }
    if (Array.isArray(s)) {
      const branches: AvroNode[] = [];
      const out: unknown[] = [];
      for (const b of s) {
        const [n, j] = walk(b, namespace);
        branches.push(n);
        out.push(j);
      }
      return [{ kind: 'union', branches }, out];
    }
    if (s === null || typeof s !== 'object') return fail(`unexpected ${JSON.stringify(s)}`);
    const o = s as AvroComplexSchema;
    const t = o.type;
    const logicalType = typeof o.logicalType === 'string' ? o.logicalType : undefined;
    const precision = optNumber(o.precision);
    const scale = optNumber(o.scale);
    const annotations = {
      ...(logicalType !== undefined ? { logicalType } : {}),
      ...(precision !== undefined ? { precision } : {}),
      ...(scale !== undefined ? { scale } : {}),
    };
    if (typeof t !== 'string') {
      // `{"type": {...}}` or `{"type": [...]}`: the object only wraps another schema.
      return walk(t, namespace);
    }
    if (PRIMITIVES.has(t)) {
      return [{ kind: 'primitive', type: t as AvroPrimitiveName, ...annotations }, t];
    }
    const declare = (node: AvroNode): string => {
      if (typeof o.name !== 'string') return fail(`${t} without a name`);
      const ns = typeof o.namespace === 'string' ? o.namespace : namespace;
      const ref = `n${counter++}`;
      named.set(fullName(o.name, ns), { node, ref });
      return ref;
    };
    switch (t) {
      case 'fixed': {
        const size = optNumber(o.size);
        if (size === undefined || size < 0) return fail(`fixed '${String(o.name)}' has no valid size`);
        const node: AvroFixedNode = { kind: 'fixed', name: String(o.name), size, ...annotations };
        const ref = declare(node);
        return [node, { type: 'fixed', name: ref, size }];
      }
      case 'enum': {
        if (!Array.isArray(o.symbols)) return fail(`enum '${String(o.name)}' has no symbols`);
        const node: AvroEnumNode = { kind: 'enum', name: String(o.name), symbols: o.symbols.map(String) };
        const ref = declare(node);
        return [node, { type: 'enum', name: ref, symbols: node.symbols.map((_, i) => `s${i}`) }];
      }
      case 'array': {
        const [items, j] = walk(o.items, namespace);
        const elementId = optNumber(o['element-id']);
        const node: AvroArrayNode = {
          kind: 'array',
          items,
          ...(elementId !== undefined ? { elementId } : {}),
          ...(logicalType !== undefined ? { logicalType } : {}),
        };
        return [node, { type: 'array', items: j }];
      }
      case 'map': {
        const [values, j] = walk(o.values, namespace);
        return [{ kind: 'map', values }, { type: 'map', values: j }];
      }
      case 'record':
      case 'error': {
        if (!Array.isArray(o.fields)) return fail(`record '${String(o.name)}' has no fields`);
        const node: AvroRecordNode = { kind: 'record', name: String(o.name), fields: [], byId: new Map() };
        const ref = declare(node);
        const ns = typeof o.namespace === 'string' ? o.namespace : o.name?.includes('.') ? o.name.slice(0, o.name.lastIndexOf('.')) : namespace;
        const fields: unknown[] = [];
        o.fields.forEach((f, i) => {
          if (f === null || typeof f !== 'object' || typeof f.name !== 'string') {
            fail(`record '${String(o.name)}' field ${i} has no name`);
          }
          const [fnode, fj] = walk(f.type, ns);
          const key = `f${i}`;
          const fieldId = optNumber(f['field-id']);
          const field: AvroRecordField = { name: f.name, key, node: fnode, ...(fieldId !== undefined ? { fieldId } : {}) };
          node.fields.push(field);
          if (fieldId !== undefined && !node.byId.has(fieldId)) node.byId.set(fieldId, field);
          fields.push({ name: key, type: fj });
        });
        return [node, { type: 'record', name: ref, fields }];
      }
      default: {
        // A reference in object form, e.g. {"type": "r102"}.
        const hit = lookup(t, namespace);
        return [hit.node, hit.ref];
      }
    }
  };

  const [node, json] = walk(schema, undefined);
  let type: avsc.Type;
  try {
    type = avscType(json);
  } catch (e) {
    return fail((e as Error).message);
  }
  return { node, type };
}

/** Returns the non-null branch of a `[null, T]` union (or the node itself when it is not a union). */
export function nonNullBranch(node: AvroNode): AvroNode | undefined {
  if (node.kind !== 'union') return node;
  const rest = node.branches.filter((b) => !(b.kind === 'primitive' && b.type === 'null'));
  return rest.length === 1 ? rest[0] : undefined;
}
