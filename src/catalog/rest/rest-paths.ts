/**
 * Routes of the Iceberg REST catalog API (`open-api/rest-catalog-open-api.yaml`) and the encoding
 * of namespaces in them, shared by the client and the server.
 *
 * A namespace in a path is its levels joined by the namespace separator, by default the unit
 * separator 0x1F (URL-encoded `%1F`), each level URL-encoded. A server may advertise another
 * separator in its config (`namespace-separator`, given URL-encoded); servers must accept `%1F`
 * whatever they advertise.
 */
import { ValidationError } from '../../errors.js';
import type { Namespace } from '../catalog.js';

/** The default namespace separator, URL-encoded as the spec gives it. */
export const DEFAULT_NAMESPACE_SEPARATOR = '%1F';

/** The endpoints a server supports when its config names none (the spec's default set). */
export const DEFAULT_ENDPOINTS: readonly string[] = Object.freeze([
  'GET /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/register',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics',
  'POST /v1/{prefix}/tables/rename',
  'POST /v1/{prefix}/transactions/commit',
]);

/** The existence checks, which the default set lacks (clients fall back to GET without them). */
export const HEAD_NAMESPACE_ENDPOINT = 'HEAD /v1/{prefix}/namespaces/{namespace}';
/** See {@link HEAD_NAMESPACE_ENDPOINT}. */
export const HEAD_TABLE_ENDPOINT = 'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}';

/** Percent-decodes, naming the input in errors. */
function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ValidationError(`catalog: rest: ${what} '${text}' is not validly URL-encoded`);
  }
}

/**
 * Encodes a namespace for a path segment: levels URL-encoded, joined by the separator.
 * @param separator the URL-encoded separator (`%1F` unless the server advertised another)
 */
export function encodeNamespace(namespace: Namespace, separator = DEFAULT_NAMESPACE_SEPARATOR): string {
  if (namespace.length === 0 || namespace.some((l) => l.length === 0)) {
    throw new ValidationError(`catalog: rest: invalid namespace ${JSON.stringify(namespace)}: levels must be non-empty`);
  }
  return namespace.map(encodeURIComponent).join(separator);
}

/**
 * Decodes a namespace path segment (still URL-encoded) into levels. Splits on the advertised
 * separator and always on `%1F`, before decoding, so a level may itself contain an encoded separator
 * character only if it differs from both.
 */
export function decodeNamespace(segment: string, separator = DEFAULT_NAMESPACE_SEPARATOR): Namespace {
  const seps = [...new Set([separator.toUpperCase(), DEFAULT_NAMESPACE_SEPARATOR])];
  let parts = [segment];
  for (const sep of seps) {
    parts = parts.flatMap((p) => p.split(new RegExp(sep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i')));
  }
  const levels = parts.map((p) => decode(p, 'namespace'));
  if (levels.length === 0 || levels.some((l) => l.length === 0)) {
    throw new ValidationError(`catalog: rest: invalid namespace '${segment}': levels must be non-empty`);
  }
  return levels;
}

/**
 * The `parent` query value of a namespace listing: levels joined by the (decoded) separator; the
 * URL encoding of the query adds the percent-encoding.
 */
export function namespaceQueryValue(namespace: Namespace, separator = DEFAULT_NAMESPACE_SEPARATOR): string {
  return namespace.join(decode(separator, 'namespace separator'));
}

/** Splits a decoded `parent` query value into levels (the advertised separator, or 0x1F). */
export function parseNamespaceQueryValue(value: string, separator = DEFAULT_NAMESPACE_SEPARATOR): Namespace {
  const seps = [...new Set([decode(separator, 'namespace separator'), '\u001f'])];
  let parts = [value];
  for (const sep of seps) parts = parts.flatMap((p) => p.split(sep));
  if (parts.some((l) => l.length === 0)) throw new ValidationError(`catalog: rest: invalid parent namespace '${value}'`);
  return parts;
}

/** `/v1/` plus the prefix segment (if any), without a trailing slash: `/v1/wh` or `/v1`. */
export function routeBase(prefix: string | undefined): string {
  if (!prefix) return '/v1';
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  // A prefix is one or more path segments, given as the server sent them (already encoded).
  return trimmed ? `/v1/${trimmed}` : '/v1';
}
