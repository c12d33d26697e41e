/**
 * floe's REST catalog server against the attacks of issue 12, each sent as an attacker would send
 * it: raw HTTP over a socket to a server on 127.0.0.1, with the headers a web page, a DNS
 * rebinding page or a hostile client puts there. Every test checks the refusal (status, the
 * spec's error body) and that nothing happened (no namespace created, no file read, deleted or
 * written outside the warehouse).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { writeManifest } from '../../src/iceberg/avro/manifest.js';
import { writeManifestList } from '../../src/iceberg/avro/manifest-list.js';
import { EntryStatus, FileContent, ManifestContent } from '../../src/iceberg/manifest-types.js';

let dir: string;
let warehouse: string;
let backing: SqlCatalog;
const servers: RestCatalogServer[] = [];
const logged: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-security-'));
  warehouse = join(dir, 'warehouse');
  await mkdir(warehouse, { recursive: true });
  // As `floe catalog serve` lays it out: the catalog database inside the warehouse.
  backing = new SqlCatalog({ name: 'floe', uri: join(warehouse, 'catalog.db'), warehouse });
});

after(async () => {
  for (const s of servers) await s.close();
  await backing.close();
  await rm(dir, { recursive: true, force: true });
});

async function serve(options: Partial<Parameters<typeof startRestCatalogServer>[0]> = {}): Promise<RestCatalogServer> {
  const s = await startRestCatalogServer({ catalog: backing, log: (l) => logged.push(l), ...options });
  servers.push(s);
  return s;
}

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: string;
  json: { error?: { message: string; type: string; code: number } } & Record<string, unknown>;
}

/**
 * Sends one request as raw bytes (every header exactly as given, nothing added) and reads the
 * answer until the server closes the connection.
 */
function raw(server: RestCatalogServer, head: string, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const lines = text.slice(0, split).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      const payload = text.slice(split + 4);
      let json = {};
      try {
        json = payload ? JSON.parse(payload) : {};
      } catch {
        // not JSON: left empty
      }
      resolve({ status: Number(lines[0]!.split(' ')[1]), headers, body: payload, json });
    });
    socket.write(`${head.replace(/\n/g, '\r\n')}\r\n\r\n${body}`);
  });
}

