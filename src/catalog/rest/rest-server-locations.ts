/**
 * Where floe's REST catalog server lets clients point it: every location a client names (a table
 * location, a namespace `location`, the `write.*.path` properties, a snapshot's manifest list and
 * manifests, statistics files, the metadata file of `register`) must lie strictly inside the
 * warehouse, unless the server was started to allow external locations; and a purge deletes only
 * files inside the dropped table's own directories.
 *
 * Without this, a client could have the server read any file it can open (`register` with
 * `/etc/passwd`) or delete any file it can delete (a snapshot whose manifest list names it, then a
 * drop with `purgeRequested=true`).
 *
 * The check is lexical, with no filesystem access (so it reveals nothing about what exists and
 * never follows symlinks): locations are split into a store (`file`, `s3://bucket`,
 * `<scheme>://<authority>`) and path segments; `s3a://` and `s3n://` are the same store as
 * `s3://`, `file:///p`, `file:/p` and `/p` the same local path. A location with a `.` or `..`
 * segment, a control character, or a relative local path is refused outright: no honest writer
 * produces one, and object stores do not normalize them the way filesystems do.
 */
import { ValidationError } from '../../errors.js';
import type { TableUpdate } from '../../iceberg/commit.js';
import type { TableMetadata } from '../../iceberg/metadata.js';
import { fileUriToPath, locationScheme } from '../../io/location.js';

/** Table properties naming directories the table writes to (Java's `TableProperties`). */
export const PATH_PROPERTIES: readonly string[] = Object.freeze([
  'write.metadata.path',
  'write.data.path',
  'write.object-storage.path',
  'write.folder-storage.path',
]);

/** A location split for comparison (see the file comment). */
interface SplitLocation {
  store: string;
  segments: string[];
}

const URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/]*)(.*)$/;
// C0 and C1 controls and DEL: never part of a location anyone means.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Splits a location, or explains why it cannot be trusted. */
function split(location: string): SplitLocation | string {
  if (location.length === 0) return 'it is empty';
  if (CONTROL.test(location)) return 'it contains a control character';
  // On the text as given: fileUriToPath would normalize `..` away.
  if (location.split('/').some((s) => s === '.' || s === '..')) return "it has a '.' or '..' segment";
  let store: string;
  let path: string;
  const scheme = locationScheme(location);
  if (scheme === 'file') {
    if (!/^file:/i.test(location) && !location.startsWith('/')) return 'it is a relative path';
    try {
      path = fileUriToPath(location);
    } catch (e) {
      return (e as Error).message.replace(/^io: /, '');
    }
    store = 'file';
  } else {
    const m = URI.exec(location);
    if (!m) return `it is not a <scheme>://<authority>/<path> URI`;
    const normalized = scheme === 's3a' || scheme === 's3n' ? 's3' : scheme;
    store = `${normalized}://${m[2]}`;
    path = m[3] ?? '';
  }
  return { store, segments: path.split('/').filter((s) => s.length > 0) };
}

/** True when `location` lies strictly below `root` (both as written, see the file comment). */
export function locationInside(root: string, location: string): boolean {
  const r = split(root);
  const l = split(location);
  if (typeof r === 'string' || typeof l === 'string') return false;
  if (r.store !== l.store || l.segments.length <= r.segments.length) return false;
  return r.segments.every((s, i) => l.segments[i] === s);
}

/** Options of {@link LocationPolicy}. */
export interface LocationPolicyOptions {
  /** The warehouse root; undefined when the server knows none. */
  warehouse: string | undefined;
  /** Accept locations outside the warehouse (`floe catalog serve --allow-external-locations`). */
  allowExternal: boolean;
}

/** Applies the rules of the file comment; every refusal is a ValidationError (HTTP 400). */
export class LocationPolicy {
  readonly warehouse: string | undefined;
  readonly allowExternal: boolean;

  constructor(options: LocationPolicyOptions) {
    const w = options.warehouse;
    // The server's own setting, trusted: a local one is normalized (`..` resolved) once here.
    this.warehouse = w !== undefined && locationScheme(w) === 'file' && (w.startsWith('/') || /^file:/i.test(w)) ? fileUriToPath(w) : w;
    this.allowExternal = options.allowExternal;
  }

  /** Why `location` may not be used, or undefined when it may. */
  private refusal(location: string): string | undefined {
    const s = split(location);
    if (typeof s === 'string') return `${s}`;
    if (this.allowExternal) return undefined;
    if (this.warehouse === undefined) return 'the server has no warehouse and does not allow external locations';
    if (!locationInside(this.warehouse, location)) return `it is not inside the warehouse ${this.warehouse}`;
    return undefined;
  }

  /**
   * Checks a location a client names.
   * @param what names it in the message, e.g. `table location` or `manifest list of snapshot 5`
   * @throws ValidationError `catalog: rest: <what> '<location>' refused: <why>`
   */
  check(location: string, what: string): void {
    const why = this.refusal(location);
    if (why !== undefined) throw new ValidationError(`catalog: rest: ${what} '${location}' refused: ${why}`);
  }

  /** Checks the path-valued properties among `properties` (see {@link PATH_PROPERTIES}). */
  checkPathProperties(properties: Record<string, string>, what: string): void {
    for (const key of PATH_PROPERTIES) {
      const value = properties[key];
      if (value !== undefined) this.check(value, `${what} property ${key}`);
    }
  }

  /** Checks every location a commit's updates name (before the catalog applies any of them). */
  checkUpdates(updates: readonly TableUpdate[]): void {
    for (const u of updates) {
      switch (u.action) {
        case 'set-location':
          this.check(u.location, 'table location');
          break;
        case 'set-properties':
          this.checkPathProperties(u.updates, 'table');
          break;
        case 'add-snapshot': {
          const id = u.snapshot['snapshot-id'];
          if (u.snapshot['manifest-list'] !== undefined) this.check(u.snapshot['manifest-list'], `manifest list of snapshot ${id}`);
          for (const m of u.snapshot.manifests ?? []) this.check(m, `manifest of snapshot ${id}`);
          break;
        }
        case 'set-statistics':
          this.check(u.statistics['statistics-path'], 'statistics file');
          break;
        case 'set-partition-statistics':
          this.check(u['partition-statistics']['statistics-path'], 'partition statistics file');
          break;
        default:
          break;
      }
    }
  }

  /**
   * The directories a purge of this table may delete in: its location and its `write.*.path`
   * directories, each only when it is itself acceptable (inside the warehouse unless external
   * locations are allowed; any, when the server knows no warehouse).
   */
  purgeRoots(md: TableMetadata): string[] {
    const roots = [md.location, ...PATH_PROPERTIES.map((k) => md.properties[k]).filter((v): v is string => v !== undefined)];
    return roots.filter((r) => typeof split(r) !== 'string' && (this.warehouse === undefined || this.refusal(r) === undefined));
  }
}
