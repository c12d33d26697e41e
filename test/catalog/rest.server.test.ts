/**
 * floe's REST catalog server answers bad requests with the spec's error bodies and statuses and
 * keeps serving; plus the protocol details clients rely on (config, ETags, staged creates,
 * pagination tokens, transactions with one table).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Catalog } from '../../src/catalog/catalog.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { parseJson } from '../../src/iceberg/json.js';

let dir: string;
let backing: SqlCatalog;
let server: RestCatalogServer;
const logged: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-server-'));
  backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'warehouse') });
  server = await startRestCatalogServer({ catalog: backing, maxBodyBytes: 64 * 1024, log: (l) => logged.push(l) });
});

after(async () => {
  await server.close();
  await backing.close();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

async function call(method: string, path: string, body?: string | object, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(server.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? parseJson(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Asserts an IcebergErrorResponse with this status and type. */
function assertError(a: Answer, status: number, type: string, message?: RegExp): void {
  assert.equal(a.status, status, a.text);
  assert.equal(a.headers.get('content-type'), 'application/json');
  const err = (a.json as { error?: { message?: unknown; type?: unknown; code?: unknown } }).error;
  assert.ok(err, `error body expected: ${a.text}`);
  assert.equal(err.type, type, a.text);
  assert.equal(err.code, status);
  assert.equal(typeof err.message, 'string');
  assert.deepEqual(Object.keys(a.json as object), ['error'], 'nothing but the error object');
  if (message) assert.match(err.message as string, message);
}

const SCHEMA = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', type: 'long', required: true }] };

async function freshTable(): Promise<{ ns: string; path: string; uuid: string }> {
  const ns = `ns_${randomUUID().slice(0, 8)}`;
  assert.equal((await call('POST', '/v1/namespaces', { namespace: [ns] })).status, 200);
  const created = await call('POST', `/v1/namespaces/${ns}/tables`, { name: 't', schema: SCHEMA });
  assert.equal(created.status, 200, created.text);
  const uuid = ((created.json as { metadata: { 'table-uuid': string } }).metadata)['table-uuid'];
  return { ns, path: `/v1/namespaces/${ns}/tables/t`, uuid };
}

