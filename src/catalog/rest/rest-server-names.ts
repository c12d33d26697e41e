/**
 * Names floe's REST catalog server accepts for namespaces (each level) and tables. Catalogs turn
 * names into paths (`<warehouse>/<namespace>/<table>`), so a name must be one plain path segment:
 * not empty, not `.` or `..`, no `/` or `\`, no control characters. Anything else is answered 400
 * before the catalog sees it, on every route (so a table whose name could not be created over
 * REST is not reachable over REST either).
 */
import { ValidationError } from '../../errors.js';
import type { Namespace, TableIdentifier } from '../catalog.js';

// C0 and C1 controls and DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Why `name` is not a plain path segment, or undefined when it is. */
function problem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (name.includes('/') || name.includes('\\')) return "may not contain '/' or '\\'";
  if (CONTROL.test(name)) return 'may not contain control characters';
  return undefined;
}

/**
 * Checks every level of a namespace.
 * @throws ValidationError `catalog: rest: invalid namespace …`
 */
export function checkNamespaceName(namespace: Namespace): void {
  if (namespace.length === 0) throw new ValidationError('catalog: rest: invalid namespace: it has no levels');
  for (const level of namespace) {
    const why = problem(level);
    if (why !== undefined) throw new ValidationError(`catalog: rest: invalid namespace ${JSON.stringify(namespace)}: a level ${why}`);
  }
}

/**
 * Checks a table name and its namespace.
 * @throws ValidationError `catalog: rest: invalid table name …`
 */
export function checkTableIdentifier(id: TableIdentifier): void {
  checkNamespaceName(id.namespace);
  const why = problem(id.name);
  if (why !== undefined) throw new ValidationError(`catalog: rest: invalid table name ${JSON.stringify(id.name)}: it ${why}`);
}
