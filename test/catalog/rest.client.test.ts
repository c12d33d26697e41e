/**
 * The REST catalog client's error model and retries, against floe's REST server behind a
 * fault-injecting proxy on 127.0.0.1: commits whose outcome cannot be known are never retried and
 * fail with CommitStateUnknownError, reads are retried, and each answer maps to the floe error the
 * spec's status and type call for. Also: configuration precedence, pagination, the HEAD fallback,
 * and `openCatalog` for http(s) URIs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { TableIdentifier } from '../../src/catalog/catalog.js';
import { openCatalog } from '../../src/catalog/open.js';
import { RestCatalog, type RestCatalogOptions } from '../../src/catalog/rest/rest-catalog.js';
import { decodeNamespace, encodeNamespace, namespaceQueryValue, parseNamespaceQueryValue } from '../../src/catalog/rest/rest-paths.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import {
  AlreadyExistsError,
  CommitConflictError,
  CommitStateUnknownError,
  FloeError,
  NoSuchNamespaceError,
  NoSuchTableError,
  UnsupportedError,
  ValidationError,
} from '../../src/errors.js';
import type { Schema } from '../../src/iceberg/types.js';
import { startFaultProxy, type FaultProxy, type RecordedRequest } from '../io/fault-proxy.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] };

let dir: string;
let backing: SqlCatalog;
let server: RestCatalogServer;
let proxy: FaultProxy;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-client-'));
  backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'warehouse') });
  server = await startRestCatalogServer({ catalog: backing, prefix: 'p1' });
  proxy = await startFaultProxy(server.url);
});

afterEach(() => proxy.setRule(undefined));

after(async () => {
  await proxy.close();
  await server.close();
  await backing.close();
  await rm(dir, { recursive: true, force: true });
});

function client(options: Partial<RestCatalogOptions> = {}): RestCatalog {
  return new RestCatalog({ uri: proxy.url, retry: { baseDelayMs: 1, maxDelayMs: 10 }, ...options });
}

async function freshTable(): Promise<TableIdentifier> {
  const id = { namespace: [`c_${randomUUID().slice(0, 8)}`], name: 't' };
  await backing.createNamespace(id.namespace);
  await backing.createTable(id, { schema: SCHEMA });
  return id;
}

const isCommit = (r: RecordedRequest) => r.method === 'POST' && /\/tables\/t$/.test(r.url);
const isLoad = (r: RecordedRequest) => r.method === 'GET' && /\/tables\/t$/.test(r.url);
const errorBody = (type: string, code: number) => JSON.stringify({ error: { message: `injected ${type}`, type, code } });

/** A port nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function count(from: number, match: (r: RecordedRequest) => boolean): number {
  return proxy.requests.slice(from).filter(match).length;
}

describe('REST client: commits', () => {
  const setProps = (c: RestCatalog, id: TableIdentifier) => c.commitTable(id, [], [{ action: 'set-properties', updates: { k: randomUUID() } }]);

  for (const status of [500, 502, 503, 504]) {
    it(`fails a commit answered ${status} with CommitStateUnknownError, without retrying`, async () => {
      const id = await freshTable();
      const c = client();
      await c.loadTable(id);
      proxy.setRule((r) => (isCommit(r) ? { kind: 'respond', status, body: errorBody(status === 500 ? 'CommitStateUnknownException' : 'ServiceUnavailableException', status), contentType: 'application/json' } : undefined));
      const from = proxy.requests.length;
      await assert.rejects(setProps(c, id), (e: unknown) => {
        assert.ok(e instanceof CommitStateUnknownError, String(e));
        assert.match(e.message, new RegExp(`^catalog: rest: table ${id.namespace[0]}\\.t: commit outcome unknown; reload the table.*\\(HTTP ${status}`));
        return true;
      });
      assert.equal(count(from, isCommit), 1);
    });
  }

  it('fails a commit whose connection dropped with CommitStateUnknownError (it may have landed)', async () => {
    const id = await freshTable();
    const c = client();
    const before = await c.loadTable(id);
    proxy.setRule((r) => (isCommit(r) ? { kind: 'drop-after' } : undefined));
    const from = proxy.requests.length;
    await assert.rejects(setProps(c, id), CommitStateUnknownError);
    assert.equal(count(from, isCommit), 1);
    proxy.setRule(undefined);
    const after = await c.loadTable(id);
    assert.notEqual(after.metadataLocation, before.metadataLocation, 'the commit had in fact landed: only a reload can tell');
  });

  it('fails a commit that times out with CommitStateUnknownError', async () => {
    const id = await freshTable();
    const c = client({ timeoutMs: 300 });
    await c.loadTable(id);
    proxy.setRule((r) => (isCommit(r) ? { kind: 'delay', ms: 1500 } : undefined));
    await assert.rejects(setProps(c, id), (e: unknown) => e instanceof CommitStateUnknownError && /timed out/.test(e.message));
  });

  it('maps 409 to CommitConflictError and 400 to ValidationError', async () => {
    const id = await freshTable();
    const c = client();
    await assert.rejects(c.commitTable(id, [{ type: 'assert-table-uuid', uuid: randomUUID() }], []), CommitConflictError);
    await assert.rejects(c.commitTable(id, [], [{ action: 'set-current-schema', 'schema-id': 7 }]), (e: unknown) => {
      assert.ok(e instanceof ValidationError, String(e));
      assert.match(e.message, /request rejected \(HTTP 400 BadRequestException\): .*unknown schema: 7/);
      return true;
    });
    await assert.rejects(c.commitTable({ namespace: id.namespace, name: 'missing' }, [], []), NoSuchTableError);
  });
});

describe('REST client: other calls', () => {
  it('retries reads on 5xx and dropped connections', async () => {
    const id = await freshTable();
    const c = client();
    let n = 0;
    proxy.setRule((r) => (isLoad(r) && n++ < 2 ? { kind: 'respond', status: 503, body: errorBody('SlowDownException', 503), contentType: 'application/json' } : undefined));
    const from = proxy.requests.length;
    await c.loadTable(id);
    assert.equal(count(from, isLoad), 3);
    let m = 0;
    proxy.setRule((r) => (r.method === 'GET' && /\/namespaces$/.test(r.url.split('?')[0]!) && m++ === 0 ? { kind: 'drop-before' } : undefined));
    assert.ok((await c.listNamespaces()).some((ns) => ns[0] === id.namespace[0]));
  });

  it('does not retry other mutations and reports their failures', async () => {
    const c = client();
    await c.listNamespaces();
    proxy.setRule((r) => (r.method === 'POST' ? { kind: 'respond', status: 500, body: errorBody('InternalServerError', 500), contentType: 'application/json' } : undefined));
    const from = proxy.requests.length;
    await assert.rejects(c.createNamespace([`x_${randomUUID().slice(0, 8)}`]), (e: unknown) => {
      assert.ok(e instanceof FloeError && e.code === 'CATALOG' && e.retriable, String(e));
      assert.match(e.message, /request failed \(HTTP 500 InternalServerError\): injected InternalServerError/);
      return true;
    });
    assert.equal(count(from, (r) => r.method === 'POST'), 1);
  });

  it('maps statuses without a known type by operation', async () => {
    const id = await freshTable();
    const c = client();
    await c.loadTable(id);
    const plain = (status: number) => proxy.setRule((r) => (r.url.startsWith('/v1/p1/') ? { kind: 'respond', status, body: 'nope', contentType: 'text/plain' } : undefined));
    plain(404);
    await assert.rejects(c.loadTable(id), NoSuchTableError);
    await assert.rejects(c.loadNamespaceProperties(id.namespace), NoSuchNamespaceError);
    assert.equal(await c.tableExists(id), false);
    plain(409);
    await assert.rejects(c.createNamespace(['dup']), AlreadyExistsError);
    plain(406);
    await assert.rejects(c.renameTable(id, { namespace: id.namespace, name: 'x' }), UnsupportedError);
    plain(401);
    await assert.rejects(c.listTables(id.namespace), (e: unknown) => e instanceof FloeError && e.code === 'AUTH' && /not authorized/.test(e.message));
    plain(403);
    await assert.rejects(c.listTables(id.namespace), (e: unknown) => e instanceof FloeError && e.code === 'AUTH' && /forbidden/.test(e.message));
  });

  it('explains a URI that is not a REST catalog, and an unreachable one', async () => {
    proxy.setRule((r) => (r.url.startsWith('/v1/config') ? { kind: 'respond', status: 404, body: '<html>not here</html>', contentType: 'text/html' } : undefined));
    await assert.rejects(client().listNamespaces(), /not an Iceberg REST catalog endpoint \(GET \/v1\/config not found\)/);
    const port = await freePort();
    const closed = new RestCatalog({ uri: `http://127.0.0.1:${port}`, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } });
    await assert.rejects(closed.listNamespaces(), (e: unknown) => {
      assert.ok(e instanceof FloeError && e.retriable, String(e));
      assert.match(e.message, new RegExp(`^catalog: rest: catalog http://127\\.0\\.0\\.1:${port}: request failed: fetch failed: ECONNREFUSED`));
      return true;
    });
  });
});

describe('REST client: configuration', () => {
  it('applies defaults, client properties and overrides in that order, and pages', async () => {
    // A server config without endpoints: the client must fall back to GET for existence checks.
    proxy.setRule((r) =>
      r.url.startsWith('/v1/config')
        ? {
            kind: 'respond',
            status: 200,
            contentType: 'application/json',
            body: JSON.stringify({ defaults: { prefix: 'wrong', 'rest-page-size': '1' }, overrides: { prefix: 'p1' } }),
          }
        : undefined,
    );
    const c = client({ warehouse: 'wh1', properties: { prefix: 'mine', 'rest-page-size': '2' } });
    const id = await freshTable();
    await backing.createTable({ namespace: id.namespace, name: 'u' }, { schema: SCHEMA });
    await backing.createTable({ namespace: id.namespace, name: 'v' }, { schema: SCHEMA });
    const from = proxy.requests.length;
    assert.deepEqual((await c.listTables(id.namespace)).map((t) => t.name), ['t', 'u', 'v']);
    assert.equal(await c.tableExists(id), true);
    assert.equal(await c.namespaceExists(id.namespace), true);
    const made = proxy.requests.slice(from).map((r) => `${r.method} ${r.url}`);
    assert.match(made[0]!, /^GET \/v1\/config\?warehouse=wh1$/);
    const lists = made.filter((m) => m.includes('/tables?'));
    assert.equal(lists.length, 2, `two pages of two: ${made.join(', ')}`);
    assert.ok(lists.every((m) => m.startsWith('GET /v1/p1/namespaces/') && m.includes('pageSize=2')), made.join(', '));
    assert.ok(!made.some((m) => m.startsWith('HEAD')), 'no HEAD without the endpoint advertised');
    assert.equal((await c.catalogConfig()).prefix, 'p1');
  });

  it('uses HEAD for existence checks when advertised', async () => {
    const id = await freshTable();
    const c = client();
    const from = proxy.requests.length;
    assert.equal(await c.tableExists(id), true);
    assert.equal(await c.namespaceExists(['missing_ns_x']), false);
    const heads = proxy.requests.slice(from).filter((r) => r.method === 'HEAD');
    assert.equal(heads.length, 2);
  });

  it('encodes namespaces with the unit separator', () => {
    assert.equal(encodeNamespace(['a', 'b c', 'd/e']), 'a%1Fb%20c%1Fd%2Fe');
    assert.deepEqual(decodeNamespace('a%1Fb%20c%1fd%2Fe'), ['a', 'b c', 'd/e']);
    assert.deepEqual(decodeNamespace('a%2Eb', '%2E'), ['a', 'b']);
    assert.deepEqual(decodeNamespace('a%1Fb', '%2E'), ['a', 'b'], 'servers accept %1F whatever they advertise');
    assert.equal(namespaceQueryValue(['a', 'b']), 'a\u001fb');
    assert.deepEqual(parseNamespaceQueryValue('a\u001fb'), ['a', 'b']);
    assert.throws(() => encodeNamespace([]), ValidationError);
    assert.throws(() => decodeNamespace('a%1F'), ValidationError);
  });

  it('is what openCatalog returns for http(s) URIs', async () => {
    const c = await openCatalog({ uri: `${server.url}` });
    assert.ok(c instanceof RestCatalog);
    assert.ok(Array.isArray(await c.listNamespaces()));
    assert.throws(() => new RestCatalog({ uri: 'ftp://x' }), /must be http:\/\/ or https:\/\//);
  });
});