describe('REST server: bad requests get spec error bodies', () => {
  it('rejects malformed JSON, missing bodies and wrong shapes with 400', async () => {
    assertError(await call('POST', '/v1/namespaces', '{"namespace": ["a"'), 400, 'BadRequestException', /malformed JSON/);
    assertError(await call('POST', '/v1/namespaces', 'not json at all'), 400, 'BadRequestException', /malformed JSON/);
    assertError(await call('POST', '/v1/namespaces'), 400, 'BadRequestException', /needs a JSON request body/);
    assertError(await call('POST', '/v1/namespaces', { namespace: 'flat' }), 400, 'BadRequestException', /CreateNamespaceRequest\.namespace/);
    assertError(await call('POST', '/v1/namespaces', { namespace: ['ok'], properties: { n: 1 } }), 400, 'BadRequestException', /property 'n' must be a string/);
    assertError(await call('POST', '/v1/namespaces', [1, 2]), 400, 'BadRequestException', /expected a JSON object/);
    assertError(await call('GET', '/v1/namespaces/a%ZZ'), 400, 'BadRequestException', /not validly URL-encoded/);
    assertError(await call('GET', '/v1/namespaces?pageToken=&pageSize=0'), 400, 'BadRequestException', /pageSize must be a positive integer/);
    assertError(await call('GET', '/v1/namespaces?pageToken=bogus'), 400, 'BadRequestException', /invalid pageToken/);
  });

  it('rejects unknown requirements and updates in commits with 400', async () => {
    const { path } = await freshTable();
    assertError(await call('POST', path, { requirements: [{ type: 'assert-nothing' }], updates: [] }), 400, 'BadRequestException', /unknown requirement type 'assert-nothing'/);
    assertError(await call('POST', path, { requirements: [], updates: [{ action: 'make-it-fast' }] }), 400, 'BadRequestException', /unknown or unsupported update action 'make-it-fast'/);
    assertError(await call('POST', path, { requirements: [], updates: [{ action: 'set-properties', updates: { a: 1 } }] }), 400, 'BadRequestException');
    assertError(await call('POST', path, { requirements: [], updates: [{ action: 'set-current-schema', 'schema-id': 42 }] }), 400, 'BadRequestException', /unknown schema: 42/);
    assertError(await call('POST', path, { updates: [] }), 400, 'BadRequestException', /'requirements' must be a list/);
    assertError(
      await call('POST', path, { identifier: { namespace: ['other'], name: 't' }, requirements: [], updates: [] }),
      400,
      'BadRequestException',
      /does not match the path's table/,
    );
  });

  it('answers unknown routes 404, wrong methods 405 and unsupported operations 406', async () => {
    assertError(await call('GET', '/v2/config'), 404, 'NotFoundException', /no route for GET \/v2\/config/);
    assertError(await call('GET', '/v1/whatever'), 404, 'NotFoundException');
    assertError(await call('GET', '/v1/namespaces/a/tables/t/snapshots'), 404, 'NotFoundException');
    const wrong = await call('PUT', '/v1/namespaces', { namespace: ['a'] });
    assertError(wrong, 405, 'MethodNotAllowedException');
    assert.equal(wrong.headers.get('allow'), 'GET, POST');
    assertError(await call('DELETE', '/v1/config'), 405, 'MethodNotAllowedException');
    assertError(await call('GET', '/v1/namespaces/a/views'), 406, 'UnsupportedOperationException', /views/);
    assertError(await call('POST', '/v1/oauth/tokens', 'grant_type=client_credentials', { 'content-type': 'application/x-www-form-urlencoded' }), 406, 'UnsupportedOperationException');
    assertError(await call('POST', '/v1/namespaces/a/tables/t/plan', {}), 406, 'UnsupportedOperationException');
  });

  it('maps catalog errors to 404, 409 and 422 with the spec types', async () => {
    const { ns, path } = await freshTable();
    assertError(await call('GET', '/v1/namespaces/missing_ns'), 404, 'NoSuchNamespaceException');
    assertError(await call('GET', `/v1/namespaces/${ns}/tables/missing`), 404, 'NoSuchTableException');
    assertError(await call('GET', '/v1/namespaces?parent=missing_ns'), 404, 'NoSuchNamespaceException');
    assertError(await call('POST', '/v1/namespaces', { namespace: [ns] }), 409, 'AlreadyExistsException');
    assertError(await call('POST', `/v1/namespaces/${ns}/tables`, { name: 't', schema: SCHEMA }), 409, 'AlreadyExistsException');
    assertError(await call('DELETE', `/v1/namespaces/${ns}`), 409, 'NamespaceNotEmptyException');
    assertError(
      await call('POST', path, { requirements: [{ type: 'assert-table-uuid', uuid: randomUUID() }], updates: [] }),
      409,
      'CommitFailedException',
    );
    assertError(await call('POST', `/v1/namespaces/${ns}/properties`, { removals: ['a'], updates: { a: 'b' } }), 422, 'UnprocessableEntityException', /both removed and updated: a/);
    assertError(await call('POST', `/v1/namespaces/${ns}/register`, { name: 'r', 'metadata-location': join(dir, 'warehouse', 'nowhere.metadata.json') }), 404, 'NotFoundException');
    assertError(await call('POST', '/v1/tables/rename', { source: { namespace: [ns], name: 'missing' }, destination: { namespace: [ns], name: 'x' } }), 404, 'NoSuchTableException');
    const head = await call('HEAD', `/v1/namespaces/${ns}/tables/missing`);
    assert.equal(head.status, 404);
    assert.equal(head.text, '');
  });

  it('refuses oversized bodies with 413 and malformed HTTP with 400, and keeps serving', async () => {
    assertError(await call('POST', '/v1/namespaces', { namespace: ['big'], properties: { blob: 'x'.repeat(100 * 1024) } }), 413, 'RequestTooLargeException');
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(server.port, '127.0.0.1');
      let data = '';
      s.on('data', (c) => (data += c.toString()));
      s.on('end', () => resolve(data));
      s.on('error', reject);
      s.write('THIS IS NOT HTTP\r\n\r\n');
    });
    assert.match(raw, /^HTTP\/1\.1 400 Bad Request/);
    assert.match(raw, /"type":"BadRequestException"/);
    assert.equal((await call('GET', '/v1/config')).status, 200);
  });

  it('answers 500 without details when the catalog fails unexpectedly, and survives', async () => {
    const broken = new Proxy(backing, {
      get(target, prop, receiver) {
        if (prop === 'listNamespaces') return () => Promise.reject(new TypeError('boom: secret internals'));
        return Reflect.get(target, prop, receiver);
      },
    }) as Catalog;
    const s = await startRestCatalogServer({ catalog: broken, log: (l) => logged.push(l) });
    try {
      const res = await fetch(`${s.url}/v1/namespaces`);
      const body = (await res.json()) as { error: { message: string; type: string; code: number } };
      assert.equal(res.status, 500);
      assert.deepEqual(body, { error: { message: 'internal server error', type: 'InternalServerError', code: 500 } });
      assert.ok(logged.some((l) => l.includes('boom: secret internals')), 'the cause is logged on the server');
      assert.equal((await fetch(`${s.url}/v1/config`)).status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('REST server: protocol', () => {
  it('advertises its endpoints and prefix in /v1/config', async () => {
    const s = await startRestCatalogServer({ catalog: backing, prefix: 'wh', defaults: { 'rest-page-size': '50' } });
    try {
      const res = await fetch(`${s.url}/v1/config?warehouse=anything`);
      const cfg = (await res.json()) as { defaults: Record<string, string>; overrides: Record<string, string>; endpoints: string[] };
      assert.deepEqual(cfg.overrides, { prefix: 'wh' });
      assert.deepEqual(cfg.defaults, { 'rest-page-size': '50' });
      assert.ok(cfg.endpoints.includes('HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}'));
      assert.ok(!cfg.endpoints.some((e) => e.includes('views')));
      assert.equal((await fetch(`${s.url}/v1/wh/namespaces`)).status, 200);
      const unprefixed = await fetch(`${s.url}/v1/namespaces`);
      assert.equal(unprefixed.status, 404);
      assert.match(await unprefixed.text(), /catalog routes are under \/v1\/wh\//);
    } finally {
      await s.close();
    }
  });

  it('pages listings with opaque tokens', async () => {
    const ns = `pages_${randomUUID().slice(0, 8)}`;
    await call('POST', '/v1/namespaces', { namespace: [ns] });
    for (const t of ['a', 'b', 'c']) assert.equal((await call('POST', `/v1/namespaces/${ns}/tables`, { name: t, schema: SCHEMA })).status, 200);
    const all = await call('GET', `/v1/namespaces/${ns}/tables`);
    assert.deepEqual(all.json, { identifiers: ['a', 'b', 'c'].map((name) => ({ namespace: [ns], name })), 'next-page-token': null });
    const names: string[] = [];
    let token = '';
    for (let i = 0; i < 5; i++) {
      const r = (await call('GET', `/v1/namespaces/${ns}/tables?pageToken=${encodeURIComponent(token)}&pageSize=2`)).json as {
        identifiers: { name: string }[];
        'next-page-token': string | null;
      };
      names.push(...r.identifiers.map((x) => x.name));
      if (r['next-page-token'] === null) break;
      token = r['next-page-token'];
    }
    assert.deepEqual(names, ['a', 'b', 'c']);
  });

  it('serves ETags, 304 and snapshots=refs', async () => {
    const { path } = await freshTable();
    const first = await call('GET', path);
    const etag = first.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(server.url + path, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    await call('POST', path, { requirements: [], updates: [{ action: 'set-properties', updates: { v: '2' } }] });
    const changed = await fetch(server.url + path, { headers: { 'if-none-match': etag } });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.get('etag'), etag);
    const refs = await call('GET', `${path}?snapshots=refs`);
    assert.equal(refs.status, 200);
    assert.notEqual(refs.headers.get('etag'), changed.headers.get('etag'), 'each snapshots mode has its own ETag');
    assertError(await call('GET', `${path}?snapshots=some`), 400, 'BadRequestException');
  });

  it('creates a table through a staged create and an assert-create commit', async () => {
    const ns = `staged_${randomUUID().slice(0, 8)}`;
    await call('POST', '/v1/namespaces', { namespace: [ns] });
    const staged = await call('POST', `/v1/namespaces/${ns}/tables`, { name: 's', schema: SCHEMA, 'stage-create': true, properties: { k: 'v' } });
    assert.equal(staged.status, 200, staged.text);
    const body = staged.json as { 'metadata-location': unknown; metadata: { location: string; 'table-uuid': string } };
    assert.equal(body['metadata-location'], null);
    assert.equal(body.metadata.location, join(dir, 'warehouse', ns, 's'));
    assert.equal(await backing.tableExists({ namespace: [ns], name: 's' }), false, 'a staged create creates nothing');
    const commit = await call('POST', `/v1/namespaces/${ns}/tables/s`, {
      requirements: [{ type: 'assert-create' }],
      updates: [
        { action: 'assign-uuid', uuid: body.metadata['table-uuid'] },
        { action: 'upgrade-format-version', 'format-version': 2 },
        { action: 'add-schema', schema: SCHEMA },
        { action: 'set-current-schema', 'schema-id': -1 },
        { action: 'add-spec', spec: { 'spec-id': 0, fields: [] } },
        { action: 'set-default-spec', 'spec-id': -1 },
        { action: 'add-sort-order', 'sort-order': { 'order-id': 0, fields: [] } },
        { action: 'set-default-sort-order', 'sort-order-id': -1 },
        { action: 'set-location', location: body.metadata.location },
        { action: 'set-properties', updates: { k: 'v' } },
      ],
    });
    assert.equal(commit.status, 200, commit.text);
    const t = await backing.loadTable({ namespace: [ns], name: 's' });
    assert.equal(t.metadata['table-uuid'], body.metadata['table-uuid']);
    assert.equal(t.metadata.properties.k, 'v');
  });

  it('commits a transaction with one table, refuses several with 406', async () => {
    const { ns, uuid } = await freshTable();
    const change = (name: string) => ({ identifier: { namespace: [ns], name }, requirements: [{ type: 'assert-table-uuid', uuid }], updates: [{ action: 'set-properties', updates: { tx: name } }] });
    const one = await call('POST', '/v1/transactions/commit', { 'table-changes': [change('t')] });
    assert.equal(one.status, 204, one.text);
    assert.equal((await backing.loadTable({ namespace: [ns], name: 't' })).metadata.properties.tx, 't');
    assertError(await call('POST', '/v1/transactions/commit', { 'table-changes': [change('t'), change('t')] }), 406, 'UnsupportedOperationException');
  });

  it('keeps snapshot ids beyond 2^53 exact on the wire', async () => {
    const { path } = await freshTable();
    const id = '1234567890123456789';
    const text = `{"requirements":[],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":${id},"sequence-number":1,"timestamp-ms":${Date.now()},"manifest-list":${JSON.stringify(join(dir, 'warehouse', 'x.avro'))},"summary":{"operation":"append"},"schema-id":0}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":${id}}]}`;
    const r = await call('POST', path, text);
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, new RegExp(`"current-snapshot-id":${id}[,}]`));
  });
});
