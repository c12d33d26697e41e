/**
 * A Catalog over the Iceberg REST catalog API (`open-api/rest-catalog-open-api.yaml`), e.g. floe's
 * own `floe catalog serve`, Polaris, Nessie, Lakekeeper, Gravitino, the AWS Glue Iceberg REST
 * endpoint or S3 Tables' Iceberg REST endpoint.
 *
 * The first call fetches `GET /v1/config` (with `?warehouse=` when given) and builds the catalog's
 * properties as the spec says: server defaults, then the client's `properties`, then server
 * overrides. From them: `prefix` (the path segment after `/v1/`), `namespace-separator`, and the
 * `endpoints` the server supports (existence checks use HEAD when advertised, else GET).
 *
 * Commits send a CommitTableRequest to `POST /v1/{prefix}/namespaces/{ns}/tables/{table}` with the
 * requirements and updates of `iceberg/commit.ts`. A 409 is a CommitConflictError (reload, retry);
 * a 5xx, a timeout or a lost connection is a CommitStateUnknownError, never retried here; a
 * request that never left (connection refused, DNS) is a CatalogUnreachableError, which the HTTP
 * layer retries a few times and the commit loop (`table/snapshot-producer.ts`) for longer.
 *
 * Auth is pluggable (`rest-auth.ts`): none, bearer token, OAuth2 client credentials, AWS SigV4
 * with a configurable signing name, or any {@link RestAuth}.
 */
import { CommitStateUnknownError, ValidationError } from '../../errors.js';
import type { TableRequirement, TableUpdate } from '../../iceberg/commit.js';
import type { JsonValue } from '../../iceberg/json.js';
import { parseTableMetadata } from '../../iceberg/table-metadata.js';
import type { FileIO } from '../../io/file-io.js';
import { DEFAULT_RETRY_POLICY, checkRetryPolicy, type RetryPolicy } from '../../retry.js';
import {
  formatTableIdentifier,
  type Catalog,
  type CreateTableOptions,
  type DropTableOptions,
  type LoadedTable,
  type Namespace,
  type TableIdentifier,
} from '../catalog.js';
import { restAuthFrom, type RestAuth, type RestAuthConfig } from './rest-auth.js';
import { effectiveTableConfig, tableFileIO } from './rest-fileio.js';
import { TableStorageMemory, vendsStorage, type TableStorage } from './rest-table-storage.js';
import { RestHttp, type RestCall } from './rest-http.js';
import { asObject, identifierOf, namespaceOf, optStr, stringList, stringMap } from './rest-json.js';
import {
  DEFAULT_ENDPOINTS,
  DEFAULT_NAMESPACE_SEPARATOR,
  encodeNamespace,
  HEAD_NAMESPACE_ENDPOINT,
  HEAD_TABLE_ENDPOINT,
  namespaceQueryValue,
  routeBase,
} from './rest-paths.js';

/**
 * Picks the FileIO of a loaded table from its location and the table config of the response (with
 * the matching `storage-credentials` entry merged in).
 */
export type RestFileIOResolver = (location: string, tableConfig: Record<string, string>) => FileIO;

/** Options of {@link RestCatalog}. */
export interface RestCatalogOptions {
  /** Base URI: `http://127.0.0.1:8181`, `https://glue.us-east-1.amazonaws.com/iceberg`, … */
  uri: string;
  /** The catalog's name in floe (messages); default the warehouse, else `rest`. */
  name?: string;
  /** Sent as `?warehouse=` to `/v1/config` (a warehouse name, location, or S3 Tables bucket ARN). */
  warehouse?: string;
  /** Auth: a {@link RestAuth} or plain settings. Default none. */
  auth?: RestAuth | RestAuthConfig;
  /** Client-side catalog properties (between the server's defaults and overrides), e.g. `prefix`. */
  properties?: Record<string, string>;
  /** Headers sent with every request (e.g. `X-Iceberg-Access-Delegation`). */
  headers?: Record<string, string>;
  /** Page size of listings; default the `rest-page-size` property, else unpaginated. */
  pageSize?: number;
  /** Timeout of one request, ms. Default 30 s. */
  timeoutMs?: number;
  /** Retries of reads (GET/HEAD) on 429/5xx and network errors. Default 5 attempts from 100 ms. */
  retry?: Partial<RetryPolicy>;
  /**
   * FileIO of loaded tables; default {@link tableFileIO}: the S3 settings the server vends with the
   * table (`s3.access-key-id`, … in its config or storage credentials), else `fileIOFor(location)`.
   */
  io?: RestFileIOResolver;
  /** fetch implementation (tests, proxies). Default the global fetch. */
  fetch?: typeof fetch;
}

