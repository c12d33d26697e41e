/**
 * The routes of floe's REST catalog server (`rest-server.ts`): each maps one endpoint of the
 * Iceberg REST spec onto the Catalog interface. Handlers throw floe errors (mapped to the spec's
 * statuses by `errorToRest`) or {@link HttpError} for protocol-level answers.
 *
 * Before the catalog sees a request, every namespace and table name in it is checked
 * (`rest-server-names.ts`) and every location it names (`rest-server-locations.ts`); a purge is
 * done by the server itself, confined to the table's directories (`rest-server-purge.ts`).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { NoSuchNamespaceError, UnsupportedError, ValidationError } from '../../errors.js';
import { parseJson, type JsonValue } from '../../iceberg/json.js';
import type { TableMetadata } from '../../iceberg/metadata.js';
import { newTableMetadata, tableMetadataToJson } from '../../iceberg/table-metadata.js';
import { formatTableIdentifier, type Catalog, type LoadedTable, type Namespace, type TableIdentifier } from '../catalog.js';
import { defaultTableLocation } from '../warehouse.js';
import {
  asObject,
  parseCommitTableRequest,
  parseCreateNamespaceRequest,
  parseCreateTableRequest,
  parseRegisterTableRequest,
  parseRenameTableRequest,
  parseUpdateNamespacePropertiesRequest,
} from './rest-json.js';
import { decodeNamespace, parseNamespaceQueryValue } from './rest-paths.js';
import { NAMESPACE_LOCATION_PROPERTY } from '../warehouse.js';
import type { LocationPolicy } from './rest-server-locations.js';
import { checkNamespaceName, checkTableIdentifier } from './rest-server-names.js';
import { dropAndPurge } from './rest-server-purge.js';

/** An answer with a given status and ErrorModel type (protocol errors: 404 route, 405, 413, …). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What the routes need from the server. */
export interface RouteContext {
  catalog: Catalog;
  prefix: string | undefined;
  warehouse: string | undefined;
  defaults: Record<string, string>;
  overrides: Record<string, string>;
  /** The `config` of every LoadTableResult. */
  tableConfig: Record<string, string>;
  /** Which locations clients may name (`rest-server-locations.ts`). */
  locations: LocationPolicy;
  /** Receives notes on what the server refused to touch (a purge leaving foreign files). */
  log: (line: string) => void;
}

/** A request; the body is parsed (lossless JSON) only by routes that take one. */
export interface RouteRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  /** The raw body text ('' when none). */
  text: string;
}

/** A successful answer; `body` is serialized with lossless JSON. */
export interface RouteAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The endpoints this server implements, as advertised in `GET /v1/config`. */
export const SERVER_ENDPOINTS: readonly string[] = Object.freeze([
  'GET /v1/{prefix}/namespaces',
  'POST /v1/{prefix}/namespaces',
  'GET /v1/{prefix}/namespaces/{namespace}',
  'HEAD /v1/{prefix}/namespaces/{namespace}',
  'DELETE /v1/{prefix}/namespaces/{namespace}',
  'POST /v1/{prefix}/namespaces/{namespace}/properties',
  'GET /v1/{prefix}/namespaces/{namespace}/tables',
  'POST /v1/{prefix}/namespaces/{namespace}/tables',
  'GET /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}',
  'POST /v1/{prefix}/namespaces/{namespace}/register',
  'POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/metrics',
  'POST /v1/{prefix}/tables/rename',
]);

/** Page size when a client asks for pages (`pageToken`) without a `pageSize`. */
const DEFAULT_PAGE_SIZE = 100;

function allow(methods: string[], req: RouteRequest): void {
  if (methods.includes(req.method)) return;
  throw new HttpError(405, 'MethodNotAllowedException', `${req.method} is not allowed on ${req.url.pathname} (allowed: ${methods.join(', ')})`, {
    allow: methods.join(', '),
  });
}

