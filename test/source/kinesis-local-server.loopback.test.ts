/**
 * The kinesis-local test helper: every port on 127.0.0.1 only (the server itself would bind all
 * interfaces), ephemeral or chosen plain port, usable through the SDK, and gone after close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ensureStream } from '../../src/source/kinesis/admin.js';
import { tryStartKinesisLocal } from './kinesis-local-server.js';
import { clientFor, waitFor } from './kinesis-test-helpers.js';

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('ephemeral ports, loopback only, works through the SDK, stopped by close', async (t) => {
  const start = await tryStartKinesisLocal();
  if (!start.server) return t.skip(start.skip);
  const server = start.server;
  const client = clientFor(server.url, 3);
  try {
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
    await waitFor(() => server.ports.length === 2, 10_000, 'plain and TLS ports listening');
    assert.ok(server.ports.includes(server.port));
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal);
    for (const port of server.ports) {
      assert.ok(await canConnect('127.0.0.1', port), `127.0.0.1:${port} answers`);
      if (external) assert.equal(await canConnect(external.address, port), false, `reachable on ${external.address}:${port}`);
    }
    const r = await ensureStream(client, { streamName: 'helper-od', mode: 'ON_DEMAND' });
    assert.equal(r.mode, 'ON_DEMAND');
    assert.deepEqual((await client.send(new ListStreamsCommand({}))).StreamNames, ['helper-od']);
  } finally {
    client.destroy();
    await server.close();
  }
  assert.equal(alive(server.pid), false, 'the server process is gone');
  assert.equal(await canConnect('127.0.0.1', server.port), false, 'the port is closed');
  await server.close(); // idempotent
});

test('a chosen plain port', async (t) => {
  const port = await freePort();
  const start = await tryStartKinesisLocal({ port });
  if (!start.server) return t.skip(start.skip);
  try {
    assert.equal(start.server.url, `http://127.0.0.1:${port}`);
    assert.equal(start.server.port, port);
  } finally {
    await start.server.close();
  }
});
