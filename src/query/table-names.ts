/**
 * Table names in the SQL of `floe query`: namespaces that are SQL keywords, and floe's own message
 * for a table DuckDB does not know.
 *
 * PyIceberg's usual namespace is `default`, a reserved word: DuckDB refuses `FROM default.events`
 * with a syntax error. Such a namespace, written unquoted in front of a `.`, is quoted before the
 * statement runs (`"default".events`), which changes nothing else: a keyword is never followed by a
 * `.` in valid SQL.
 *
 * A table DuckDB does not know gets a message naming the catalog and the tables it has, instead
 * of DuckDB's suggestions from its own system tables (`Did you mean "pg_constraint"`).
 */

/**
 * Quotes every unquoted occurrence of a namespace of `namespaces` (lower case) that is directly
 * followed by `.` and not preceded by one, outside string literals, quoted identifiers and
 * comments.
 */
export function quoteKeywordNamespaces(sql: string, namespaces: ReadonlySet<string>): string {
  if (namespaces.size === 0) return sql;
  let out = '';
  let lastCode = ''; // the last non-blank character copied outside literals and comments
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i] as string;
    let end = i + 1;
    if (c === "'" || c === '"') {
      end = closingQuote(sql, i, c);
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      end = nl < 0 ? n : nl;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close < 0 ? n : close + 2;
    } else if (c === '$') {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))?.[0];
      if (tag !== undefined) {
        const close = sql.indexOf(tag, i + tag.length);
        end = close < 0 ? n : close + tag.length;
      }
    } else if (/[A-Za-z_]/.test(c)) {
      while (end < n && /[A-Za-z0-9_$]/.test(sql[end] as string)) end++;
      const word = sql.slice(i, end);
      let j = end;
      while (j < n && /\s/.test(sql[j] as string)) j++;
      const quote = namespaces.has(word.toLowerCase()) && lastCode !== '.' && sql[j] === '.';
      out += quote ? `"${word}"` : word;
      lastCode = word[word.length - 1] as string;
      i = end;
      continue;
    }
    const piece = sql.slice(i, end);
    out += piece;
    if (c === "'" || c === '"') lastCode = c;
    else if (!/^\s+$/.test(piece) && !piece.startsWith('--') && !piece.startsWith('/*')) lastCode = piece[piece.length - 1] as string;
    i = end;
  }
  return out;
}

/** The index after the quote closing the one at `start` (doubled quotes are escapes). */
function closingQuote(sql: string, start: number, q: string): number {
  let i = start + 1;
  for (;;) {
    const k = sql.indexOf(q, i);
    if (k < 0) return sql.length;
    if (sql[k + 1] === q) {
      i = k + 2;
      continue;
    }
    return k + 1;
  }
}

/**
 * The table name of DuckDB's "does not exist" error (`Table with name t does not exist!`,
 * `Table with name "db.t" does not exist because schema "db" does not exist.`), or undefined for
 * any other error.
 */
export function missingTableName(duckdbMessage: string): string | undefined {
  const m = /Table with name (?:"([^"]+)"|(\S+?)) does not exist/.exec(duckdbMessage);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * How the statement wrote a table DuckDB reported by its bare name: `db.nope` when the SQL says
 * so (DuckDB drops the schema when the schema exists), else the name itself.
 */
export function writtenTableName(sql: string, name: string): string {
  if (name.includes('.')) return name;
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`(?:"([^"]+)"|([A-Za-z_][\\w$]*))\\s*\\.\\s*(?:"${esc}"|${esc})(?![\\w$"])`, 'i').exec(sql);
  const ns = m?.[1] ?? m?.[2];
  return ns !== undefined ? `${ns}.${name}` : name;
}

/** The namespace named in DuckDB's `syntax error at or near "default"`, when it is one of `namespaces`. */
export function keywordNamespaceInSyntaxError(duckdbMessage: string, namespaces: readonly string[]): string | undefined {
  const m = /syntax error at or near "([^"]+)"/.exec(duckdbMessage);
  if (!m || m[1] === undefined) return undefined;
  const word = m[1].toLowerCase();
  return namespaces.find((ns) => ns.toLowerCase() === word);
}

/** What {@link unknownTableMessage} knows about the tables there are. */
export interface KnownTables {
  /** The catalog, for the message (`floe (/wh/catalog.db)`); undefined when none is open. */
  catalog?: string;
  /** Its tables as `namespace.table` (undefined when no catalog is open). */
  catalogTables?: readonly string[];
  /** Tables given by location (`--table NAME=LOCATION`). */
  locationTables: readonly string[];
}

const LISTED = 30;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, LISTED).join(', ');
  return names.length > LISTED ? `${shown} and ${names.length - LISTED} more` : shown;
}

/** floe's message for a table the statement names and no catalog or `--table` provides. */
export function unknownTableMessage(name: string, known: KnownTables): string {
  const bare = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const tables = known.catalogTables ?? [];
  if (!name.includes('.')) {
    const candidates = tables.filter((t) => t.slice(t.lastIndexOf('.') + 1).toLowerCase() === bare);
    if (candidates.length > 0) {
      return `query: table ${name} needs its namespace: ${candidates.join(' or ')} (catalog tables are named namespace.table)`;
    }
  }
  const parts = [`query: no table ${name}`];
  if (known.catalog !== undefined) {
    parts[0] += ` in catalog ${known.catalog}`;
    parts.push(tables.length > 0 ? `its tables: ${listNames(tables)}` : 'it has no tables');
  } else {
    parts.push('no catalog is open (--catalog, --warehouse)');
  }
  if (known.locationTables.length > 0) parts.push(`tables given with --table: ${listNames(known.locationTables)}`);
  return `${parts.join('; ')}. Name a catalog table namespace.table, or add a table by location with --table NAME=LOCATION`;
}