/** The catalog configuration the server returned, merged with the client's (see the file comment). */
export interface RestCatalogConfig {
  properties: Record<string, string>;
  /** Supported endpoints, `METHOD /v1/{prefix}/…`. */
  endpoints: ReadonlySet<string>;
  prefix: string | undefined;
  /** URL-encoded namespace separator. */
  separator: string;
}

const ENCODED_SEPARATOR = /^(%[0-9A-Fa-f]{2}|[^%/?#\s])+$/;

/** The Iceberg REST catalog client (see the file comment). */
export class RestCatalog implements Catalog {
  readonly name: string;
  readonly uri: string;
  private readonly http: RestHttp;
  private readonly resolveIO: RestFileIOResolver;
  private config: Promise<RestCatalogConfig> | undefined;
  /** The storage settings of each table's last load (commits keep them). */
  private readonly storage = new TableStorageMemory();

  constructor(private readonly options: RestCatalogOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.uri);
    } catch {
      throw new ValidationError(`catalog: rest: catalog URI "${options.uri}" is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ValidationError(`catalog: rest: catalog URI "${options.uri}" must be http:// or https://`);
    }
    if (options.pageSize !== undefined && (!Number.isSafeInteger(options.pageSize) || options.pageSize < 1)) {
      throw new ValidationError(`catalog: rest: pageSize must be a positive integer, got ${options.pageSize}`);
    }
    this.uri = options.uri.replace(/\/+$/, '');
    this.name = options.name ?? options.warehouse ?? 'rest';
    this.resolveIO = options.io ?? tableFileIO;
    this.http = new RestHttp({
      uri: this.uri,
      auth: restAuthFrom(options.auth, this.uri),
      retry: checkRetryPolicy({ ...DEFAULT_RETRY_POLICY, ...options.retry }, 'catalog: rest'),
      timeoutMs: options.timeoutMs ?? 30_000,
      headers: options.headers ?? {},
      fetch: options.fetch ?? fetch,
    });
  }

  /** The merged catalog configuration; fetched once, on first use. */
  catalogConfig(): Promise<RestCatalogConfig> {
    this.config ??= this.loadConfig().catch((e: unknown) => {
      this.config = undefined; // let a later call try again
      throw e;
    });
    return this.config;
  }

  private async loadConfig(): Promise<RestCatalogConfig> {
    const answer = await this.http.send({
      method: 'GET',
      path: '/v1/config',
      query: { warehouse: this.options.warehouse },
      op: 'config',
      what: `catalog ${this.uri}`,
    });
    const what = 'CatalogConfig';
    const body = asObject(answer.json, what);
    const properties = {
      ...stringMap(body.defaults, `${what}.defaults`),
      ...this.options.properties,
      ...stringMap(body.overrides, `${what}.overrides`),
    };
    const endpoints = body.endpoints === undefined || body.endpoints === null ? DEFAULT_ENDPOINTS : stringList(body.endpoints, `${what}.endpoints`);
    const separator = properties['namespace-separator'] ?? DEFAULT_NAMESPACE_SEPARATOR;
    if (!ENCODED_SEPARATOR.test(separator)) throw new ValidationError(`catalog: rest: ${this.uri}: invalid namespace-separator '${separator}'`);
    return { properties, endpoints: new Set(endpoints.map((e) => e.replace(/\s+/g, ' ').trim())), prefix: properties.prefix || undefined, separator };
  }

  private async pageSize(): Promise<number | undefined> {
    if (this.options.pageSize !== undefined) return this.options.pageSize;
    const p = Number((await this.catalogConfig()).properties['rest-page-size']);
    return Number.isSafeInteger(p) && p > 0 ? p : undefined;
  }

  private async route(): Promise<{ base: string; ns: (n: Namespace) => string; cfg: RestCatalogConfig }> {
    const cfg = await this.catalogConfig();
    return { base: routeBase(cfg.prefix), ns: (n) => encodeNamespace(n, cfg.separator), cfg };
  }

  private send(call: RestCall) {
    return this.http.send(call);
  }

  /** Follows `next-page-token` until the listing ends. */
  private async paged<T>(call: RestCall, key: string, read: (item: JsonValue, i: number) => T): Promise<T[]> {
    const pageSize = await this.pageSize();
    const out: T[] = [];
    let token: string | undefined = pageSize !== undefined ? '' : undefined;
    for (let pages = 0; ; pages++) {
      const query = { ...call.query, ...(token !== undefined ? { pageToken: token } : {}), ...(pageSize !== undefined ? { pageSize: String(pageSize) } : {}) };
      const answer = await this.send({ ...call, query });
      const body = asObject(answer.json, `${call.what} listing`);
      const items = body[key];
      if (items !== undefined && items !== null && !Array.isArray(items)) throw new ValidationError(`catalog: rest: ${call.what} listing: '${key}' must be a list`);
      (items ?? []).forEach((item, i) => out.push(read(item, i)));
      // Followed even when no page was asked for: some servers page regardless.
      const next = optStr(body, 'next-page-token', `${call.what} listing`);
      if (!next) return out;
      if (next === token || pages > 100_000) throw new ValidationError(`catalog: rest: ${call.what} listing: the server repeats page token '${next}'`);
      token = next;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Namespaces
  // -------------------------------------------------------------------------------------------

  async listNamespaces(parent: Namespace = []): Promise<Namespace[]> {
    const { base, cfg } = await this.route();
    const what = parent.length ? `namespace ${parent.join('.')}` : `catalog ${this.name}`;
    return this.paged(
      {
        method: 'GET',
        path: `${base}/namespaces`,
        query: parent.length ? { parent: namespaceQueryValue(parent, cfg.separator) } : {},
        op: 'list-namespaces',
        what,
      },
      'namespaces',
      (item, i) => namespaceOf(item, `ListNamespacesResponse.namespaces[${i}]`),
    );
  }

  async createNamespace(namespace: Namespace, properties: Record<string, string> = {}): Promise<void> {
    const { base } = await this.route();
    encodeNamespace(namespace); // validates
    await this.send({
      method: 'POST',
      path: `${base}/namespaces`,
      body: { namespace, properties },
      op: 'create-namespace',
      what: `namespace ${namespace.join('.')}`,
    });
  }

  async namespaceExists(namespace: Namespace): Promise<boolean> {
    const { base, ns, cfg } = await this.route();
    const head = cfg.endpoints.has(HEAD_NAMESPACE_ENDPOINT);
    try {
      await this.send({ method: head ? 'HEAD' : 'GET', path: `${base}/namespaces/${ns(namespace)}`, op: 'namespace-exists', what: `namespace ${namespace.join('.')}` });
      return true;
    } catch (e) {
      if ((e as { code?: unknown }).code === 'NO_SUCH_NAMESPACE') return false;
      throw e;
    }
  }

  async loadNamespaceProperties(namespace: Namespace): Promise<Record<string, string>> {
    const { base, ns } = await this.route();
    const what = `namespace ${namespace.join('.')}`;
    const answer = await this.send({ method: 'GET', path: `${base}/namespaces/${ns(namespace)}`, op: 'load-namespace', what });
    return stringMap(asObject(answer.json, 'GetNamespaceResponse').properties, 'GetNamespaceResponse.properties');
  }

  async updateNamespaceProperties(namespace: Namespace, removals: string[], updates: Record<string, string>): Promise<void> {
    const { base, ns } = await this.route();
    await this.send({
      method: 'POST',
      path: `${base}/namespaces/${ns(namespace)}/properties`,
      body: { removals, updates },
      op: 'update-namespace',
      what: `namespace ${namespace.join('.')}`,
    });
  }

  async dropNamespace(namespace: Namespace): Promise<void> {
    const { base, ns } = await this.route();
    await this.send({ method: 'DELETE', path: `${base}/namespaces/${ns(namespace)}`, op: 'drop-namespace', what: `namespace ${namespace.join('.')}` });
  }

  // -------------------------------------------------------------------------------------------
  // Tables
  // -------------------------------------------------------------------------------------------

  private tablePath(base: string, ns: (n: Namespace) => string, id: TableIdentifier): string {
    if (!id.name) throw new ValidationError('catalog: rest: table name must not be empty');
    return `${base}/namespaces/${ns(id.namespace)}/tables/${encodeURIComponent(id.name)}`;
  }

  /**
   * Reads a LoadTableResult / CommitTableResponse body: the table and the storage settings it
   * came with (`config`, `storage-credentials`).
   */
  private parseTable(id: TableIdentifier, json: JsonValue | undefined, what: string): { table: Omit<LoadedTable, 'io'>; storage: TableStorage } {
    const body = asObject(json, what);
    const metadataLocation = optStr(body, 'metadata-location', what);
    if (metadataLocation === undefined) throw new ValidationError(`catalog: rest: ${what}: the server returned no metadata-location`);
    const metadata = parseTableMetadata(body.metadata ?? null, `${what} of ${formatTableIdentifier(id)}`);
    return {
      table: { identifier: { namespace: [...id.namespace], name: id.name }, metadataLocation, metadata },
      storage: { config: stringMap(body.config, `${what}.config`), credentials: body['storage-credentials'] },
    };
  }

  private withIO(table: Omit<LoadedTable, 'io'>, storage: TableStorage): LoadedTable {
    const location = table.metadata.location;
    return { ...table, io: this.resolveIO(location, effectiveTableConfig(location, storage.config, storage.credentials)) };
  }

  /**
   * A LoadedTable from a LoadTableResult (loads, creates, registrations): its storage settings
   * are the table's from then on in this client (what a commit's answer keeps, see `commitTable`).
   */
  private loaded(id: TableIdentifier, json: JsonValue | undefined, what: string): LoadedTable {
    const { table, storage } = this.parseTable(id, json, what);
    this.storage.remember(id, storage);
    return this.withIO(table, storage);
  }

  async listTables(namespace: Namespace): Promise<TableIdentifier[]> {
    const { base, ns } = await this.route();
    return this.paged(
      { method: 'GET', path: `${base}/namespaces/${ns(namespace)}/tables`, op: 'list-tables', what: `namespace ${namespace.join('.')}` },
      'identifiers',
      (item, i) => identifierOf(item, `ListTablesResponse.identifiers[${i}]`),
    );
  }

  async createTable(identifier: TableIdentifier, options: CreateTableOptions): Promise<LoadedTable> {
    const { base, ns } = await this.route();
    const properties = { ...options.properties };
    if (options.formatVersion !== undefined) properties['format-version'] = String(options.formatVersion);
    const body = {
      name: identifier.name,
      ...(options.location !== undefined ? { location: options.location } : {}),
      schema: options.schema,
      ...(options.partitionSpec ? { 'partition-spec': options.partitionSpec } : {}),
      ...(options.sortOrder ? { 'write-order': options.sortOrder } : {}),
      'stage-create': false,
      properties,
    };
    const what = `table ${formatTableIdentifier(identifier)}`;
    const answer = await this.send({ method: 'POST', path: `${base}/namespaces/${ns(identifier.namespace)}/tables`, body, op: 'create-table', what });
    return this.loaded(identifier, answer.json, 'CreateTableResponse');
  }

  async loadTable(identifier: TableIdentifier): Promise<LoadedTable> {
    const { base, ns } = await this.route();
    const what = `table ${formatTableIdentifier(identifier)}`;
    const answer = await this.send({ method: 'GET', path: this.tablePath(base, ns, identifier), op: 'load-table', what });
    return this.loaded(identifier, answer.json, 'LoadTableResult');
  }

  async tableExists(identifier: TableIdentifier): Promise<boolean> {
    const { base, ns, cfg } = await this.route();
    const head = cfg.endpoints.has(HEAD_TABLE_ENDPOINT);
    try {
      await this.send({ method: head ? 'HEAD' : 'GET', path: this.tablePath(base, ns, identifier), op: 'table-exists', what: `table ${formatTableIdentifier(identifier)}` });
      return true;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'NO_SUCH_TABLE' || code === 'NO_SUCH_NAMESPACE') return false;
      throw e;
    }
  }

  async dropTable(identifier: TableIdentifier, options: DropTableOptions = {}): Promise<void> {
    const { base, ns } = await this.route();
    await this.send({
      method: 'DELETE',
      path: this.tablePath(base, ns, identifier),
      query: options.purge ? { purgeRequested: 'true' } : {},
      op: 'drop-table',
      what: `table ${formatTableIdentifier(identifier)}`,
    });    this.storage.forget(identifier);
  }

  async renameTable(from: TableIdentifier, to: TableIdentifier): Promise<void> {
    const { base } = await this.route();
    await this.send({
      method: 'POST',
      path: `${base}/tables/rename`,
      body: { source: { namespace: from.namespace, name: from.name }, destination: { namespace: to.namespace, name: to.name } },
      op: 'rename-table',
      what: `table ${formatTableIdentifier(from)} (rename to ${formatTableIdentifier(to)})`,
    });    // A table's settings may depend on its name (credentials scoped to a path): learnt anew.
    this.storage.forget(from);
    this.storage.forget(to);
  }

  async registerTable(identifier: TableIdentifier, metadataLocation: string): Promise<LoadedTable> {
    const { base, ns } = await this.route();
    const answer = await this.send({
      method: 'POST',
      path: `${base}/namespaces/${ns(identifier.namespace)}/register`,
      body: { name: identifier.name, 'metadata-location': metadataLocation },
      op: 'register-table',
      what: `table ${formatTableIdentifier(identifier)}`,
    });
    return this.loaded(identifier, answer.json, 'LoadTableResult');
  }

  async commitTable(identifier: TableIdentifier, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable> {
    const { base, ns } = await this.route();
    const answer = await this.send({
      method: 'POST',
      path: this.tablePath(base, ns, identifier),
      body: { identifier: { namespace: identifier.namespace, name: identifier.name }, requirements, updates },
      op: 'commit',
      what: `table ${formatTableIdentifier(identifier)}`,
    });
    let parsed: ReturnType<RestCatalog['parseTable']>;
    let vended: LoadedTable | undefined;
    try {
      parsed = this.parseTable(identifier, answer.json, 'CommitTableResponse');
      // Settings a server does send with the commit are taken as a load's (checked here too).
      if (vendsStorage(parsed.storage)) vended = this.withIO(parsed.table, parsed.storage);
    } catch (e) {
      // The server accepted the commit; what it answered cannot be read.
      throw new CommitStateUnknownError(
        `catalog: rest: table ${formatTableIdentifier(identifier)}: commit answered 200 but the response is unreadable; reload the table: ${(e as Error).message}`,
        { cause: e },
      );
    }
    if (vended !== undefined) {
      this.storage.remember(identifier, parsed.storage);
      return vended;
    }
    // A CommitTableResponse has no storage settings (the spec's shape): the table keeps those of
    // its last load, else this client has loaded none and a load learns them (vended credentials).
    const known = this.storage.recall(identifier);
    if (known !== undefined) return this.withIO(parsed.table, known);
    try {
      return { ...parsed.table, io: (await this.loadTable(identifier)).io };
    } catch {
      // The commit is done: the table gets the FileIO of a table loaded without settings.
      return this.withIO(parsed.table, parsed.storage);
    }
  }

  /** Nothing to release: requests hold no connection between calls. */
  async close(): Promise<void> {}
}
