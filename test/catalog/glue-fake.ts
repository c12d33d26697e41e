/**
 * A faithful in-process stand-in for the AWS Glue Data Catalog operations GlueCatalog uses, as a
 * real HTTP server on 127.0.0.1 speaking Glue's wire protocol, so the unmodified
 * `@aws-sdk/client-glue` talks to it (point AWS_ENDPOINT_URL_GLUE or the client's endpoint at it).
 * Test-only code.
 *
 * Facts checked, and where:
 * - Protocol awsJson1_1 (the SDK's service model, `@aws-sdk/client-glue` 3.1143 schemas): `POST /`,
 *   `Content-Type: application/x-amz-json-1.1`, `X-Amz-Target: AWSGlue.<Operation>`; errors are
 *   JSON `{"__type": "<Code>", "Message": "…"}` with status 400 (client) or 500
 *   (InternalServiceException); timestamps are epoch seconds.
 * - Request members (names and nesting) of CreateDatabase, GetDatabase, GetDatabases,
 *   UpdateDatabase, DeleteDatabase, CreateTable, GetTable, GetTables, UpdateTable, DeleteTable,
 *   GetTableVersions: the SDK's service model (`DatabaseInput`, `TableInput`, `StorageDescriptor`,
 *   `Column{Name,Type,Comment,Parameters}`, UpdateTable's `SkipArchive` and `VersionId`).
 * - UpdateTable archives the previous version unless SkipArchive is true (API reference:
 *   "By default, UpdateTable always creates an archived version of the table before updating it").
 * - Table.VersionId is a string; a new table has version "0", each UpdateTable adds one, and an
 *   UpdateTable whose VersionId is not the current one fails with ConcurrentModificationException
 *   ("Update table failed due to concurrent modifications.") and changes nothing (AWS CLI
 *   behaviour as reported in floci-io/floci#1205 and apache/iceberg#8636).
 * - Database and table names are stored in lower case (API reference: "For Hive compatibility,
 *   this name is entirely lowercase").
 * - Missing entities are EntityNotFoundException, duplicates AlreadyExistsException, and
 *   DeleteDatabase deletes the database's tables with it (why Java's GlueCatalog checks for
 *   tables first). Exact messages other than the one above are illustrative.
 * - GetDatabases/GetTables page with MaxResults and an opaque NextToken; the 1–100 range enforced
 *   here is from memory of the API reference, not re-checked.
 *
 * Deliberately stricter than Glue, to catch client mistakes: unknown request members are
 * rejected (ValidationException), and requests must carry a SigV4 Authorization header scoped to
 * the `glue` service.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** One request as the fake received it (for assertions). */
export interface GlueRequest {
  operation: string;
  body: Obj;
  /** The SigV4 credential scope's service (`glue`), if the request was signed. */
  signingService?: string;
}

/** An injected failure for the next calls of an operation. */
export interface GlueFault {
  /** HTTP status to answer with (default 500). */
  status?: number;
  /** Error code (default InternalServiceException). */
  type?: string;
  message?: string;
  /** Apply the operation first, then fail (a response lost after the change). */
  applyFirst?: boolean;
  /** How many calls fail (default 1). */
  times?: number;
}

interface StoredDatabase {
  Name: string;
  Description?: string;
  LocationUri?: string;
  Parameters: Record<string, string>;
  CreateTime: number;
}

interface StoredTable {
  table: Obj;
  version: number;
  archived: Obj[];
}

class GlueApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

