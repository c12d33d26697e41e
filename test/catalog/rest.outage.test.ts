/**
 * The REST client when the catalog is down: a request that provably never left (connection
 * refused, DNS) is CatalogUnreachableError, retried, a commit included; a request cut after it was
 * sent stays "outcome unknown"; a table append rides out a server restarted on the same port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TableIdentifier } from '../../src/catalog/catalog.js';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { requestNotSent } from '../../src/catalog/rest/rest-errors.js';
import { startRestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { CatalogUnreachableError, CommitStateUnknownError } from '../../src/errors.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import type { Schema } from '../../src/iceberg/types.js';
import type { CommitRetryEvent } from '../../src/table/snapshot-producer.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';

const SCHEMA: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'id', required: true, type: 'long' }] };
const ID: TableIdentifier = { namespace: ['db'], name: 't' };

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function fetchError(url: string, init: RequestInit = {}): Promise<unknown> {
  try {
    await fetch(url, { method: 'POST', body: '{"x":1}', ...init });
  } catch (e) {
    return e;
  }
  throw new Error('test: the fetch succeeded');
}

const sysErr = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

test('only failures before a connection existed count as "not sent"', async () => {
  // Refused, for real.
  assert.equal(requestNotSent(await fetchError(`http://127.0.0.1:${await closedPort()}/v1/x`)), true);
  // A server that reads the request and then cuts the connection: the request was sent.
  const cutter = createHttpServer((req) => req.on('data', () => undefined).on('end', () => req.socket.destroy()));
  await new Promise<void>((r) => cutter.listen(0, '127.0.0.1', r));
  try {
    const cut = await fetchError(`http://127.0.0.1:${(cutter.address() as AddressInfo).port}/v1/x`);
    assert.equal(requestNotSent(cut), false, String((cut as Error).cause));
    const slow = await fetchError(`http://127.0.0.1:${(cutter.address() as AddressInfo).port}/v1/x`, { signal: AbortSignal.timeout(1) });
    assert.equal(requestNotSent(slow), false);
  } finally {
    cutter.closeAllConnections();
    await new Promise<void>((r) => cutter.close(() => r()));
  }
  const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });
  assert.equal(requestNotSent(fetchFailed(sysErr('ENOTFOUND', 'getaddrinfo'))), true);
  assert.equal(requestNotSent(fetchFailed(sysErr('EAI_AGAIN', 'getaddrinfo'))), true);
  assert.equal(requestNotSent(fetchFailed(sysErr('EHOSTUNREACH', 'connect'))), true);
  assert.equal(requestNotSent(fetchFailed(Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }))), true);
  assert.equal(requestNotSent(fetchFailed(new AggregateError([sysErr('ECONNREFUSED', 'connect'), sysErr('ECONNREFUSED', 'connect')]))), true);
  // After the connection existed: reset on read or write, closed by the other side, our timeout.
  assert.equal(requestNotSent(fetchFailed(sysErr('ECONNRESET', 'read'))), false);
  assert.equal(requestNotSent(fetchFailed(sysErr('EPIPE', 'write'))), false);
  assert.equal(requestNotSent(fetchFailed(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }))), false);
  assert.equal(requestNotSent(fetchFailed(new AggregateError([sysErr('ECONNREFUSED', 'connect'), sysErr('ECONNRESET', 'read')]))), false);
  assert.equal(requestNotSent(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' })), false);
  assert.equal(requestNotSent(new Error('no cause')), false);
});

async function withServedTable(fn: (ctx: { backing: SqlCatalog; port: number; restart: () => Promise<void>; stop: () => Promise<void> }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-rest-outage-'));
  const backing = new SqlCatalog({ name: 'rest', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'wh') });
  await backing.createNamespace(['db']);
  await backing.createTable(ID, { schema: SCHEMA });
  let server = await startRestCatalogServer({ catalog: backing });
  const port = server.port;
  let up = true;
  try {
    await fn({
      backing,
      port,
      stop: async () => {
        up = false;
        await server.close();
      },
      restart: async () => {
        server = await startRestCatalogServer({ catalog: backing, port });
        up = true;
      },
    });
  } finally {
    if (up) await server.close();
    await backing.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a commit to a catalog that refuses the connection is "unreachable" after the client\'s retries, never "outcome unknown"', async () => {
  await withServedTable(async ({ port, stop }) => {
    let posts = 0;
    const counting: typeof fetch = (input, init) => {
      if (init?.method === 'POST') posts++;
      return fetch(input, init);
    };
    const client = new RestCatalog({ uri: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 }, fetch: counting });
    await client.loadTable(ID);
    await stop();
    // Let the client see its pooled connection close (a request racing the close on that socket
    // is "other side closed": sent, outcome unknown; the commit loop resolves that by reloading).
    await new Promise((r) => setTimeout(r, 200));
    await assert.rejects(client.commitTable(ID, [], [{ action: 'set-properties', updates: { a: 'b' } }]), (e: unknown) => {
      assert.ok(e instanceof CatalogUnreachableError, String(e));
      assert.ok(!(e instanceof CommitStateUnknownError));
      assert.match(e.message, /^catalog: rest: table db\.t: catalog unreachable, commit not sent \(fetch failed: ECONNREFUSED/);
      return true;
    });
    assert.equal(posts, 3, 'a request that never left is sent again');
  });
});

test('a commit whose connection is cut after the request was sent stays "outcome unknown" and is sent once', async () => {
  let posts = 0;
  const cutter = createHttpServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"defaults":{},"overrides":{}}');
      return;
    }
    posts++;
    req.on('data', () => undefined).on('end', () => req.socket.destroy());
  });
  await new Promise<void>((r) => cutter.listen(0, '127.0.0.1', r));
  try {
    const client = new RestCatalog({ uri: `http://127.0.0.1:${(cutter.address() as AddressInfo).port}`, retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 } });
    await assert.rejects(client.commitTable(ID, [], [{ action: 'set-properties', updates: { a: 'b' } }]), (e: unknown) => {
      assert.ok(e instanceof CommitStateUnknownError, String(e));
      assert.match(e.message, /commit outcome unknown/);
      return true;
    });
    assert.equal(posts, 1);
  } finally {
    cutter.closeAllConnections();
    await new Promise<void>((r) => cutter.close(() => r()));
  }
});

test('a table append rides out the catalog server going away and coming back on the same port: one snapshot', async () => {
  await withServedTable(async ({ backing, port, stop, restart }) => {
    const client = new RestCatalog({ uri: `http://127.0.0.1:${port}`, retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    const table = await Table.load(client, ID);
    const { files, specId } = await writeDataFiles(table.io, table.metadata, batchFromRows(table.schema(), [[1n], [2n], [3n]]));
    await stop();
    const events: CommitRetryEvent[] = [];
    const commit = table
      .newAppend({ outage: { budgetMs: 20_000, baseDelayMs: 50, maxDelayMs: 200 }, onRetry: (e) => events.push(e) })
      .appendFiles(files, specId)
      .commit();
    await new Promise((r) => setTimeout(r, 1_000));
    assert.ok(events.length >= 2, `retried while down (${events.length})`);
    await restart();
    const r = await commit;
    assert.equal(r.attempts, 1);
    assert.ok(events.every((e) => e.reason === 'unreachable' && /ECONNREFUSED/.test(e.error)), JSON.stringify(events[0]));
    const md = (await backing.loadTable(ID)).metadata;
    assert.equal(md.snapshots?.length, 1);
    assert.equal(md.snapshots![0]!.summary['total-records'], '3');
  });
});
