/**
 * Parses the row filter of `floe maintain compact --where` into an Iceberg expression, with
 * literals typed by the table schema:
 *
 *   event_time >= '2026-01-08' AND event_time < '2026-01-09'
 *   event_type IN ('click', 'view') OR NOT (user_id IS NULL)
 *
 * Predicates: `col = | == | != | <> | < | <= | > | >= literal`, `col [NOT] IN (literal, …)`,
 * `col IS [NOT] NULL`, `col IS [NOT] NAN`; combined with AND, OR, NOT and parentheses. Literals:
 * 'single-quoted strings' (`''` escapes a quote), numbers, true/false. Timestamps and dates are
 * written as strings (ISO-8601; a timestamp without zone is UTC). Column names may be dotted
 * (struct fields) or "double-quoted"; they are matched case-insensitively.
 */
import { ValidationError } from '../errors.js';
import { fromJsonValue } from '../iceberg/conversions.js';
import {
  and,
  equal,
  greaterThan,
  greaterThanOrEqual,
  isIn,
  isNaN as isNaNExpr,
  isNull,
  lessThan,
  lessThanOrEqual,
  not,
  notEqual,
  notIn,
  notNaN,
  notNull,
  or,
  type Expression,
} from '../iceberg/expressions.js';
import { findFieldByName } from '../iceberg/schema-index.js';
import { primitiveKind } from '../iceberg/schema-types.js';
import type { IcebergValue, PrimitiveType, Schema } from '../iceberg/types.js';
import { parseTimestampMicros } from '../iceberg/timestamp-text.js';

type Token =
  | { kind: 'word'; text: string; quoted: boolean }
  | { kind: 'string'; text: string }
  | { kind: 'number'; text: string }
  | { kind: 'op'; text: string }
  | { kind: 'punct'; text: string };

function tokenize(text: string, what: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new ValidationError(`${what}: ${msg} at position ${i + 1} of '${text}'`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += text[i++];
      }
      out.push({ kind: 'string', text: s });
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) fail('unterminated quoted name');
      out.push({ kind: 'word', text: text.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else if (/[-+\d.]/.test(c) && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.test(text.slice(i))) {
      const m = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(text.slice(i))!;
      out.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)*/.exec(text.slice(i))!;
      out.push({ kind: 'word', text: m[0], quoted: false });
      i += m[0].length;
    } else if (/[<>=!]/.test(c)) {
      const m = /^(<=|>=|<>|!=|==|=|<|>)/.exec(text.slice(i));
      if (!m) fail(`unexpected '${c}'`);
      out.push({ kind: 'op', text: m![0] });
      i += m![0].length;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ kind: 'punct', text: c });
      i++;
    } else {
      fail(`unexpected '${c}'`);
    }
  }
  return out;
}

/** Converts a literal token to a value of the column's type. */
function literal(tok: Token, type: PrimitiveType, column: string, what: string): IcebergValue {
  const kind = primitiveKind(type);
  const fail = (): never => {
    throw new ValidationError(`${what}: ${tok.kind === 'string' ? `'${tok.text}'` : tok.text} is not a ${type} value (column ${column})`);
  };
  try {
    if (tok.kind === 'word' && !tok.quoted && /^(true|false)$/i.test(tok.text)) {
      if (kind !== 'boolean') fail();
      return tok.text.toLowerCase() === 'true';
    }
    if (tok.kind === 'number') {
      switch (kind) {
        case 'int':
        case 'long':
          if (!/^[-+]?\d+$/.test(tok.text)) fail();
          return fromJsonValue(type, kind === 'long' ? tok.text.replace(/^\+/, '') : Number(tok.text));
        case 'float':
        case 'double':
          return Number(tok.text);
        case 'decimal':
          return fromJsonValue(type, tok.text.replace(/^\+/, ''));
        default:
          return fail();
      }
    }
    if (tok.kind === 'string') {
      switch (kind) {
        case 'timestamp':
        case 'timestamptz': {
          const us = parseTimestampMicros(tok.text);
          return us !== undefined ? us : fromJsonValue(type, tok.text);
        }
        case 'string':
        case 'uuid':
        case 'date':
        case 'time':
        case 'timestamp_ns':
        case 'timestamptz_ns':
        case 'decimal':
          return fromJsonValue(type, tok.text);
        case 'int':
        case 'long':
        case 'float':
        case 'double':
          if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(tok.text.trim())) fail();
          return literal({ kind: 'number', text: tok.text.trim() }, type, column, what);
        default:
          return fail();
      }
    }
  } catch (e) {
    if (e instanceof ValidationError && e.message.startsWith(what)) throw e;
    fail();
  }
  return fail();
}