// Members each operation accepts (from the SDK's service model).
const REQUEST_MEMBERS: Record<string, string[]> = {
  CreateDatabase: ['CatalogId', 'DatabaseInput', 'Tags'],
  GetDatabase: ['CatalogId', 'Name'],
  GetDatabases: ['CatalogId', 'NextToken', 'MaxResults', 'ResourceShareType', 'AttributesToGet'],
  UpdateDatabase: ['CatalogId', 'Name', 'DatabaseInput'],
  DeleteDatabase: ['CatalogId', 'Name'],
  CreateTable: ['CatalogId', 'DatabaseName', 'Name', 'TableInput', 'PartitionIndexes', 'TransactionId', 'OpenTableFormatInput'],
  GetTable: ['CatalogId', 'DatabaseName', 'Name', 'TransactionId', 'QueryAsOfTime', 'AuditContext', 'IncludeStatusDetails'],
  GetTables: [
    'CatalogId', 'DatabaseName', 'Expression', 'NextToken', 'MaxResults', 'TransactionId', 'QueryAsOfTime',
    'AuditContext', 'IncludeStatusDetails', 'AttributesToGet',
  ],
  UpdateTable: [
    'CatalogId', 'DatabaseName', 'Name', 'TableInput', 'SkipArchive', 'TransactionId', 'VersionId', 'ViewUpdateAction',
    'Force', 'UpdateOpenTableFormatInput',
  ],
  DeleteTable: ['CatalogId', 'DatabaseName', 'Name', 'TransactionId'],
  GetTableVersions: ['CatalogId', 'DatabaseName', 'TableName', 'NextToken', 'MaxResults'],
};
const DATABASE_INPUT_MEMBERS = ['Name', 'Description', 'LocationUri', 'Parameters', 'CreateTableDefaultPermissions', 'TargetDatabase', 'FederatedDatabase'];
const TABLE_INPUT_MEMBERS = [
  'Name', 'Description', 'Owner', 'LastAccessTime', 'LastAnalyzedTime', 'Retention', 'StorageDescriptor', 'PartitionKeys',
  'ViewOriginalText', 'ViewExpandedText', 'TableType', 'Parameters', 'TargetTable', 'FederatedTable', 'ViewDefinition',
];
const STORAGE_DESCRIPTOR_MEMBERS = [
  'Columns', 'Location', 'AdditionalLocations', 'InputFormat', 'OutputFormat', 'Compressed', 'NumberOfBuckets', 'SerdeInfo',
  'BucketColumns', 'SortColumns', 'Parameters', 'SkewedInfo', 'StoredAsSubDirectories', 'SchemaReference',
];
const COLUMN_MEMBERS = ['Name', 'Type', 'Comment', 'Parameters'];

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkMembers(value: unknown, allowed: string[], where: string): Obj {
  if (!isObj(value)) throw new GlueApiError('ValidationException', `1 validation error detected: Value at '${where}' must be a structure`);
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new GlueApiError('ValidationException', `unknown member '${k}' in ${where} (fake Glue is strict)`);
  }
  return value;
}

function requireString(obj: Obj, key: string, where: string, max = 255): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) {
    throw new GlueApiError('ValidationException', `1 validation error detected: Value null at '${where}.${key}' failed to satisfy constraint: Member must not be null`);
  }
  if (v.length > max) throw new GlueApiError('ValidationException', `Value at '${where}.${key}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  return v;
}

function checkParameters(v: Json | undefined, where: string): void {
  if (v === undefined) return;
  if (!isObj(v)) throw new GlueApiError('ValidationException', `${where} must be a map`);
  for (const [k, val] of Object.entries(v)) {
    if (k.length < 1 || k.length > 255) throw new GlueApiError('ValidationException', `${where}: key length must be 1-255`);
    if (typeof val !== 'string' || val.length > 512_000) throw new GlueApiError('ValidationException', `${where}.${k}: value must be a string of at most 512000 characters`);
  }
}

function checkTableInput(input: Json | undefined): Obj {
  const t = checkMembers(input, TABLE_INPUT_MEMBERS, 'tableInput');
  requireString(t, 'Name', 'tableInput');
  checkParameters(t.Parameters, 'tableInput.parameters');
  if (t.StorageDescriptor !== undefined) {
    const sd = checkMembers(t.StorageDescriptor, STORAGE_DESCRIPTOR_MEMBERS, 'tableInput.storageDescriptor');
    if (sd.Columns !== undefined) {
      if (!Array.isArray(sd.Columns)) throw new GlueApiError('ValidationException', 'storageDescriptor.columns must be a list');
      sd.Columns.forEach((c, i) => {
        const col = checkMembers(c, COLUMN_MEMBERS, `tableInput.storageDescriptor.columns.${i + 1}`);
        requireString(col, 'Name', `columns.${i + 1}`);
        if (col.Type !== undefined && (typeof col.Type !== 'string' || col.Type.length > 131_072)) {
          throw new GlueApiError('ValidationException', `columns.${i + 1}.type must be a string of at most 131072 characters`);
        }
        if (col.Comment !== undefined && (typeof col.Comment !== 'string' || col.Comment.length > 255)) {
          throw new GlueApiError('ValidationException', `columns.${i + 1}.comment must be a string of at most 255 characters`);
        }
        checkParameters(col.Parameters, `columns.${i + 1}.parameters`);
      });
    }
  }
  return t;
}

function encodeToken(name: string): string {
  return Buffer.from(JSON.stringify({ after: name }), 'utf8').toString('base64');
}

function decodeToken(token: Json | undefined): string | undefined {
  if (token === undefined || token === null || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), 'base64').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new GlueApiError('InvalidInputException', 'Invalid pagination token');
}

function pageSize(v: Json | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 100) {
    throw new GlueApiError('ValidationException', `Value '${String(v)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100`);
  }
  return Math.min(v, dflt);
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Options of {@link startGlueFake}. */
export interface GlueFakeOptions {
  /** The account (catalog id). Default `123456789012`. */
  accountId?: string;
  /** Largest page GetDatabases/GetTables return (Glue's own is 100). */
  maxPageSize?: number;
}

