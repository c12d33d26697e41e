/**
 * Location strings: scheme detection, joining, and `file://` <-> local path conversion.
 *
 * Locations are kept exactly as Iceberg writers store them. Java/Hadoop writes `file:/tmp/x`,
 * PyIceberg writes `file:///tmp/x` or a plain `/tmp/x`; none of them percent-encodes, and
 * manifests compare paths byte for byte. So these helpers never percent-encode or decode.
 */
import { isAbsolute, normalize, resolve as resolvePath } from 'node:path';
import { ValidationError } from '../errors.js';

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * The scheme of a location, lower case: `file` for `file:` URIs and plain paths (absolute or
 * relative), otherwise the URI scheme (`memory`, `s3`, `s3a`, `gs`, …).
 */
export function locationScheme(location: string): string {
  if (location.length === 0) throw new ValidationError('io: empty location');
  const m = SCHEME.exec(location);
  if (!m || m[1] === undefined) return 'file';
  // `C:\x` / `C:/x` is a Windows drive, not a one-letter scheme.
  if (m[1].length === 1 && process.platform === 'win32') return 'file';
  return m[1].toLowerCase();
}

/** True for locations on the local filesystem (`file:` URIs and plain paths). */
export function isLocalLocation(location: string): boolean {
  return locationScheme(location) === 'file';
}

/**
 * A local filesystem path for a `file:` URI or plain path. Accepts `file:///p`, `file:/p`
 * (Hadoop style) and `file://localhost/p`; relative plain paths are resolved against the
 * working directory. The path is normalized (`/data/x/../t` → `/data/t`), as a relative one is
 * by resolving it: listing a directory yields normalized paths, and a prefix with `..` in it
 * would match none of them.
 */
export function fileUriToPath(location: string): string {
  const scheme = locationScheme(location);
  if (scheme !== 'file') {
    throw new ValidationError(`io: ${location}: not a local location (scheme '${scheme}')`);
  }
  if (!SCHEME.test(location) || (process.platform === 'win32' && /^[A-Za-z]:[\\/]/.test(location))) {
    return isAbsolute(location) ? normalize(location) : resolvePath(location);
  }
  let rest = location.slice('file:'.length);
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const host = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    if (host !== '' && host.toLowerCase() !== 'localhost') {
      throw new ValidationError(`io: ${location}: remote host '${host}' in a file URI is not supported`);
    }
    rest = slash < 0 ? '/' : rest.slice(slash);
  }
  if (!rest.startsWith('/')) {
    throw new ValidationError(`io: ${location}: a file URI must hold an absolute path`);
  }
  return normalize(rest);
}

/** `/abs/path` → `file:///abs/path` (relative paths are resolved first). */
export function pathToFileUri(path: string): string {
  const abs = isAbsolute(path) ? path : resolvePath(path);
  return `file://${abs.startsWith('/') ? '' : '/'}${abs}`;
}

/**
 * Makes a location absolute when it is a relative local path (so it can be stored in table
 * metadata); every other location is returned unchanged except for trailing slashes.
 */
export function normalizeLocation(location: string): string {
  const trimmed = stripTrailingSlash(location);
  if (!SCHEME.test(trimmed) && !isAbsolute(trimmed)) return resolvePath(trimmed);
  return trimmed;
}

/** Removes trailing `/` characters, keeping a lone root (`/`, `file:///`, `s3://`). */
export function stripTrailingSlash(location: string): string {
  let end = location.length;
  while (end > 0 && location[end - 1] === '/') end--;
  const stripped = location.slice(0, end);
  if (stripped === '' || stripped.endsWith(':') || stripped.endsWith(':/')) return location;
  return stripped;
}

/**
 * Joins a base location and path segments with single `/` separators:
 * `joinLocation('s3://b/wh/', 'db', 't')` → `s3://b/wh/db/t`.
 */
export function joinLocation(base: string, ...parts: string[]): string {
  let out = stripTrailingSlash(base);
  for (const part of parts) {
    const p = part.replace(/^\/+/, '').replace(/\/+$/, '');
    if (p.length === 0) continue;
    out = out.endsWith('/') ? out + p : `${out}/${p}`;
  }
  return out;
}

/** The last path segment of a location (`…/metadata/v1.metadata.json` → `v1.metadata.json`). */
export function locationBaseName(location: string): string {
  const trimmed = stripTrailingSlash(location);
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}

/** The location without its last segment (`s3://b/t/metadata/x.json` → `s3://b/t/metadata`). */
export function parentLocation(location: string): string {
  const trimmed = stripTrailingSlash(location);
  const i = trimmed.lastIndexOf('/');
  if (i < 0) throw new ValidationError(`io: ${location}: has no parent location`);
  return stripTrailingSlash(trimmed.slice(0, i + 1));
}