/** A request with the usual headers of a well-behaved client (overridable, or dropped with null). */
function request(server: RestCatalogServer, method: string, path: string, body?: unknown, headers: Record<string, string | null> = {}): Promise<Raw> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const all: Record<string, string | null> = {
    host: `127.0.0.1:${server.port}`,
    connection: 'close',
    ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) } : {}),
    ...headers,
  };
  const lines = Object.entries(all)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}: ${v}`);
  return raw(server, [`${method} ${path} HTTP/1.1`, ...lines].join('\n'), text);
}

function assertRefused(a: Raw, status: number, type: string, message?: RegExp): void {
  assert.equal(a.status, status, a.body);
  assert.equal(a.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(a.json), ['error'], a.body);
  assert.equal(a.json.error?.type, type, a.body);
  assert.equal(a.json.error?.code, status);
  if (message) assert.match(a.json.error!.message, message);
}

const SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] };
const ns = () => `ns_${randomUUID().slice(0, 8)}`;

async function freshTable(server: RestCatalogServer, headers: Record<string, string> = {}): Promise<{ namespace: string; path: string; location: string }> {
  const namespace = ns();
  assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [namespace] }, headers)).status, 200);
  const created = await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't', schema: SCHEMA }, headers);
  assert.equal(created.status, 200, created.body);
  return { namespace, path: `/v1/namespaces/${namespace}/tables/t`, location: (created.json.metadata as { location: string }).location };
}

const snapshot = (id: number, manifestList: string) => ({
  requirements: [],
  updates: [
    {
      action: 'add-snapshot',
      snapshot: { 'snapshot-id': id, 'sequence-number': 1, 'timestamp-ms': Date.now(), 'manifest-list': manifestList, summary: { operation: 'append' }, 'schema-id': 0 },
    },
    { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': id },
  ],
});

describe('REST server: authentication', () => {
  it('requires the bearer token when it has one: 401 with the spec body and WWW-Authenticate', async () => {
    const server = await serve({ token: 's3cret-token' });
    const none = await request(server, 'GET', '/v1/config');
    assertRefused(none, 401, 'NotAuthorizedException', /requires a bearer token/);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="floe"');
    const wrong = await request(server, 'GET', '/v1/namespaces', undefined, { authorization: 'Bearer s3cret-tokem' });
    assertRefused(wrong, 401, 'NotAuthorizedException', /invalid bearer token/);
    assert.match(wrong.headers['www-authenticate']!, /^Bearer realm="floe", error="invalid_token"$/);
    // A prefix of the token, the token as Basic credentials or in the query: all refused.
    assertRefused(await request(server, 'GET', '/v1/namespaces', undefined, { authorization: 'Bearer s3cret' }), 401, 'NotAuthorizedException');
    assertRefused(
      await request(server, 'GET', '/v1/namespaces', undefined, { authorization: `Basic ${Buffer.from('x:s3cret-token').toString('base64')}` }),
      401,
      'NotAuthorizedException',
    );
    assertRefused(await request(server, 'GET', '/v1/namespaces?token=s3cret-token'), 401, 'NotAuthorizedException');
    // Refused before the body is looked at: the namespace was not created.
    const name = ns();
    assertRefused(await request(server, 'POST', '/v1/namespaces', { namespace: [name] }), 401, 'NotAuthorizedException');
    assert.equal(await backing.namespaceExists([name]), false);

    assert.equal((await request(server, 'GET', '/v1/config', undefined, { authorization: 'Bearer s3cret-token' })).status, 200);
    assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [name] }, { authorization: 'bearer  s3cret-token' })).status, 200);
    assert.equal(await backing.namespaceExists([name]), true);
  });

  it("floe's own client sends the token (auth: bearer), and fails clearly without it", async () => {
    const server = await serve({ token: 'tok-123' });
    const name = ns();
    await new RestCatalog({ uri: server.url, auth: { type: 'bearer', token: 'tok-123' } }).createNamespace([name]);
    assert.equal(await backing.namespaceExists([name]), true);
    await assert.rejects(new RestCatalog({ uri: server.url }).listNamespaces(), /not authorized; check the catalog token/);
  });

  it('refuses to listen on a non-loopback address without a token', async () => {
    await assert.rejects(startRestCatalogServer({ catalog: backing, host: '0.0.0.0', port: 0 }), /refusing to listen on 0\.0\.0\.0 without a token/);
    await assert.rejects(startRestCatalogServer({ catalog: backing, host: '::', port: 0 }), /refusing to listen on :: without a token/);
    await assert.rejects(startRestCatalogServer({ catalog: backing, token: 'has space' }), /token must be non-empty printable ASCII/);
  });
});

describe('REST server: requests a web page can send', () => {
  let server: RestCatalogServer;
  before(async () => {
    server = await serve();
  });

  it('refuses bodies that are not declared JSON with 415 (text/plain, forms, no type), before acting', async () => {
    for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', null]) {
      const name = ns();
      const a = await request(server, 'POST', '/v1/namespaces', { namespace: [name] }, { 'content-type': type });
      assertRefused(a, 415, 'UnsupportedMediaTypeException', /must be sent as application\/json/);
      assert.equal(await backing.namespaceExists([name]), false, `no namespace created with content type ${type}`);
    }
    // A DELETE carrying a text body, and a body-less POST without a type, are refused as well.
    const { path } = await freshTable(server);
    assertRefused(await request(server, 'DELETE', path, 'x', { 'content-type': 'text/plain' }), 415, 'UnsupportedMediaTypeException');
    assertRefused(await request(server, 'POST', '/v1/tables/rename', undefined, { 'content-length': '0' }), 415, 'UnsupportedMediaTypeException');
    assert.equal(await backing.tableExists({ namespace: [path.split('/')[3]!], name: 't' }), true);
    const ok = await request(server, 'POST', '/v1/namespaces', { namespace: [ns()] }, { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(ok.status, 200, ok.body);
  });

  it('refuses a foreign Origin with 403, on reads and writes', async () => {
    const name = ns();
    for (const origin of ['http://evil.example', 'null', `http://evil.example:${server.port}`, `https://127.0.0.1:${server.port}`]) {
      assertRefused(await request(server, 'POST', '/v1/namespaces', { namespace: [name] }, { origin }), 403, 'ForbiddenException', /cross-origin/);
      assertRefused(await request(server, 'GET', '/v1/namespaces', undefined, { origin }), 403, 'ForbiddenException');
    }
    assert.equal(await backing.namespaceExists([name]), false);
    assert.equal((await request(server, 'GET', '/v1/namespaces', undefined, { origin: `http://localhost:${server.port}` })).status, 200);
  });

  it('refuses a Host that does not name the server with 403 (DNS rebinding)', async () => {
    const name = ns();
    for (const host of [`evil.example:${server.port}`, 'evil.example', `127.0.0.1:${server.port + 1}`, `127.0.0.1`, `10.0.0.1:${server.port}`]) {
      assertRefused(await request(server, 'POST', '/v1/namespaces', { namespace: [name] }, { host }), 403, 'ForbiddenException', /does not name this server/);
    }
    assert.equal(await backing.namespaceExists([name]), false);
    for (const host of [`localhost:${server.port}`, `LOCALHOST:${server.port}`, `127.0.0.1:${server.port}`, `[::1]:${server.port}`]) {
      assert.equal((await request(server, 'GET', '/v1/config', undefined, { host })).status, 200, host);
    }
  });

  it('accepts the Host names it is told to (a proxy), and any with *', async () => {
    const proxied = await serve({ allowedHosts: ['catalog.internal', 'gw.example:8443'] });
    assert.equal((await request(proxied, 'GET', '/v1/config', undefined, { host: 'catalog.internal' })).status, 200);
    assert.equal((await request(proxied, 'GET', '/v1/config', undefined, { host: 'catalog.internal:443' })).status, 200);
    assert.equal((await request(proxied, 'GET', '/v1/config', undefined, { host: 'gw.example:8443' })).status, 200);
    assertRefused(await request(proxied, 'GET', '/v1/config', undefined, { host: 'gw.example:8444' }), 403, 'ForbiddenException');
    assertRefused(await request(proxied, 'GET', '/v1/config', undefined, { host: 'evil.example' }), 403, 'ForbiddenException');
    const any = await serve({ allowedHosts: ['*'] });
    assert.equal((await request(any, 'GET', '/v1/config', undefined, { host: 'whatever.example' })).status, 200);
  });
});

