/**
 * `floe catalog serve` as a user runs it: a child process serving a warehouse's catalog over REST
 * on 127.0.0.1, printing its URL; tables written through it are queried with
 * `floe query --catalog http://…`; SIGINT stops it cleanly (exit 0), and a restarted server
 * serves the same tables. Plus usage errors, in-process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { batchFromRows } from '../../src/data/column-batch.js';
import { Table } from '../../src/table/table.js';
import { writeDataFiles } from '../../src/table/write.js';
import { repoRoot } from '../helpers/shared.js';
import { assertFails, cliJson, runCli } from './helpers.js';

/** How to start the CLI: the compiled one beside this test when it runs compiled, else through tsx. */
function cli(): { cmd: string; args: string[] } {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith('.js')) return { cmd: process.execPath, args: [fileURLToPath(new URL('../../src/cli/main.js', import.meta.url))] };
  return { cmd: process.execPath, args: ['--import', 'tsx', join(repoRoot(), 'src', 'cli', 'main.ts')] };
}

interface Served {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

async function serve(warehouse: string, extra: string[] = [], extraEnv: Record<string, string> = {}): Promise<Served> {
  const { cmd, args } = cli();
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extraEnv };
  const child = spawn(cmd, [...args, 'catalog', 'serve', '--port', '0', '--warehouse', warehouse, ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`floe catalog serve printed no URL within 30 s; stderr: ${err}`)), 30_000);
    // Ready once the URL is on stdout and the banner on stderr (text on a terminal or with
    // FLOE_LOG_FORMAT=text, else a JSON line).
    const check = () => {
      const m = /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m && (err.includes('Ctrl-C to stop') || /"msg":"catalog: Iceberg REST catalog on [^\n]*\n/.test(err))) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      check();
    });
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString();
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`floe catalog serve exited with ${code}: ${err}`));
    });
  });
  return { child, url, stderr: () => err };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

let dir: string;
const children: ChildProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-catalog-serve-'));
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

it('serves the warehouse over REST for floe query, stops on SIGINT, and serves the same tables again', async () => {
  const warehouse = join(dir, 'wh');
  const first = await serve(warehouse);
  children.push(first.child);
  assert.match(first.stderr(), /Iceberg REST catalog on http:\/\/127\.0\.0\.1:\d+ serving .*catalog\.db/);

  const rest = new RestCatalog({ uri: first.url });
  await rest.createNamespace(['shop']);
  await rest.createTable(
    { namespace: ['shop'], name: 'orders' },
    {
      schema: {
        type: 'struct',
        'schema-id': 0,
        fields: [
          { id: 1, name: 'id', type: 'long', required: true },
          { id: 2, name: 'item', type: 'string', required: false },
        ],
      },
    },
  );
  const table = await Table.load(rest, { namespace: ['shop'], name: 'orders' });
  const { files, specId } = await writeDataFiles(
    table.io,
    table.metadata,
    batchFromRows(table.schema(), [
      [1n, 'tea'],
      [2n, 'cake'],
    ]),
  );
  await table.newAppend().appendFiles(files, specId).commit();

  assert.deepEqual(await cliJson(['query', '--catalog', first.url, 'SELECT id, item FROM shop.orders ORDER BY id']), [
    { id: 1, item: 'tea' },
    { id: 2, item: 'cake' },
  ]);
  assert.deepEqual(await cliJson(['table', 'list', '--catalog', first.url]), [{ namespace: 'shop', table: 'orders' }]);

  first.child.kill('SIGINT');
  assert.deepEqual(await exited(first.child), { code: 0, signal: null });
  assert.match(first.stderr(), /REST catalog stopped \(SIGINT\)/);
  assert.ok(!/unexpected error|\n\s+at /.test(first.stderr()), first.stderr());

  const second = await serve(warehouse);
  children.push(second.child);
  assert.deepEqual(await cliJson(['query', '--catalog', second.url, 'SELECT count(*) AS n FROM shop.orders']), [{ n: 2 }]);
  second.child.kill('SIGTERM');
  assert.deepEqual(await exited(second.child), { code: 0, signal: null });
});

