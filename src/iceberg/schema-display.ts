/**
 * Readable text of types and schemas (log lines, `floe table describe`).
 */
import { quote } from './schema-errors.js';
import { isList, isMap, isPrimitive, isStruct } from './schema-types.js';
import type { IcebergType, NestedField, StructType } from './types.js';

/** One-line form of a type: `list<string>`, `map<string, long>`, `struct<1: a: required int>`. */
export function typeToString(t: IcebergType): string {
  if (typeof t === 'string') return t;
  if (t.type === 'struct') {
    return `struct<${t.fields.map((f) => `${f.id}: ${f.name}: ${f.required ? 'required' : 'optional'} ${typeToString(f.type)}`).join(', ')}>`;
  }
  if (t.type === 'list') return `list<${typeToString(t.element)}>`;
  return `map<${typeToString(t.key)}, ${typeToString(t.value)}>`;
}

/**
 * A readable, indented rendering of a schema (for `floe table describe`):
 * ```
 * table {
 *   1: id: required long
 *   2: location: optional struct {
 *     3: lat: required double
 *   }
 * }
 * ```
 */
export function schemaToString(schema: StructType): string {
  const lines: string[] = ['table {'];
  const describe = (t: IcebergType, indent: string, head: string): void => {
    if (isStruct(t)) {
      lines.push(`${head}struct {`);
      for (const f of t.fields) field(f, `${indent}  `);
      lines.push(`${indent}}`);
    } else if (isList(t) && !isPrimitive(t.element)) {
      lines.push(`${head}list<${t['element-id']}: element: ${t['element-required'] ? 'required' : 'optional'}>`);
      describe(t.element, `${indent}  `, `${indent}  element: `);
    } else if (isMap(t) && !isPrimitive(t.value)) {
      lines.push(`${head}map<${typeToString(t.key)}, ${t['value-id']}: value: ${t['value-required'] ? 'required' : 'optional'}>`);
      describe(t.value, `${indent}  `, `${indent}  value: `);
    } else {
      lines.push(`${head}${typeToString(t)}`);
    }
  };
  const field = (f: NestedField, indent: string): void => {
    const before = lines.length;
    describe(f.type, indent, `${indent}${f.id}: ${f.name}: ${f.required ? 'required' : 'optional'} `);
    const extras: string[] = [];
    if (f.doc) extras.push(`(${f.doc})`);
    if (f['initial-default'] !== undefined) extras.push(`default=${quote(f['initial-default'])}`);
    if (extras.length > 0) lines[before] = `${lines[before] as string} ${extras.join(' ')}`;
  };
  for (const f of schema.fields) field(f, '  ');
  lines.push('}');
  return lines.join('\n');
}
