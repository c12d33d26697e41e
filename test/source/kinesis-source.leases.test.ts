/**
 * KinesisSource with leases, in one process against kinesalite and dynalite: two pipelines of one
 * application share a stream and write one table; a shard is split while they run. Each shard is
 * read by the worker holding its lease, the children only after the table holds their parent's
 * end, every record lands once, and the leases' `checkpoint` mirrors the table's positions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListShardsCommand, SplitShardCommand } from '@aws-sdk/client-kinesis';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { ancestors, snapshotForRef } from '../../src/iceberg/snapshot.js';
import { readCheckpoint } from '../../src/pipeline/checkpoint.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { waitForStreamActive } from '../../src/source/kinesis/admin.js';
import { KinesisSource } from '../../src/source/kinesis/kinesis-source.js';
import { LeaseCoordinator } from '../../src/source/kinesis/leases/lease-coordinator.js';
import { LeaseTable } from '../../src/source/kinesis/leases/lease-table.js';
import { putRecords } from '../../src/source/kinesis/producer.js';
import { SHARD_END } from '../../src/source/source.js';
import { Table } from '../../src/table/table.js';
import { startDynalite, waitFor, type LocalDynamo } from './dynalite-helpers.js';
import { createStream, enc, startLocal, type LocalEnv } from './kinesis-test-helpers.js';

let kinesis: LocalEnv;
let dynamo: LocalDynamo;
let dir: string;

before(async () => {
  kinesis = await startLocal();
  dynamo = await startDynalite(50);
  dir = await mkdtemp(join(tmpdir(), 'floe-source-leases-'));
});

after(async () => {
  await dynamo.close();
  await kinesis.close();
  await rm(dir, { recursive: true, force: true });
});

const STREAM = 'shared';
const APP = 'shared-app';
const TABLE = { namespace: ['db'], name: 'shared' };

function put(tag: string, n: number) {
  return putRecords(
    kinesis.client,
    { streamName: STREAM },
    Array.from({ length: n }, (_, i) => ({ data: enc(JSON.stringify({ id: `${tag}${i}` })), partitionKey: `key-${tag}-${i}` })),
  );
}

test('leases: two workers share a stream and a split; children after the parent\'s end in the table; leases mirror the table', { timeout: 90_000 }, async () => {
  await createStream(kinesis.client, STREAM, 2);
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  const config = validateConfig({
    source: { stream: STREAM, application: APP, lease: { failover_time: '3s' } },
    catalog: { warehouse: dir },
    table: { name: 'db.shared' },
    transform: { columns: { id: 'string', shard: { type: 'string', value: 'shard' } } },
    commit: { interval: '300ms' },
    maintenance: false,
  });
  const tablePositions = async () => {
    if (!(await catalog.tableExists(TABLE))) return new Map<string, string>();
    return readCheckpoint(snapshotForRef((await Table.load(catalog, TABLE)).metadata, 'main'), STREAM);
  };
  const coordinators: LeaseCoordinator[] = [];
  const events: PipelineEvent[] = [];
  const worker = async (name: string) => {
    const coordinator = new LeaseCoordinator({ table: new LeaseTable({ client: dynamo.newClient(), tableName: APP }), workerId: name, failoverTimeMs: 3000, takeIntervalMs: 300 });
    coordinators.push(coordinator);
    const source = new KinesisSource({ client: kinesis.client, streamName: STREAM, discoveryIntervalMs: 500, idleDelayMs: 20, minCallIntervalMs: 20, leases: { coordinator, tablePositions } });
    const pipeline = await Pipeline.open({ config, catalog, source, onEvent: (e) => events.push(e) });
    return { coordinator, pipeline, done: pipeline.run() };
  };
  const rows = async (): Promise<[number, number]> => {
    const engine = await QueryEngine.open({ catalog });
    try {
      const [[n, d]] = (await engine.query('SELECT count(*), count(DISTINCT id) FROM db.shared')).rows as [[bigint, bigint]];
      return [Number(n), Number(d)];
    } finally {
      engine.close();
    }
  };
  try {
    const w1 = await worker('w1');
    const w2 = await worker('w2');
    // Each worker takes one of the two shards.
    await waitFor(() => w1.coordinator.heldShards().length === 1 && w2.coordinator.heldShards().length === 1, 'one shard each', 20_000);
    await put('a', 40);
    await waitFor(async () => (await rows())[0] >= 40, '40 rows', 20_000, 200);

    // Split the first shard while both run, then write over the whole key range again.
    const listed = (await kinesis.client.send(new ListShardsCommand({ StreamName: STREAM }))).Shards!;
    const parent = listed[0]!;
    const lo = BigInt(parent.HashKeyRange!.StartingHashKey!);
    const hi = BigInt(parent.HashKeyRange!.EndingHashKey!);
    await kinesis.client.send(new SplitShardCommand({ StreamName: STREAM, ShardToSplit: parent.ShardId!, NewStartingHashKey: ((lo + hi) / 2n).toString() }));
    await waitForStreamActive(kinesis.client, STREAM);
    const children = ((await kinesis.client.send(new ListShardsCommand({ StreamName: STREAM }))).Shards ?? []).filter((s) => s.ParentShardId === parent.ShardId).map((s) => s.ShardId!);
    assert.equal(children.length, 2);
    await put('b', 40);
    await waitFor(async () => (await rows())[0] >= 80, '80 rows', 30_000, 200);
    const md = (await Table.load(catalog, TABLE)).metadata;
    const current = readCheckpoint(snapshotForRef(md, 'main'), STREAM);
    assert.ok(children.some((c) => current.has(c)), `a child committed: ${JSON.stringify(Object.fromEntries(current))}`);

    w1.pipeline.stop();
    w2.pipeline.stop();
    await Promise.all([w1.done, w2.done]);
    assert.deepEqual(await rows(), [80, 80], 'every record once');

    // In the history, no child position before the snapshot that holds the parent's SHARD_END.
    const after = (await Table.load(catalog, TABLE)).metadata;
    const chain = [...ancestors(after, snapshotForRef(after, 'main')!['snapshot-id'])].reverse();
    let parentEnded = false;
    for (const snap of chain) {
      const positions = readCheckpoint(snap, STREAM);
      const childHere = children.some((c) => positions.has(c));
      if (childHere) assert.ok(parentEnded, `snapshot ${snap['snapshot-id']} holds a child position before the parent's end`);
      if (positions.get(parent.ShardId!) === SHARD_END) parentEnded = true;
    }
    assert.ok(parentEnded, 'the parent\'s end was committed');

    // The leases mirror the table (tooling reads them); the graceful stop released them all.
    const final = readCheckpoint(snapshotForRef(after, 'main'), STREAM);
    const leases = await new LeaseTable({ client: dynamo.client, tableName: APP }).listLeases();
    assert.equal(leases.length, 4);
    for (const lease of leases) {
      assert.equal(lease.owner, undefined, `${lease.shardId} released`);
      const inTable = final.get(lease.shardId);
      if (lease.shardId === parent.ShardId) assert.equal(lease.checkpoint, SHARD_END);
      else assert.equal(lease.checkpoint, inTable?.split(':')[0] ?? 'TRIM_HORIZON', `${lease.shardId}: lease ${lease.checkpoint}, table ${inTable}`);
    }
    assert.deepEqual(events.filter((e) => e.type === 'error'), []);
  } finally {
    for (const c of coordinators) await c.stop({ release: false });
    await catalog.close();
  }
});