function unsupported(req: RouteRequest, what: string): never {
  throw new HttpError(406, 'UnsupportedOperationException', `${what} (${req.method} ${req.url.pathname}) is not supported by this server`);
}

function decodeSegment(segment: string, what: string): string {
  try {
    const s = decodeURIComponent(segment);
    if (s.length === 0) throw new Error('empty');
    return s;
  } catch {
    throw new HttpError(400, 'BadRequestException', `invalid ${what} in path: '${segment}'`);
  }
}

/** Slices a listing by `pageToken` / `pageSize` (all at once when no token is sent). */
function page<T>(items: T[], url: URL): { items: T[]; next: string | null } {
  const token = url.searchParams.get('pageToken');
  const sizeText = url.searchParams.get('pageSize');
  let size = DEFAULT_PAGE_SIZE;
  if (sizeText !== null) {
    size = Number(sizeText);
    if (!Number.isSafeInteger(size) || size < 1) throw new ValidationError(`catalog: rest: pageSize must be a positive integer, got '${sizeText}'`);
  }
  if (token === null) return { items, next: null };
  let offset = 0;
  if (token !== '') {
    const m = /^o(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (!m) throw new ValidationError(`catalog: rest: invalid pageToken '${token}'`);
    offset = Number(m[1]);
  }
  const slice = items.slice(offset, offset + size);
  const end = offset + slice.length;
  return { items: slice, next: end < items.length ? Buffer.from(`o${end}`).toString('base64url') : null };
}

/** The ETag of a LoadTableResult: one per metadata file and snapshots mode. */
function etagOf(metadataLocation: string, mode: string): string {
  return `"${createHash('sha256').update(`${metadataLocation}\0${mode}`).digest('hex').slice(0, 32)}"`;
}

/** Only the snapshots referenced by branches and tags (`?snapshots=refs`). */
function refsOnly(md: TableMetadata): TableMetadata {
  const referenced = new Set(Object.values(md.refs).map((r) => r['snapshot-id']));
  return { ...md, snapshots: md.snapshots.filter((s) => referenced.has(s['snapshot-id'])) };
}

function loadResult(ctx: RouteContext, t: LoadedTable, mode = 'all'): RouteAnswer {
  const md = mode === 'refs' ? refsOnly(t.metadata) : t.metadata;
  return {
    status: 200,
    body: { 'metadata-location': t.metadataLocation, metadata: tableMetadataToJson(md), config: { ...ctx.tableConfig } },
    headers: { etag: etagOf(t.metadataLocation, mode) },
  };
}

function requireBody(req: RouteRequest): JsonValue {
  if (req.text.trim().length === 0) throw new HttpError(400, 'BadRequestException', `${req.method} ${req.url.pathname} needs a JSON request body`);
  try {
    return parseJson(req.text, 'request body');
  } catch (e) {
    throw new HttpError(400, 'BadRequestException', `malformed JSON request body: ${(e as Error).message.replace(/^json: request body: /, '')}`);
  }
}

const display = (ns: Namespace) => ns.join('.');

/** A namespace `location` decides where its tables go: the location rules apply to it. */
function checkNamespaceProperties(ctx: RouteContext, properties: Record<string, string>): void {
  const location = properties[NAMESPACE_LOCATION_PROPERTY];
  if (location !== undefined) ctx.locations.check(location, 'namespace location');
}

/**
 * The metadata file of `register`: checked before anything is read, so that the answer never
 * tells whether some other file exists or what it holds; and it must be named like a metadata file.
 */
function checkRegisterLocation(ctx: RouteContext, location: string): void {
  ctx.locations.check(location, 'metadata-location');
  if (!/\.metadata\.json(\.gz)?$/.test(location)) {
    throw new ValidationError(`catalog: rest: metadata-location '${location}' refused: not a table metadata file (*.metadata.json)`);
  }
}

async function namespaceRoutes(ctx: RouteContext, req: RouteRequest, rest: string[]): Promise<RouteAnswer> {
  const { catalog } = ctx;
  if (rest.length === 0) {
    allow(['GET', 'POST'], req);
    if (req.method === 'GET') {
      const parentText = req.url.searchParams.get('parent');
      const parent = parentText ? parseNamespaceQueryValue(parentText) : [];
      if (parent.length > 0) checkNamespaceName(parent);
      const all = await catalog.listNamespaces(parent);
      const { items, next } = page(all, req.url);
      return { status: 200, body: { namespaces: items, 'next-page-token': next } };
    }
    const { namespace, properties } = parseCreateNamespaceRequest(requireBody(req));
    checkNamespaceName(namespace);
    checkNamespaceProperties(ctx, properties);
    await catalog.createNamespace(namespace, properties);
    return { status: 200, body: { namespace, properties: await catalog.loadNamespaceProperties(namespace) } };
  }
  const ns = decodeNamespace(rest[0]!);
  checkNamespaceName(ns);
  const tail = rest.slice(1);
  if (tail.length === 0) {
    allow(['GET', 'HEAD', 'DELETE'], req);
    if (req.method === 'HEAD') {
      if (!(await catalog.namespaceExists(ns))) throw new NoSuchNamespaceError(`catalog: namespace ${display(ns)} does not exist`);
      return { status: 204 };
    }
    if (req.method === 'DELETE') {
      await catalog.dropNamespace(ns);
      return { status: 204 };
    }
    return { status: 200, body: { namespace: ns, properties: await catalog.loadNamespaceProperties(ns) } };
  }
  if (tail[0] === 'properties' && tail.length === 1) {
    allow(['POST'], req);
    const { removals, updates } = parseUpdateNamespacePropertiesRequest(requireBody(req));
    const both = removals.filter((k) => Object.hasOwn(updates, k));
    if (both.length > 0) {
      throw new HttpError(422, 'UnprocessableEntityException', `properties both removed and updated: ${both.join(', ')}`);
    }
    checkNamespaceProperties(ctx, updates);
    const before = await catalog.loadNamespaceProperties(ns);
    await catalog.updateNamespaceProperties(ns, removals, updates);
    return {
      status: 200,
      body: {
        updated: Object.keys(updates),
        removed: removals.filter((k) => Object.hasOwn(before, k)),
        missing: removals.filter((k) => !Object.hasOwn(before, k)),
      },
    };
  }
  if (tail[0] === 'register' && tail.length === 1) {
    allow(['POST'], req);
    const r = parseRegisterTableRequest(requireBody(req));
    const id = { namespace: ns, name: r.name };
    checkTableIdentifier(id);
    checkRegisterLocation(ctx, r.metadataLocation);
    if (r.overwrite && (await catalog.tableExists(id))) unsupported(req, 'registering over an existing table (overwrite)');
    const registered = await catalog.registerTable(id, r.metadataLocation);
    try {
      ctx.locations.check(registered.metadata.location, 'location of the registered table');
      ctx.locations.checkPathProperties(registered.metadata.properties, 'registered table');
    } catch (e) {
      await catalog.dropTable(id, { purge: false });
      throw e;
    }
    return loadResult(ctx, registered);
  }
  if (tail[0] === 'tables') return tableRoutes(ctx, req, ns, tail.slice(1));
  if (tail[0] === 'views' || tail[0] === 'register-view') unsupported(req, 'views');
  throw new HttpError(404, 'NotFoundException', `no route for ${req.method} ${req.url.pathname}`);
}

async function createTable(ctx: RouteContext, req: RouteRequest, ns: Namespace): Promise<RouteAnswer> {
  const { catalog } = ctx;
  const r = parseCreateTableRequest(requireBody(req));
  const id: TableIdentifier = { namespace: ns, name: r.name };
  checkTableIdentifier(id);
  ctx.locations.checkPathProperties(r.properties, 'table');
  if (r.location !== undefined) {
    ctx.locations.check(r.location, 'table location');
  } else if (!r.stageCreate) {
    // A namespace `location` (which may predate the server) decides where the table goes.
    const nsLocation = (await catalog.loadNamespaceProperties(ns))[NAMESPACE_LOCATION_PROPERTY];
    if (nsLocation) ctx.locations.check(defaultTableLocation(ctx.warehouse ?? '', ns, r.name, { [NAMESPACE_LOCATION_PROPERTY]: nsLocation }), 'table location');
  }
  if (!r.stageCreate) {
    const t = await catalog.createTable(id, {
      schema: r.schema,
      properties: r.properties,
      ...(r.location !== undefined ? { location: r.location } : {}),
      ...(r.partitionSpec ? { partitionSpec: r.partitionSpec } : {}),
      ...(r.sortOrder ? { sortOrder: r.sortOrder } : {}),
    });
    return loadResult(ctx, t);
  }
  // Staged create: metadata for a create transaction, committed later with assert-create.
  const nsProps = await catalog.loadNamespaceProperties(ns); // NoSuchNamespace → 404
  if (await catalog.tableExists(id)) throw new HttpError(409, 'AlreadyExistsException', `catalog: table ${formatTableIdentifier(id)} already exists`);
  const location = r.location ?? (ctx.warehouse !== undefined ? defaultTableLocation(ctx.warehouse, ns, r.name, nsProps) : undefined);
  if (location === undefined) throw new UnsupportedError('catalog: a staged create needs a location on this server (no warehouse configured)');
  ctx.locations.check(location, 'table location');
  const metadata = newTableMetadata({
    location,
    schema: r.schema,
    properties: r.properties,
    ...(r.partitionSpec ? { partitionSpec: r.partitionSpec } : {}),
    ...(r.sortOrder ? { sortOrder: r.sortOrder } : {}),
  });
  return { status: 200, body: { 'metadata-location': null, metadata: tableMetadataToJson(metadata), config: { ...ctx.tableConfig } } };
}

async function tableRoutes(ctx: RouteContext, req: RouteRequest, ns: Namespace, rest: string[]): Promise<RouteAnswer> {
  const { catalog } = ctx;
  if (rest.length === 0) {
    allow(['GET', 'POST'], req);
    if (req.method === 'POST') return createTable(ctx, req, ns);
    const { items, next } = page(await catalog.listTables(ns), req.url);
    return { status: 200, body: { identifiers: items, 'next-page-token': next } };
  }
  const id: TableIdentifier = { namespace: ns, name: decodeSegment(rest[0]!, 'table name') };
  checkTableIdentifier(id);
  const tail = rest.slice(1);
  if (tail.length === 0) {
    allow(['GET', 'HEAD', 'POST', 'DELETE'], req);
    switch (req.method) {
      case 'HEAD':
        if (!(await catalog.tableExists(id))) throw new HttpError(404, 'NoSuchTableException', `catalog: table ${formatTableIdentifier(id)} does not exist`);
        return { status: 204 };
      case 'DELETE':
        if (req.url.searchParams.get('purgeRequested') === 'true') await dropAndPurge(catalog, id, ctx.locations, ctx.log);
        else await catalog.dropTable(id, { purge: false });
        return { status: 204 };
      case 'POST': {
        const commit = parseCommitTableRequest(requireBody(req));
        if (commit.identifier && formatTableIdentifier(commit.identifier) !== formatTableIdentifier(id)) {
          throw new ValidationError(`catalog: rest: CommitTableRequest.identifier ${formatTableIdentifier(commit.identifier)} does not match the path's table ${formatTableIdentifier(id)}`);
        }
        ctx.locations.checkUpdates(commit.updates);
        const t = await catalog.commitTable(id, commit.requirements, commit.updates);
        const answer = loadResult(ctx, t);
        return { ...answer, body: { 'metadata-location': t.metadataLocation, metadata: tableMetadataToJson(t.metadata) } };
      }
      default: {
        const mode = req.url.searchParams.get('snapshots') ?? 'all';
        if (mode !== 'all' && mode !== 'refs') throw new ValidationError(`catalog: rest: snapshots must be 'all' or 'refs', got '${mode}'`);
        const t = await catalog.loadTable(id);
        const answer = loadResult(ctx, t, mode);
        if (req.headers['if-none-match'] !== undefined && req.headers['if-none-match'] === answer.headers?.etag) {
          return { status: 304, headers: answer.headers ?? {} };
        }
        return answer;
      }
    }
  }
  if (tail[0] === 'metrics' && tail.length === 1) {
    allow(['POST'], req);
    asObject(requireBody(req), 'ReportMetricsRequest');
    if (!(await catalog.tableExists(id))) throw new HttpError(404, 'NoSuchTableException', `catalog: table ${formatTableIdentifier(id)} does not exist`);
    return { status: 204 }; // accepted and dropped: floe keeps no metrics reports
  }
  if (['plan', 'tasks', 'credentials'].includes(tail[0]!)) unsupported(req, `server-side ${tail[0]}`);
  throw new HttpError(404, 'NotFoundException', `no route for ${req.method} ${req.url.pathname}`);
}

async function transactionCommit(ctx: RouteContext, req: RouteRequest): Promise<RouteAnswer> {
  const body = asObject(requireBody(req), 'CommitTransactionRequest');
  const changes = body['table-changes'];
  if (!Array.isArray(changes)) throw new ValidationError("catalog: rest: CommitTransactionRequest: 'table-changes' must be a list");
  if (changes.length !== 1) unsupported(req, 'atomic commits to several tables');
  const commit = parseCommitTableRequest(changes[0]);
  if (!commit.identifier) throw new ValidationError('catalog: rest: CommitTransactionRequest: table-changes[0] needs an identifier');
  checkTableIdentifier(commit.identifier);
  ctx.locations.checkUpdates(commit.updates);
  await ctx.catalog.commitTable(commit.identifier, commit.requirements, commit.updates);
  return { status: 204 };
}

/** Routes one request (see the file comment). */
export async function handleRoute(ctx: RouteContext, req: RouteRequest): Promise<RouteAnswer> {
  const segments = req.url.pathname.split('/').filter((s) => s.length > 0);
  if (segments[0] !== 'v1') throw new HttpError(404, 'NotFoundException', `no route for ${req.method} ${req.url.pathname}`);
  if (segments.length === 2 && segments[1] === 'config') {
    allow(['GET'], req);
    return {
      status: 200,
      body: {
        defaults: { ...ctx.defaults },
        overrides: { ...(ctx.prefix ? { prefix: ctx.prefix } : {}), ...ctx.overrides },
        endpoints: SERVER_ENDPOINTS,
      },
    };
  }
  if (segments.length === 3 && segments[1] === 'oauth' && segments[2] === 'tokens') {
    unsupported(req, 'OAuth2 tokens (this server takes a static bearer token, if any: configure a token in the client, not a credential)');
  }
  let rest = segments.slice(1);
  if (ctx.prefix) {
    const parts = ctx.prefix.split('/');
    if (parts.some((p, i) => rest[i] !== p)) throw new HttpError(404, 'NotFoundException', `no route for ${req.method} ${req.url.pathname} (catalog routes are under /v1/${ctx.prefix}/)`);
    rest = rest.slice(parts.length);
  }
  const [head, ...tail] = rest;
  if (head === 'namespaces') return namespaceRoutes(ctx, req, tail);
  if (head === 'tables' && tail.length === 1 && tail[0] === 'rename') {
    allow(['POST'], req);
    const { source, destination } = parseRenameTableRequest(requireBody(req));
    checkTableIdentifier(source);
    checkTableIdentifier(destination);
    await ctx.catalog.renameTable(source, destination);
    return { status: 204 };
  }
  if (head === 'transactions' && tail.length === 1 && tail[0] === 'commit') {
    allow(['POST'], req);
    return transactionCommit(ctx, req);
  }
  if (head === 'views') unsupported(req, 'views');
  throw new HttpError(404, 'NotFoundException', `no route for ${req.method} ${req.url.pathname}`);
}