describe('REST server: names', () => {
  let server: RestCatalogServer;
  before(async () => {
    server = await serve();
  });

  it('refuses table names that are not one plain path segment, and writes nothing', async () => {
    const namespace = ns();
    assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [namespace] })).status, 200);
    const before = await readdir(dir);
    for (const name of ['../../../x', '..', '.', 'a/b', 'a\\b', 'x\u0000y', 'tab\tname', 'del\u007f', '']) {
      const a = await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name, schema: SCHEMA });
      assert.equal(a.status, 400, `${JSON.stringify(name)}: ${a.body}`);
      assert.equal(a.json.error?.type, 'BadRequestException');
    }
    assertRefused(await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: '../../../x', schema: SCHEMA }), 400, 'BadRequestException', /invalid table name "..\/..\/..\/x"/);
    assert.deepEqual(await readdir(dir), before, 'nothing written beside the warehouse');
    assert.deepEqual(await backing.listTables([namespace]), []);
    // In the path too: a name decoded from %2F, and through register and rename.
    assertRefused(await request(server, 'GET', `/v1/namespaces/${namespace}/tables/..%2F..%2Fx`), 400, 'BadRequestException', /invalid table name/);
    assertRefused(
      await request(server, 'POST', `/v1/namespaces/${namespace}/register`, { name: '..', 'metadata-location': join(warehouse, 'x.metadata.json') }),
      400,
      'BadRequestException',
      /invalid table name/,
    );
    const { namespace: other } = await freshTable(server);
    assertRefused(
      await request(server, 'POST', '/v1/tables/rename', { source: { namespace: [other], name: 't' }, destination: { namespace: [other], name: '../t2' } }),
      400,
      'BadRequestException',
      /invalid table name/,
    );
    assert.equal(await backing.tableExists({ namespace: [other], name: 't' }), true);
  });

  it('refuses namespace levels with / \\ .. or control characters, in bodies, paths and parent', async () => {
    const before = await readdir(warehouse);
    for (const namespace of [['a/b'], ['..'], ['ok', '..'], ['a\\b'], ['x\ny'], ['.']]) {
      assertRefused(await request(server, 'POST', '/v1/namespaces', { namespace }), 400, 'BadRequestException', /invalid namespace/);
    }
    assertRefused(await request(server, 'GET', '/v1/namespaces/a%2Fb'), 400, 'BadRequestException', /invalid namespace/);
    assertRefused(await request(server, 'POST', '/v1/namespaces/ok%1F..%1F..%1Fx/tables', { name: 't', schema: SCHEMA }), 400, 'BadRequestException', /invalid namespace/);
    assertRefused(await request(server, 'GET', `/v1/namespaces?parent=${encodeURIComponent('a\u001f..')}`), 400, 'BadRequestException', /invalid namespace/);
    assert.deepEqual(await readdir(warehouse), before);
  });
});