/** The running fake. */
export class GlueFake {
  /** Every request received, in order. */
  readonly requests: GlueRequest[] = [];
  readonly accountId: string;
  private readonly databases = new Map<string, StoredDatabase>();
  private readonly tables = new Map<string, Map<string, StoredTable>>();
  private readonly faults = new Map<string, GlueFault[]>();
  private readonly hooks = new Map<string, (() => Promise<void>)[]>();
  private readonly maxPageSize: number;
  private server: Server | undefined;
  /** `http://127.0.0.1:<port>` once started. */
  endpoint = '';

  constructor(options: GlueFakeOptions = {}) {
    this.accountId = options.accountId ?? '123456789012';
    this.maxPageSize = options.maxPageSize ?? 100;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Makes the next call(s) of `operation` fail as described. */
  inject(operation: string, fault: GlueFault = {}): void {
    const list = this.faults.get(operation) ?? [];
    list.push({ times: 1, ...fault });
    this.faults.set(operation, list);
  }

  /**
   * Runs `hook` once, when the next call of `operation` arrives and before it is applied (other
   * requests are served meanwhile): a way to interleave another writer at an exact point.
   */
  beforeNext(operation: string, hook: () => Promise<void>): void {
    const list = this.hooks.get(operation) ?? [];
    list.push(hook);
    this.hooks.set(operation, list);
  }

  /** Requests of one operation. */
  requestsOf(operation: string): GlueRequest[] {
    return this.requests.filter((r) => r.operation === operation);
  }

  /** The stored Glue table (as GetTable returns it), or undefined. */
  table(database: string, name: string): Obj | undefined {
    const t = this.tables.get(database.toLowerCase())?.get(name.toLowerCase());
    return t ? clone(this.render(database.toLowerCase(), t)) : undefined;
  }

  /** The archived versions of a table (what UpdateTable without SkipArchive keeps). */
  archivedVersions(database: string, name: string): number {
    return this.tables.get(database.toLowerCase())?.get(name.toLowerCase())?.archived.length ?? 0;
  }

  /** Puts a table directly (e.g. a non-Iceberg Hive table), bypassing the API. */
  putRawTable(database: string, input: Record<string, unknown>): void {
    const db = database.toLowerCase();
    if (!this.databases.has(db)) throw new Error(`fake glue: no database ${db}`);
    const name = String(input.Name).toLowerCase();
    const now = Date.now() / 1000;
    this.tableMap(db).set(name, { table: { ...(clone(input) as Obj), Name: name, CreateTime: now, UpdateTime: now }, version: 0, archived: [] });
  }

  // -------------------------------------------------------------------------------------------

  private tableMap(db: string): Map<string, StoredTable> {
    let m = this.tables.get(db);
    if (!m) {
      m = new Map();
      this.tables.set(db, m);
    }
    return m;
  }

  private render(db: string, t: StoredTable): Obj {
    return {
      ...t.table,
      DatabaseName: db,
      CatalogId: this.accountId,
      VersionId: String(t.version),
      IsRegisteredWithLakeFormation: false,
      CreatedBy: `arn:aws:iam::${this.accountId}:user/floe-test`,
    };
  }

  private renderDb(d: StoredDatabase): Obj {
    return {
      Name: d.Name,
      ...(d.Description !== undefined ? { Description: d.Description } : {}),
      ...(d.LocationUri !== undefined ? { LocationUri: d.LocationUri } : {}),
      Parameters: { ...d.Parameters },
      CreateTime: d.CreateTime,
      CatalogId: this.accountId,
      CreateTableDefaultPermissions: [],
    };
  }

  private checkCatalog(body: Obj): void {
    if (body.CatalogId !== undefined && body.CatalogId !== this.accountId) {
      throw new GlueApiError('AccessDeniedException', `User is not authorized to access catalog ${String(body.CatalogId)}`);
    }
  }

  private requireDb(name: string): StoredDatabase {
    const d = this.databases.get(name.toLowerCase());
    if (!d) throw new GlueApiError('EntityNotFoundException', `Database ${name} not found.`);
    return d;
  }

  private requireTable(db: string, name: string): StoredTable {
    this.requireDb(db);
    const t = this.tables.get(db.toLowerCase())?.get(name.toLowerCase());
    if (!t) throw new GlueApiError('EntityNotFoundException', `Table ${name} not found.`);
    return t;
  }

  private apply(op: string, body: Obj): Obj {
    const members = REQUEST_MEMBERS[op];
    if (!members) throw new GlueApiError('UnknownOperationException', `fake glue: operation ${op} is not implemented`);
    checkMembers(body, members, op);
    this.checkCatalog(body);
    const now = Date.now() / 1000;
    switch (op) {
      case 'CreateDatabase': {
        const input = checkMembers(body.DatabaseInput, DATABASE_INPUT_MEMBERS, 'databaseInput');
        const name = requireString(input, 'Name', 'databaseInput').toLowerCase();
        checkParameters(input.Parameters, 'databaseInput.parameters');
        if (this.databases.has(name)) throw new GlueApiError('AlreadyExistsException', 'Database already exists.');
        this.databases.set(name, {
          Name: name,
          ...(typeof input.Description === 'string' ? { Description: input.Description } : {}),
          ...(typeof input.LocationUri === 'string' ? { LocationUri: input.LocationUri } : {}),
          Parameters: { ...((input.Parameters as Record<string, string> | undefined) ?? {}) },
          CreateTime: now,
        });
        return {};
      }
      case 'GetDatabase':
        return { Database: this.renderDb(this.requireDb(requireString(body, 'Name', 'getDatabaseInput'))) };
      case 'GetDatabases': {
        const size = pageSize(body.MaxResults, this.maxPageSize);
        const after = decodeToken(body.NextToken);
        const names = [...this.databases.keys()].sort().filter((n) => after === undefined || n > after);
        const page = names.slice(0, size);
        return {
          DatabaseList: page.map((n) => this.renderDb(this.databases.get(n)!)),
          ...(names.length > size ? { NextToken: encodeToken(page[page.length - 1]!) } : {}),
        };
      }
      case 'UpdateDatabase': {
        const name = requireString(body, 'Name', 'updateDatabaseInput');
        const input = checkMembers(body.DatabaseInput, DATABASE_INPUT_MEMBERS, 'databaseInput');
        requireString(input, 'Name', 'databaseInput');
        checkParameters(input.Parameters, 'databaseInput.parameters');
        const d = this.requireDb(name);
        // The whole definition is replaced by the input.
        this.databases.set(d.Name, {
          Name: d.Name,
          ...(typeof input.Description === 'string' ? { Description: input.Description } : {}),
          ...(typeof input.LocationUri === 'string' ? { LocationUri: input.LocationUri } : {}),
          Parameters: { ...((input.Parameters as Record<string, string> | undefined) ?? {}) },
          CreateTime: d.CreateTime,
        });
        return {};
      }
      case 'DeleteDatabase': {
        const d = this.requireDb(requireString(body, 'Name', 'deleteDatabaseInput'));
        this.databases.delete(d.Name);
        this.tables.delete(d.Name); // Glue deletes the database's tables with it
        return {};
      }
      case 'CreateTable': {
        const db = this.requireDb(requireString(body, 'DatabaseName', 'createTableInput'));
        const input = checkTableInput(body.TableInput);
        const name = String(input.Name).toLowerCase();
        const tables = this.tableMap(db.Name);
        if (tables.has(name)) throw new GlueApiError('AlreadyExistsException', 'Table already exists.');
        tables.set(name, { table: { ...clone(input), Name: name, CreateTime: now, UpdateTime: now }, version: 0, archived: [] });
        return {};
      }
      case 'GetTable': {
        const db = requireString(body, 'DatabaseName', 'getTableInput');
        const t = this.requireTable(db, requireString(body, 'Name', 'getTableInput'));
        return { Table: this.render(db.toLowerCase(), t) };
      }
      case 'GetTables': {
        const db = this.requireDb(requireString(body, 'DatabaseName', 'getTablesInput'));
        const size = pageSize(body.MaxResults, this.maxPageSize);
        const after = decodeToken(body.NextToken);
        const pattern = typeof body.Expression === 'string' ? new RegExp(`^(?:${body.Expression})$`) : undefined;
        const all = this.tables.get(db.Name) ?? new Map<string, StoredTable>();
        const names = [...all.keys()].sort().filter((n) => (after === undefined || n > after) && (!pattern || pattern.test(n)));
        const page = names.slice(0, size);
        return {
          TableList: page.map((n) => this.render(db.Name, all.get(n)!)),
          ...(names.length > size ? { NextToken: encodeToken(page[page.length - 1]!) } : {}),
        };
      }
      case 'UpdateTable': {
        const dbName = requireString(body, 'DatabaseName', 'updateTableInput');
        const input = checkTableInput(body.TableInput);
        const t = this.requireTable(dbName, String(input.Name));
        if (body.VersionId !== undefined && body.VersionId !== String(t.version)) {
          throw new GlueApiError('ConcurrentModificationException', 'Update table failed due to concurrent modifications.');
        }
        if (body.SkipArchive !== true) t.archived.push(clone({ ...t.table, VersionId: String(t.version) }));
        t.table = { ...clone(input), Name: String(input.Name).toLowerCase(), CreateTime: t.table.CreateTime ?? now, UpdateTime: now };
        t.version += 1;
        return {};
      }
      case 'DeleteTable': {
        const dbName = requireString(body, 'DatabaseName', 'deleteTableInput');
        const name = requireString(body, 'Name', 'deleteTableInput');
        this.requireTable(dbName, name);
        this.tables.get(dbName.toLowerCase())?.delete(name.toLowerCase());
        return {};
      }
      case 'GetTableVersions': {
        const dbName = requireString(body, 'DatabaseName', 'getTableVersionsInput');
        const t = this.requireTable(dbName, requireString(body, 'TableName', 'getTableVersionsInput'));
        const versions = [...t.archived, { ...t.table, VersionId: String(t.version) }].reverse();
        return { TableVersions: versions.map((v) => ({ Table: { ...v, DatabaseName: dbName.toLowerCase() }, VersionId: v.VersionId as string })) };
      }
    }
    throw new GlueApiError('UnknownOperationException', `fake glue: operation ${op} is not implemented`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: Obj, type?: string) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/x-amz-json-1.1',
        'Content-Length': Buffer.byteLength(text),
        'x-amzn-RequestId': randomUUID(),
        ...(type ? { 'x-amzn-ErrorType': type } : {}),
      });
      res.end(text);
    };
    const fail = (e: GlueApiError) => send(e.status, { __type: e.type, Message: e.message }, e.type);
    try {
      const target = req.headers['x-amz-target'];
      const m = typeof target === 'string' ? /^AWSGlue\.(\w+)$/.exec(target) : null;
      if (req.method !== 'POST' || !m) throw new GlueApiError('UnknownOperationException', `bad target ${String(target)}`);
      if (!String(req.headers['content-type'] ?? '').startsWith('application/x-amz-json-1.1')) {
        throw new GlueApiError('SerializationException', `unexpected content type ${String(req.headers['content-type'])}`);
      }
      const auth = String(req.headers.authorization ?? '');
      const scope = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request,/.exec(auth);
      if (!scope) throw new GlueApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      if (scope[1] !== 'glue') throw new GlueApiError('InvalidSignatureException', `Credential should be scoped to correct service: 'glue'`, 403);
      const op = m[1]!;
      const text = Buffer.concat(chunks).toString('utf8');
      let body: Obj;
      try {
        const parsed: unknown = text.length > 0 ? JSON.parse(text) : {};
        if (!isObj(parsed)) throw new Error('not an object');
        body = parsed;
      } catch {
        throw new GlueApiError('SerializationException', 'request body is not a JSON object');
      }
      this.requests.push({ operation: op, body: clone(body), signingService: scope[1] });
      const hook = this.hooks.get(op)?.shift();
      if (hook) await hook();

      const queue = this.faults.get(op);
      const fault = queue?.[0];
      if (fault) {
        fault.times = (fault.times ?? 1) - 1;
        if (fault.times <= 0) queue!.shift();
        if (fault.applyFirst) this.apply(op, body);
        throw new GlueApiError(fault.type ?? 'InternalServiceException', fault.message ?? 'Internal service error (injected)', fault.status ?? 500);
      }
      send(200, this.apply(op, body));
    } catch (e) {
      if (e instanceof GlueApiError) fail(e);
      else fail(new GlueApiError('InternalServiceException', e instanceof Error ? e.message : String(e), 500));
    }
  }
}

/** Starts a fake on 127.0.0.1 (stop it with `stop()`). */
export async function startGlueFake(options: GlueFakeOptions = {}): Promise<GlueFake> {
  return new GlueFake(options).start();
}
