/**
 * The `where` condition of a routed table (`tables:` in the config): a small SQL-like expression
 * on the record's JSON, parsed once at config load and evaluated per record.
 *
 *   event_type = 'purchase'
 *   event_type IN ('a', 'b') AND NOT (amount < 0 OR user.id IS NULL)
 *
 * Operands: a field (a name, a dotted path into nested objects, or a "quoted" name), a string
 * ('it''s'), a number, true, false. Operators: = != <> < <= > >=, [NOT] IN (…), IS [NOT] NULL,
 * AND, OR, NOT, parentheses. Keywords are case-insensitive.
 *
 * SQL's three-valued logic: a comparison with a missing or null field, or between a string and a
 * number, is unknown; NOT unknown is unknown; a record matches only when the whole condition is
 * true. Numbers compare as numbers (JSON numbers are doubles), strings by code points, booleans
 * only with = and !=. This is not the Iceberg expression model (`iceberg/expressions.ts`), which
 * binds to a table's typed columns: a routing condition reads the record before any table is
 * chosen, with JSON's types.
 */
import { ValidationError } from '../errors.js';

type Literal = string | number | boolean;

/** A parsed condition. */
export type RouteCondition =
  | { op: 'and' | 'or'; left: RouteCondition; right: RouteCondition }
  | { op: 'not'; arg: RouteCondition }
  | { op: 'cmp'; cmp: '=' | '!=' | '<' | '<=' | '>' | '>='; field: string[]; value: Literal }
  | { op: 'in'; field: string[]; values: Literal[]; negated: boolean }
  | { op: 'null'; field: string[]; negated: boolean };

type Token =
  | { t: 'ident'; v: string; quoted: boolean }
  | { t: 'str'; v: string }
  | { t: 'num'; v: number }
  | { t: 'sym'; v: string }
  | { t: 'end' };

/** Longest condition text accepted (a config value, not data). */
const MAX_TEXT = 4096;
/** Deepest nesting of parentheses and NOTs (the parser recurses on it). */
const MAX_DEPTH = 64;

function tokenize(text: string, where: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new ValidationError(`config: ${where}: ${why} at character ${i + 1}`);
  };
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            v += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        v += text[i++];
      }
      out.push({ t: 'str', v });
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) fail('unterminated quoted name');
      out.push({ t: 'ident', v: text.slice(i + 1, end), quoted: true });
      i = end + 1;
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9.]/.test(text[i + 1] ?? ''))) {
      const m = /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))!;
      out.push({ t: 'ident', v: m[0], quoted: false });
      i += m[0].length;
    } else {
      const two = text.slice(i, i + 2);
      if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
        out.push({ t: 'sym', v: two === '<>' ? '!=' : two });
        i += 2;
      } else if ('=<>(),.'.includes(c)) {
        out.push({ t: 'sym', v: c });
        i++;
      } else {
        fail(`unexpected '${c}'`);
      }
    }
  }
  out.push({ t: 'end' });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);

/**
 * Parses a `where` condition.
 * @param where the config key, for messages (`tables[1].where`)
 * @throws ValidationError naming the key and the position of the problem
 */