/** The status of a raw GET as a browser or script would send it, with optional headers. */
async function status(url: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return (await fetch(url + path, { headers })).status;
}

it('requires the token from FLOE_CATALOG_TOKEN or --auth (printed at start), which floe sends from FLOE_CATALOG_TOKEN', async () => {
  const [fromEnv, generated] = await Promise.all([
    serve(join(dir, 'wh-env'), [], { FLOE_CATALOG_TOKEN: 'env-token-1' }),
    serve(join(dir, 'wh-auth'), ['--auth'], { FLOE_LOG_FORMAT: 'text' }), // the banner as a terminal shows it
  ]);
  children.push(fromEnv.child, generated.child);
  assert.doesNotMatch(fromEnv.stderr(), /env-token-1/, 'a token the user gave is not echoed');
  const m = /floe: token \(send Authorization: Bearer <token>\): ([A-Za-z0-9_-]{43})\n/.exec(generated.stderr());
  assert.ok(m, generated.stderr());
  const token = m[1]!;

  assert.equal(await status(fromEnv.url, '/v1/namespaces'), 401);
  assert.equal(await status(fromEnv.url, '/v1/namespaces', { authorization: `Bearer ${token}` }), 401);
  assert.equal(await status(fromEnv.url, '/v1/namespaces', { authorization: 'Bearer env-token-1' }), 200);
  assert.equal(await status(generated.url, '/v1/namespaces'), 401);
  assert.equal(await status(generated.url, '/v1/namespaces', { authorization: `Bearer ${token}` }), 200);
  // A page on another origin, or reached through a rebound host name, is refused whatever it sends.
  assert.equal(await status(generated.url, '/v1/namespaces', { authorization: `Bearer ${token}`, origin: 'http://evil.example' }), 403);

  assert.deepEqual(await cliJson(['table', 'list', '--catalog', generated.url], { FLOE_CATALOG_TOKEN: token }), []);
  assertFails(await runCli(['table', 'list', '--catalog', generated.url]), 1, /not authorized; check the catalog token/);
  for (const s of [fromEnv, generated]) s.child.kill('SIGTERM');
  for (const s of [fromEnv, generated]) assert.deepEqual(await exited(s.child), { code: 0, signal: null });
});

it('reports bad usage with exit code 2 and a taken port with exit code 1', async () => {
  assertFails(await runCli(['catalog']), 2, /catalog needs a subcommand/);
  assertFails(await runCli(['catalog', 'publish']), 2, /unknown catalog subcommand 'publish'/);
  assertFails(await runCli(['catalog', 'serve', '--port', 'eighty']), 2, /--port must be 0\.\.65535, got 'eighty'/);
  assertFails(await runCli(['catalog', 'serve', '--prefix', 'a b']), 2, /--prefix must be/);
  assertFails(await runCli(['catalog', 'serve', 'extra']), 2, /takes no arguments/);
  assertFails(await runCli(['catalog', 'serve', '--table-config', 's3.endpoint']), 2, /--table-config expects NAME=VALUE/);
  assertFails(await runCli(['catalog', 'serve', '--token', 't', '--no-auth']), 2, /at most one of --token, --auth and --no-auth/);
  assertFails(await runCli(['catalog', 'serve', '--auth', '--no-auth']), 2, /at most one of/);
  assertFails(await runCli(['catalog', 'serve', '--token', 'has space']), 2, /--token must be non-empty printable ASCII/);
  assertFails(await runCli(['catalog', 'serve', '--allowed-host', 'a b']), 2, /--allowed-host must be/);
  const help = await runCli(['catalog', 'serve', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /usage: floe catalog serve/);

  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  try {
    const port = (taken.address() as AddressInfo).port;
    const r = await runCli(['catalog', 'serve', '--port', String(port), '--warehouse', join(dir, 'wh2')]);
    assertFails(r, 1, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use`));
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});