describe('REST server: locations stay inside the warehouse', () => {
  let server: RestCatalogServer;
  let victimDir: string;
  before(async () => {
    server = await serve();
    victimDir = join(dir, 'victim');
    await mkdir(victimDir, { recursive: true });
  });

  async function victim(name: string): Promise<string> {
    const p = join(victimDir, name);
    await writeFile(p, 'precious');
    return p;
  }

  it('refuses a commit naming a manifest list, manifest or statistics file outside the warehouse (400), and a drop with purge leaves them', async () => {
    const { path, namespace } = await freshTable(server);
    const list = await victim('list.avro');
    const stats = await victim('stats.puffin');
    const escaped = `${warehouse}/${namespace}/t/../../../victim/list.avro`;
    assertRefused(await request(server, 'POST', path, snapshot(101, list)), 400, 'BadRequestException', /manifest list of snapshot 101 .* refused: it is not inside the warehouse/);
    assertRefused(await request(server, 'POST', path, snapshot(102, `file://${list}`)), 400, 'BadRequestException', /not inside the warehouse/);
    assertRefused(await request(server, 'POST', path, snapshot(103, escaped)), 400, 'BadRequestException', /'\.' or '\.\.' segment/);
    assertRefused(await request(server, 'POST', path, snapshot(104, 's3://other-bucket/list.avro')), 400, 'BadRequestException', /not inside the warehouse/);
    assertRefused(
      await request(server, 'POST', path, {
        requirements: [],
        updates: [{ action: 'set-statistics', 'snapshot-id': 1, statistics: { 'snapshot-id': 1, 'statistics-path': stats, 'file-size-in-bytes': 8, 'file-footer-size-in-bytes': 4, 'blob-metadata': [] } }],
      }),
      400,
      'BadRequestException',
      /statistics file .* refused/,
    );
    assertRefused(
      await request(server, 'POST', path, {
        requirements: [],
        updates: [{ action: 'set-partition-statistics', 'partition-statistics': { 'snapshot-id': 1, 'statistics-path': stats, 'file-size-in-bytes': 8 } }],
      }),
      400,
      'BadRequestException',
      /partition statistics file .* refused/,
    );
    assertRefused(await request(server, 'POST', path, { requirements: [], updates: [{ action: 'set-location', location: victimDir }] }), 400, 'BadRequestException', /table location/);
    assertRefused(
      await request(server, 'POST', path, { requirements: [], updates: [{ action: 'set-properties', updates: { 'write.metadata.path': victimDir } }] }),
      400,
      'BadRequestException',
      /property write\.metadata\.path/,
    );
    // The same through a transaction.
    assertRefused(
      await request(server, 'POST', '/v1/transactions/commit', { 'table-changes': [{ identifier: { namespace: [namespace], name: 't' }, ...snapshot(105, list) }] }),
      400,
      'BadRequestException',
      /manifest list/,
    );
    const loaded = await backing.loadTable({ namespace: [namespace], name: 't' });
    assert.equal(loaded.metadata.snapshots.length, 0, 'no commit landed');
    assert.equal(loaded.metadata.location, `${warehouse}/${namespace}/t`);

    assert.equal((await request(server, 'DELETE', `${path}?purgeRequested=true`)).status, 204);
    assert.ok(existsSync(list) && existsSync(stats), 'victims untouched');
  });

  it('purges only inside the table: a manifest naming foreign files, and the catalog database as statistics, are left in place', async () => {
    const { path, namespace, location } = await freshTable(server);
    const other = await freshTable(server);
    const otherMetadata = (await backing.loadTable({ namespace: [other.namespace], name: 't' })).metadataLocation;
    const outside = await victim('data.parquet');
    const own = `${location}/data/own.parquet`;
    await mkdir(`${location}/data`, { recursive: true });
    await writeFile(own, 'x');
    // What a hostile client writes to storage itself (clients write manifests), then commits.
    const loaded = await backing.loadTable({ namespace: [namespace], name: 't' });
    const entry = (p: string) => ({
      status: EntryStatus.ADDED,
      snapshot_id: 7n,
      sequence_number: 1n,
      file_sequence_number: 1n,
      data_file: { content: FileContent.DATA, file_path: p, file_format: 'PARQUET', partition: [], record_count: 1, file_size_in_bytes: 1 },
    });
    const manifest = writeManifest({
      formatVersion: 2,
      spec: loaded.metadata['partition-specs'][0]!,
      schema: loaded.metadata.schemas[0]!,
      partitionType: { type: 'struct', fields: [] },
      content: 'data',
      entries: [entry(own), entry(outside), entry(otherMetadata), entry(join(warehouse, 'catalog.db'))],
      snapshotId: 7n,
    });
    const manifestPath = `${location}/metadata/m-7.avro`;
    const listPath = `${location}/metadata/snap-7.avro`;
    await writeFile(manifestPath, manifest);
    const m = {
      manifest_path: manifestPath,
      manifest_length: manifest.length,
      partition_spec_id: 0,
      content: ManifestContent.DATA,
      sequence_number: 1n,
      min_sequence_number: 1n,
      added_snapshot_id: 7n,
      added_files_count: 4,
      existing_files_count: 0,
      deleted_files_count: 0,
      added_rows_count: 4,
      existing_rows_count: 0,
      deleted_rows_count: 0,
    };
    await writeFile(listPath, writeManifestList({ formatVersion: 2, snapshotId: 7n, sequenceNumber: 1n, manifests: [m] }));
    assert.equal((await request(server, 'POST', path, snapshot(7, listPath))).status, 200);
    // Statistics inside the warehouse but outside the table: the catalog database itself.
    const stats = await request(server, 'POST', path, {
      requirements: [],
      updates: [{ action: 'set-statistics', 'snapshot-id': 7, statistics: { 'snapshot-id': 7, 'statistics-path': join(warehouse, 'catalog.db'), 'file-size-in-bytes': 8, 'file-footer-size-in-bytes': 4, 'blob-metadata': [] } }],
    });
    assert.equal(stats.status, 200, stats.body);

    logged.length = 0;
    const dropped = await request(server, 'DELETE', `${path}?purgeRequested=true`);
    assert.equal(dropped.status, 204, dropped.body);
    assert.equal(existsSync(own), false, "the table's own data file is purged");
    assert.equal(existsSync(manifestPath) || existsSync(listPath), false, 'its manifest and manifest list too');
    assert.equal(existsSync(outside), true, 'a file outside the warehouse is left');
    assert.equal(existsSync(otherMetadata), true, "another table's metadata is left");
    assert.equal(existsSync(join(warehouse, 'catalog.db')), true, 'the catalog database is left');
    assert.equal((await backing.loadTable({ namespace: [other.namespace], name: 't' })).metadataLocation, otherMetadata);
    // Left: the data file outside the warehouse, the other table's metadata file, and the catalog
    // database (named as a data file and as statistics).
    assert.match(logged.join('\n'), /purge of .*\.t: left 4 file\(s\) outside the table's location in place/);
  });

  it('register never reads outside the warehouse: /etc/passwd and a missing file get the same answer', async () => {
    const namespace = ns();
    assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [namespace] })).status, 200);
    const register = (loc: string) => request(server, 'POST', `/v1/namespaces/${namespace}/register`, { name: 'r', 'metadata-location': loc });
    const passwd = await register('/etc/passwd');
    assertRefused(passwd, 400, 'BadRequestException', /^catalog: rest: metadata-location '\/etc\/passwd' refused: it is not inside the warehouse /);
    const missing = await register('/etc/no-such-file-here');
    assert.equal(missing.status, passwd.status);
    assert.equal(missing.json.error?.message.replace('/etc/no-such-file-here', '/etc/passwd'), passwd.json.error?.message);
    assert.doesNotMatch(passwd.body, /root|Unexpected|position|JSON/);
    for (const loc of [`file:///etc/passwd`, `${warehouse}/../../../etc/passwd`, `${warehouse}/x/../../etc/passwd.metadata.json`]) {
      assert.equal((await register(loc)).status, 400, loc);
    }
    // Inside the warehouse, only files named like metadata are read: not the catalog database.
    assertRefused(await register(join(warehouse, 'catalog.db')), 400, 'BadRequestException', /not a table metadata file/);
    assert.equal(await backing.tableExists({ namespace: [namespace], name: 'r' }), false);
  });

  it('refuses table and namespace locations outside the warehouse, unless started to allow them', async () => {
    const namespace = ns();
    const outside = join(dir, 'elsewhere');
    assertRefused(await request(server, 'POST', '/v1/namespaces', { namespace: [namespace], properties: { location: outside } }), 400, 'BadRequestException', /namespace location/);
    assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [namespace] })).status, 200);
    assertRefused(await request(server, 'POST', `/v1/namespaces/${namespace}/properties`, { removals: [], updates: { location: '/etc' } }), 400, 'BadRequestException', /namespace location/);
    for (const location of [outside, '/', warehouse, `${warehouse}/`, `file://${warehouse}`, 'relative/dir', `${warehouse}/a/../../x`, 's3://bucket/t']) {
      const a = await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't', schema: SCHEMA, location });
      assertRefused(a, 400, 'BadRequestException', /table location .* refused/);
      const staged = await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't', schema: SCHEMA, location, 'stage-create': true });
      assertRefused(staged, 400, 'BadRequestException', /table location .* refused/);
    }
    assertRefused(
      await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't', schema: SCHEMA, properties: { 'write.data.path': outside } }),
      400,
      'BadRequestException',
      /write\.data\.path/,
    );
    assert.equal(existsSync(outside), false);
    const inside = await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't', schema: SCHEMA, location: `${warehouse}/custom/t` });
    assert.equal(inside.status, 200, inside.body);
    const viaUri = await request(server, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 't2', schema: SCHEMA, location: `file://${warehouse}/custom/t2` });
    assert.equal(viaUri.status, 200, viaUri.body);

    const open = await serve({ allowExternalLocations: true });
    const created = await request(open, 'POST', `/v1/namespaces/${namespace}/tables`, { name: 'ext', schema: SCHEMA, location: outside });
    assert.equal(created.status, 200, created.body);
    assert.equal(existsSync(join(outside, 'metadata')), true);
    // Names stay checked even then.
    assertRefused(await request(open, 'POST', `/v1/namespaces/${namespace}/tables`, { name: '..', schema: SCHEMA }), 400, 'BadRequestException');
  });

  it('a server bound to an S3 warehouse compares bucket and prefix', async () => {
    const { LocationPolicy, locationInside } = await import('../../src/catalog/rest/rest-server-locations.js');
    assert.equal(locationInside('s3://bucket/wh', 's3://bucket/wh/db/t'), true);
    assert.equal(locationInside('s3://bucket/wh', 's3a://bucket/wh/db/t'), true);
    assert.equal(locationInside('s3://bucket/wh', 's3://bucket/wh2/db/t'), false);
    assert.equal(locationInside('s3://bucket/wh', 's3://bucket2/wh/db/t'), false);
    assert.equal(locationInside('s3://bucket/wh', 's3://bucket/wh'), false);
    assert.equal(locationInside('s3://bucket/wh', 's3://bucket/wh/../x'), false);
    assert.equal(locationInside('s3://bucket/wh', '/bucket/wh/x'), false);
    assert.equal(locationInside('/data/wh', 'file:/data/wh/x'), true);
    assert.equal(locationInside('/data/wh', 'file://localhost/data/wh/x'), true);
    assert.equal(locationInside('/data/wh', 'file://evil/data/wh/x'), false);
    assert.equal(locationInside('/data/wh', '/data/wh-other/x'), false);
    const policy = new LocationPolicy({ warehouse: 's3://bucket/wh', allowExternal: false });
    assert.throws(() => policy.check('s3://bucket/other/t', 'table location'), /not inside the warehouse s3:\/\/bucket\/wh/);
    policy.check('s3://bucket/wh/db/t', 'table location');
  });
});