export function parseRouteCondition(text: string, where: string): RouteCondition {
  if (text.length > MAX_TEXT) throw new ValidationError(`config: ${where}: longer than ${MAX_TEXT} characters`);
  const tokens = tokenize(text, where);
  let k = 0;
  const peek = () => tokens[k]!;
  const fail = (why: string): never => {
    const tok = peek();
    const at = tok.t === 'end' ? 'the end' : `'${'v' in tok ? String(tok.v) : ''}'`;
    throw new ValidationError(`config: ${where}: ${why} (at ${at}) in: ${text}`);
  };
  const keyword = (word: string): boolean => {
    const tok = peek();
    if (tok.t === 'ident' && !tok.quoted && tok.v.toLowerCase() === word) {
      k++;
      return true;
    }
    return false;
  };
  const sym = (s: string): boolean => {
    const tok = peek();
    if (tok.t === 'sym' && tok.v === s) {
      k++;
      return true;
    }
    return false;
  };
  const literal = (): Literal => {
    const tok = peek();
    if (tok.t === 'str' || tok.t === 'num') {
      k++;
      return tok.v;
    }
    if (keyword('true')) return true;
    if (keyword('false')) return false;
    if (tok.t === 'ident' && !tok.quoted && tok.v.toLowerCase() === 'null') fail('compare with NULL using IS NULL / IS NOT NULL');
    return fail('expected a string, a number, true or false');
  };
  const field = (): string[] => {
    const path: string[] = [];
    do {
      const tok = peek();
      if (tok.t !== 'ident' || (!tok.quoted && KEYWORDS.has(tok.v.toLowerCase()))) fail('expected a field name');
      path.push((tok as { v: string }).v);
      k++;
    } while (sym('.'));
    return path;
  };
  const predicate = (depth: number): RouteCondition => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH}`);
    if (keyword('not')) return { op: 'not', arg: predicate(depth + 1) };
    if (sym('(')) {
      const inner = or(depth + 1);
      if (!sym(')')) fail("expected ')'");
      return inner;
    }
    const f = field();
    if (keyword('is')) {
      const negated = keyword('not');
      if (!keyword('null')) fail('expected NULL after IS');
      return { op: 'null', field: f, negated };
    }
    const negatedIn = keyword('not');
    if (keyword('in')) {
      if (!sym('(')) fail("expected '(' after IN");
      const values: Literal[] = [literal()];
      while (sym(',')) values.push(literal());
      if (!sym(')')) fail("expected ')' to close the IN list");
      return { op: 'in', field: f, values, negated: negatedIn };
    }
    if (negatedIn) fail('expected IN after NOT');
    const tok = peek();
    if (tok.t !== 'sym' || !['=', '!=', '<', '<=', '>', '>='].includes(tok.v)) return fail('expected a comparison (=, !=, <, <=, >, >=, IN, IS NULL)');
    k++;
    return { op: 'cmp', cmp: tok.v as '=', field: f, value: literal() };
  };
  const and = (depth: number): RouteCondition => {
    let left = predicate(depth);
    while (keyword('and')) left = { op: 'and', left, right: predicate(depth) };
    return left;
  };
  const or = (depth: number): RouteCondition => {
    let left = and(depth);
    while (keyword('or')) left = { op: 'or', left, right: and(depth) };
    return left;
  };
  if (peek().t === 'end') fail('empty condition');
  const tree = or(0);
  if (peek().t !== 'end') fail('unexpected text after the condition');
  return tree;
}

/** The value at `path` in a parsed JSON record: undefined when absent (or not an object on the way). */
export function fieldValue(record: unknown, path: readonly string[]): unknown {
  let v = record;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** -1, 0, 1, or undefined when the two cannot be compared (SQL's unknown). */
function compare(a: unknown, b: Literal): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : undefined;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : 1;
  return undefined;
}

/** Three-valued evaluation: true, false or undefined (unknown). */
function evaluate(c: RouteCondition, record: unknown): boolean | undefined {
  switch (c.op) {
    case 'and': {
      const l = evaluate(c.left, record);
      if (l === false) return false;
      const r = evaluate(c.right, record);
      if (r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = evaluate(c.left, record);
      if (l === true) return true;
      const r = evaluate(c.right, record);
      if (r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'not': {
      const v = evaluate(c.arg, record);
      return v === undefined ? undefined : !v;
    }
    case 'null': {
      const v = fieldValue(record, c.field);
      return (v === undefined || v === null) !== c.negated;
    }
    case 'in': {
      const v = fieldValue(record, c.field);
      let unknown = false;
      for (const x of c.values) {
        const r = compare(v, x);
        if (r === 0) return !c.negated;
        if (r === undefined) unknown = true;
      }
      return unknown ? undefined : c.negated;
    }
    case 'cmp': {
      const r = compare(fieldValue(record, c.field), c.value);
      if (r === undefined) return undefined;
      if (typeof c.value === 'boolean' && c.cmp !== '=' && c.cmp !== '!=') return undefined;
      switch (c.cmp) {
        case '=':
          return r === 0;
        case '!=':
          return r !== 0;
        case '<':
          return r < 0;
        case '<=':
          return r <= 0;
        case '>':
          return r > 0;
        case '>=':
          return r >= 0;
      }
    }
  }
}

/** True when the record (parsed JSON) satisfies the condition (unknown is no match). */
export function matchesRoute(c: RouteCondition, record: unknown): boolean {
  return evaluate(c, record) === true;
}