/**
 * Parses a filter against `schema`.
 * @param what prefixes error messages (e.g. `cli: --where`)
 * @throws ValidationError naming the position, column or literal at fault
 */
export function parseWhere(text: string, schema: Schema, what = 'where'): Expression {
  const tokens = tokenize(text, what);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isWord = (t: Token | undefined, w: string): boolean => t?.kind === 'word' && !t.quoted && t.text.toUpperCase() === w;
  const fail = (msg: string): never => {
    throw new ValidationError(`${what}: ${msg} in '${text}'`);
  };
  const expectPunct = (p: string): void => {
    const t = tokens[pos];
    if (t?.kind !== 'punct' || t.text !== p) fail(`expected '${p}'`);
    pos++;
  };

  const predicate = (): Expression => {
    const colTok = tokens[pos++];
    if (colTok?.kind !== 'word') return fail(`expected a column name${colTok ? `, got '${colTok.text}'` : ''}`);
    const field = findFieldByName(schema, colTok.text, { caseInsensitive: true });
    if (!field) return fail(`unknown column '${colTok.text}'`);
    if (typeof field.type !== 'string') return fail(`column '${colTok.text}' is not a primitive`);
    const type = field.type as PrimitiveType;
    const col = colTok.text;
    if (isWord(peek(), 'IS')) {
      pos++;
      const negated = isWord(peek(), 'NOT');
      if (negated) pos++;
      if (isWord(peek(), 'NULL')) {
        pos++;
        return negated ? notNull(field.id) : isNull(field.id);
      }
      if (isWord(peek(), 'NAN')) {
        pos++;
        return negated ? notNaN(field.id) : isNaNExpr(field.id);
      }
      return fail(`expected NULL or NAN after IS${negated ? ' NOT' : ''}`);
    }
    let notIn_ = false;
    if (isWord(peek(), 'NOT')) {
      pos++;
      notIn_ = true;
      if (!isWord(peek(), 'IN')) fail(`expected IN after ${col} NOT`);
    }
    if (isWord(peek(), 'IN')) {
      pos++;
      expectPunct('(');
      const values: IcebergValue[] = [];
      for (;;) {
        const t = tokens[pos++];
        if (!t) fail('unterminated IN list');
        values.push(literal(t!, type, col, what));
        const sep = tokens[pos++];
        if (sep?.kind === 'punct' && sep.text === ')') break;
        if (sep?.kind !== 'punct' || sep.text !== ',') fail(`expected ',' or ')' in the IN list`);
      }
      return notIn_ ? notIn(field.id, values) : isIn(field.id, values);
    }
    const opTok = tokens[pos++];
    if (opTok?.kind !== 'op') return fail(`expected a comparison after ${col}`);
    const litTok = tokens[pos++];
    if (!litTok) return fail(`expected a value after ${col} ${opTok.text}`);
    const v = literal(litTok, type, col, what);
    switch (opTok.text) {
      case '=':
      case '==':
        return equal(field.id, v);
      case '!=':
      case '<>':
        return notEqual(field.id, v);
      case '<':
        return lessThan(field.id, v);
      case '<=':
        return lessThanOrEqual(field.id, v);
      case '>':
        return greaterThan(field.id, v);
      default:
        return greaterThanOrEqual(field.id, v);
    }
  };
  const factor = (): Expression => {
    if (isWord(peek(), 'NOT')) {
      pos++;
      return not(factor());
    }
    const t = peek();
    if (t?.kind === 'punct' && t.text === '(') {
      pos++;
      const e = disjunction();
      expectPunct(')');
      return e;
    }
    return predicate();
  };
  const conjunction = (): Expression => {
    const parts = [factor()];
    while (isWord(peek(), 'AND')) {
      pos++;
      parts.push(factor());
    }
    return and(...parts);
  };
  const disjunction = (): Expression => {
    const parts = [conjunction()];
    while (isWord(peek(), 'OR')) {
      pos++;
      parts.push(conjunction());
    }
    return or(...parts);
  };
  if (tokens.length === 0) fail('empty filter');
  const expr = disjunction();
  if (pos < tokens.length) fail(`unexpected '${tokens[pos]!.text}'`);
  return expr;
}
