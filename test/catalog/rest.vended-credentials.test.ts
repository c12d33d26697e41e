/**
 * Vended credentials through a table's whole life: a client whose ONLY S3 settings are the ones
 * the REST server hands out with the table (LoadTableResult `config` or `storage-credentials`)
 * creates a table on s3rver, commits, reloads, and commits again. A CommitTableResponse carries
 * no `config` (the spec's shape: metadata-location and metadata only), so the table after a
 * commit must keep the storage settings of its last load; it once fell back to the process's S3
 * settings and failed with "Could not load credentials from any providers".
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { parseJson, stringifyJson, type JsonValue } from '../../src/iceberg/json.js';
import { fileIOFor } from '../../src/io/resolve.js';
import type { S3FileIO } from '../../src/io/s3.js';
import { QueryEngine } from '../../src/query/engine.js';
import { Table } from '../../src/table/table.js';
import { S3RVER_CREDENTIALS, startS3rver, testS3FileIO, type S3rver } from '../io/s3rver.js';

// No S3 settings of the process's own: nothing from the environment, no profile files, no
// instance metadata. Whatever reaches s3rver must come from the catalog.
for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/floe-test/credentials';
process.env.AWS_CONFIG_FILE = '/nonexistent/floe-test/config';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const SCHEMA = {
  type: 'struct' as const,
  'schema-id': 0,
  fields: [
    { id: 1, name: 'id', type: 'long' as const, required: true },
    { id: 2, name: 'kind', type: 'string' as const, required: false },
  ],
};

let s3: S3rver;
let serverIO: S3FileIO;
let dir: string;
let backing: SqlCatalog;
let server: RestCatalogServer;

before(async () => {
  s3 = await startS3rver(['vended']);
  serverIO = testS3FileIO(s3.endpoint);
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-vended-'));
  backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: 's3://vended/wh', io: serverIO });
  server = await startRestCatalogServer({
    catalog: backing,
    tableConfig: {
      's3.endpoint': s3.endpoint,
      's3.path-style-access': 'true',
      'client.region': 'us-east-1',
      's3.access-key-id': S3RVER_CREDENTIALS.accessKeyId,
      's3.secret-access-key': S3RVER_CREDENTIALS.secretAccessKey,
    },
  });
  await backing.createNamespace(['db']);
});

after(async () => {
  await server.close();
  await backing.close();
  serverIO.close();
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

async function ids(catalog: RestCatalog, table: string): Promise<bigint[]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    return (await engine.query(`SELECT id FROM db.${table} ORDER BY id`)).rows.map((r) => r[0] as bigint);
  } finally {
    engine.close();
  }
}

it('create, commit, reload, commit again: every write uses the credentials the catalog vended', async () => {
  const rest = new RestCatalog({ uri: server.url });
  const id = { namespace: ['db'], name: 'twice' };
  const created = await rest.createTable(id, { schema: SCHEMA });
  assert.ok(created.io !== fileIOFor(created.metadata.location), 'the table has the vended FileIO');

  const table = await Table.load(rest, id);
  await table.append([{ id: 1n, kind: 'a' }]);
  // The commit's answer carries no config: the table keeps the storage settings of its load.
  assert.ok(table.io === created.io, 'after a commit: still the vended FileIO');
  assert.ok(table.io !== fileIOFor(table.location));
  await table.append([{ id: 2n, kind: 'b' }]); // the second commit on the same Table object

  await table.refresh(); // reloaded after its commits
  await table.append([{ id: 3n, kind: 'c' }]);
  const reloaded = await Table.load(rest, id);
  await reloaded.append([{ id: 4n, kind: 'd' }]);
  await reloaded.append([{ id: 5n, kind: 'e' }]);

  // A second client that never loads the table before committing through Table.load either.
  const other = new RestCatalog({ uri: server.url });
  const t2 = await Table.load(other, id);
  await t2.append([{ id: 6n, kind: 'f' }]);
  await t2.append([{ id: 7n, kind: 'g' }]);

  assert.deepEqual(await ids(rest, 'twice'), [1n, 2n, 3n, 4n, 5n, 6n, 7n]);
  assert.equal((await backing.loadTable(id)).metadata.snapshots.length, 7);
});

it('a commit without any earlier load in this client still writes with vended credentials afterwards', async () => {
  // commitTable straight away (no load, no create through this client): the client learns the
  // table's storage settings from a load of its own.
  const seed = new RestCatalog({ uri: server.url });
  const id = { namespace: ['db'], name: 'cold' };
  await seed.createTable(id, { schema: SCHEMA });
  const cold = new RestCatalog({ uri: server.url });
  const committed = await cold.commitTable(id, [], [{ action: 'set-properties', updates: { owner: 'test' } }]);
  assert.ok(committed.io !== fileIOFor(committed.metadata.location));
  const table = new Table(cold, committed);
  await table.append([{ id: 1n, kind: 'a' }]);
  await table.append([{ id: 2n, kind: 'b' }]);
  assert.deepEqual(await ids(cold, 'cold'), [1n, 2n]);
});

it('storage-credentials (not config) and rotation: the latest vended settings win, commits keep them', async () => {
  // A fetch between client and server moves the server's config into `storage-credentials` and
  // stamps each LoadTableResult with a new session token (s3rver ignores tokens): rotation.
  let generation = 0;
  const rotating: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const method = init?.method ?? 'GET';
    if (method !== 'GET' || !/\/tables\/[^/]+$/.test(new URL(String(input)).pathname) || res.status !== 200) return res;
    // Lossless JSON: snapshot ids are beyond 2^53.
    const body = parseJson(await res.text()) as { [key: string]: JsonValue } & { config: Record<string, string> };
    generation++;
    const { config, ...rest } = body;
    const out = { ...rest, config: {}, 'storage-credentials': [{ prefix: 's3://vended/', config: { ...config, 's3.session-token': `token-${generation}` } }] };
    return new Response(stringifyJson(out), { status: 200, headers: { 'content-type': 'application/json' } });
  };
  const rest = new RestCatalog({ uri: server.url, fetch: rotating });
  const id = { namespace: ['db'], name: 'rotating' };
  await new RestCatalog({ uri: server.url }).createTable(id, { schema: SCHEMA });

  const table = await Table.load(rest, id);
  const first = table.io;
  assert.ok(first !== fileIOFor(table.location));
  await table.append([{ id: 1n, kind: 'a' }]);
  assert.ok(table.io === first, 'a commit keeps the settings of the last load');
  await table.refresh();
  const second = table.io;
  assert.ok(second !== first, 'a reload with a new session token gives a new FileIO');
  await table.append([{ id: 2n, kind: 'b' }]);
  assert.ok(table.io === second, 'the commit after the reload keeps the new settings, not the first ones');
  await table.append([{ id: 3n, kind: 'c' }]);
  assert.deepEqual(await ids(rest, 'rotating'), [1n, 2n, 3n]);
});