describe('REST server: request bodies', () => {
  it('caps the bytes of bodies in flight over all requests (429 + Retry-After), besides the per-request cap (413)', async () => {
    const server = await serve({ maxBodyBytes: 1_000_000, maxInFlightBodyBytes: 1_500_000 });
    const host = `127.0.0.1:${server.port}`;
    assertRefused(
      await raw(server, `POST /v1/namespaces HTTP/1.1\nhost: ${host}\ncontent-type: application/json\ncontent-length: 1000001\nconnection: close`),
      413,
      'RequestTooLargeException',
    );

    // One slow client holds 900 KB of a 1 MB body...
    const slow = connect(server.port, '127.0.0.1');
    const slowAnswer = new Promise<string>((resolve) => {
      let text = '';
      slow.on('data', (c) => (text += c.toString()));
      slow.on('end', () => resolve(text));
    });
    slow.write(`POST /v1/namespaces HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\nconnection: close\r\n\r\n`);
    slow.write(' '.repeat(900_000));
    for (let i = 0; i < 200 && server.bodyBytesInFlight < 900_000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.bodyBytesInFlight, 900_000);
    // ...so another 1 MB body is refused at once, declared or chunked.
    const busy = await raw(server, `POST /v1/namespaces HTTP/1.1\nhost: ${host}\ncontent-type: application/json\ncontent-length: 1000000\nconnection: close`);
    assertRefused(busy, 429, 'TooManyRequestsException', /in flight exceed 1500000 bytes/);
    assert.equal(busy.headers['retry-after'], '1');
    const chunk = ' '.repeat(700_000);
    const chunked = await raw(
      server,
      `POST /v1/namespaces HTTP/1.1\nhost: ${host}\ncontent-type: application/json\ntransfer-encoding: chunked\nconnection: close`,
      `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assertRefused(chunked, 429, 'TooManyRequestsException');
    // A small request still passes.
    const name = ns();
    assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [name] })).status, 200);

    slow.end(`${' '.repeat(99_998 - 22)}{"namespace":["slow"]}  `);
    assert.match(await slowAnswer, /^HTTP\/1\.1 200/);
    for (let i = 0; i < 100 && server.bodyBytesInFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.bodyBytesInFlight, 0, 'released after the answers');
    assert.equal((await request(server, 'POST', '/v1/namespaces', { namespace: [ns()], properties: { pad: ' '.repeat(900_000) } })).status, 200);
  });
});
