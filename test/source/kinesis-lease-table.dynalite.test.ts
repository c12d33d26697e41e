/**
 * The lease table against a real dynalite: creation in the KCL layout, and the conditional writes
 * that give a lease to exactly one worker.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CreateTableCommand, DescribeTableCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LeaseTable } from '../../src/source/kinesis/leases/lease-table.js';
import { checkpointOfPosition } from '../../src/source/kinesis/leases/lease.js';
import { FloeError } from '../../src/errors.js';
import { shardIds, startDynalite, type LocalDynamo } from './dynalite-helpers.js';

let dyn: LocalDynamo;
before(async () => {
  dyn = await startDynalite();
});
after(async () => {
  await dyn.close();
});

let n = 0;
const newTable = async (): Promise<LeaseTable> => {
  const t = new LeaseTable({ client: dyn.client, tableName: `lease-table-test-${++n}` });
  await t.ensureTable();
  return t;
};

describe('lease table creation', () => {
  it('creates the table in the KCL layout (hash key leaseKey S, on demand) once, with concurrent workers', async () => {
    const name = 'orders-app';
    const workers = [0, 1, 2].map(() => new LeaseTable({ client: dyn.newClient(), tableName: name }));
    const created = await Promise.all(workers.map((w) => w.ensureTable()));
    assert.equal(created.filter(Boolean).length, 1, `exactly one worker creates it: ${created}`);
    const d = (await dyn.client.send(new DescribeTableCommand({ TableName: name }))).Table;
    assert.equal(d?.TableStatus, 'ACTIVE');
    assert.deepEqual(d?.KeySchema, [{ AttributeName: 'leaseKey', KeyType: 'HASH' }]);
    assert.deepEqual(d?.AttributeDefinitions, [{ AttributeName: 'leaseKey', AttributeType: 'S' }]);
    assert.equal(d?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.equal(await workers[0]!.ensureTable(), false, 'an existing table is used as it is');
  });

  it('writes items with the KCL attribute names and types', async () => {
    const t = await newTable();
    assert.equal(await t.createLease({ shardId: 'shardId-000000000000', parentShardIds: [], checkpoint: 'TRIM_HORIZON', startingHashKey: '0', endingHashKey: '170141183460469231731687303715884105727' }), true);
    assert.equal(
      await t.createLease({ shardId: 'shardId-000000000002', parentShardIds: ['shardId-000000000000', 'shardId-000000000001'], checkpoint: 'TRIM_HORIZON' }),
      true,
    );
    assert.equal(await t.addChildShardIds('shardId-000000000000', ['shardId-000000000002']), true);
    const took = await t.takeLease('shardId-000000000000', 'worker-a', 0n, undefined);
    assert.deepEqual(took, { ok: true, counter: 1n });
    assert.equal(await t.updateCheckpoint('shardId-000000000000', 'worker-a', checkpointOfPosition('49590338271490256608559692538361571095921575989136588898:3', 'x')), true);

    const raw = (await dyn.client.send(new ScanCommand({ TableName: t.tableName, ConsistentRead: true }))).Items ?? [];
    const parent = raw.find((i) => i.leaseKey?.S === 'shardId-000000000000');
    assert.ok(parent);
    const types = Object.fromEntries(Object.entries(parent).map(([k, v]) => [k, Object.keys(v)[0]]));
    assert.deepEqual(types, {
      leaseKey: 'S',
      leaseOwner: 'S',
      leaseCounter: 'N',
      checkpoint: 'S',
      checkpointSubSequenceNumber: 'N',
      ownerSwitchesSinceCheckpoint: 'N',
      childShardIds: 'SS',
      startingHashKey: 'S',
      endingHashKey: 'S',
    });
    assert.equal(parent.leaseOwner?.S, 'worker-a');
    assert.equal(parent.leaseCounter?.N, '1');
    assert.equal(parent.checkpoint?.S, '49590338271490256608559692538361571095921575989136588898');
    assert.equal(parent.checkpointSubSequenceNumber?.N, '3');
    assert.deepEqual(parent.childShardIds?.SS, ['shardId-000000000002']);
    const child = raw.find((i) => i.leaseKey?.S === 'shardId-000000000002');
    assert.deepEqual([...(child?.parentShardId?.SS ?? [])].sort(), ['shardId-000000000000', 'shardId-000000000001']);
    assert.equal(child?.leaseOwner, undefined, 'a new lease has no owner');
    assert.equal(child?.leaseCounter?.N, '0');
    assert.equal(child?.checkpoint?.S, 'TRIM_HORIZON');

    const leases = await t.listLeases();
    const p = leases.find((l) => l.shardId === 'shardId-000000000000');
    assert.equal(p?.owner, 'worker-a');
    assert.equal(p?.counter, 1n);
    assert.equal(p?.checkpointSubSequenceNumber, 3n);
  });

  it('refuses an existing table that is not a lease table, naming it', async () => {
    await dyn.client.send(
      new CreateTableCommand({
        TableName: 'not-leases',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const t = new LeaseTable({ client: dyn.client, tableName: 'not-leases' });
    await assert.rejects(t.ensureTable(), (e: unknown) => e instanceof FloeError && e.code === 'LEASE_TABLE' && /not-leases exists but is not a lease table/.test(e.message));
  });

  it('refuses a table name DynamoDB cannot hold', () => {
    assert.throws(() => new LeaseTable({ client: dyn.client, tableName: 'my app' }), /cannot name a DynamoDB table/);
    assert.throws(() => new LeaseTable({ client: dyn.client, tableName: 'ab' }), /cannot name a DynamoDB table/);
  });
});

describe('conditional writes', () => {
  it('creates a lease only once: a second create leaves the first one untouched', async () => {
    const t = await newTable();
    assert.equal(await t.createLease({ shardId: 's1', parentShardIds: [], checkpoint: 'LATEST' }), true);
    await t.takeLease('s1', 'a', 0n, undefined);
    assert.equal(await t.createLease({ shardId: 's1', parentShardIds: [], checkpoint: 'TRIM_HORIZON' }), false);
    const l = await t.getLease('s1');
    assert.equal(l?.owner, 'a');
    assert.equal(l?.checkpoint, 'LATEST');
  });

  it('two workers taking the same leases at once: exactly one wins each', async () => {
    const t = await newTable();
    const ids = shardIds(8);
    for (const id of ids) await t.createLease({ shardId: id, parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    // Each worker through its own client, as two processes would.
    const ta = new LeaseTable({ client: dyn.newClient(), tableName: t.tableName });
    const tb = new LeaseTable({ client: dyn.newClient(), tableName: t.tableName });
    const results = await Promise.all(ids.flatMap((id) => [ta.takeLease(id, 'a', 0n, undefined), tb.takeLease(id, 'b', 0n, undefined)]));
    for (let i = 0; i < ids.length; i++) {
      const [ra, rb] = [results[2 * i]!, results[2 * i + 1]!];
      assert.equal(Number(ra.ok) + Number(rb.ok), 1, `${ids[i]}: one winner, got ${JSON.stringify([ra.ok, rb.ok])}`);
      const loser = ra.ok ? rb : ra;
      assert.equal(loser.ok, false);
      if (!loser.ok) assert.equal(loser.current?.owner, ra.ok ? 'a' : 'b', 'the loser learns the winner');
    }
    const owners = (await t.listLeases()).map((l) => l.owner);
    assert.equal(owners.filter((o) => o === 'a').length + owners.filter((o) => o === 'b').length, 8);
  });

  it('a take against a stale counter fails; against the current one it wins and counts an owner switch', async () => {
    const t = await newTable();
    await t.createLease({ shardId: 's', parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    assert.deepEqual(await t.takeLease('s', 'a', 0n, undefined), { ok: true, counter: 1n });
    assert.deepEqual(await t.renewLease('s', 'a', 1n), { ok: true, counter: 2n });
    const stale = await t.takeLease('s', 'b', 1n, 'a');
    assert.equal(stale.ok, false);
    assert.deepEqual(await t.takeLease('s', 'b', 2n, 'a'), { ok: true, counter: 3n });
    const l = await t.getLease('s');
    assert.equal(l?.owner, 'b');
    assert.equal(l?.ownerSwitchesSinceCheckpoint, 1n);
  });

  it('renewal fails once another worker took the lease, and names the new owner', async () => {
    const t = await newTable();
    await t.createLease({ shardId: 's', parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    await t.takeLease('s', 'a', 0n, undefined);
    await t.takeLease('s', 'b', 1n, 'a');
    const r = await t.renewLease('s', 'a', 1n);
    assert.equal(r.ok, false);
    assert.equal(r.ok ? undefined : r.current?.owner, 'b');
    assert.equal((await t.getLease('s'))?.counter, 2n, 'the failed renewal wrote nothing');
  });

  it('a write that already landed (an SDK retry) is recognised as won', async () => {
    const t = await newTable();
    await t.createLease({ shardId: 's', parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    assert.deepEqual(await t.takeLease('s', 'a', 0n, undefined), { ok: true, counter: 1n });
    // The same request again, as the SDK would resend it: the condition fails, the lease is ours.
    assert.deepEqual(await t.takeLease('s', 'a', 0n, undefined), { ok: true, counter: 1n });
    assert.deepEqual(await t.renewLease('s', 'a', 1n), { ok: true, counter: 2n });
    assert.deepEqual(await t.renewLease('s', 'a', 1n), { ok: true, counter: 2n });
  });

  it('release and checkpoint are conditional on the owner', async () => {
    const t = await newTable();
    await t.createLease({ shardId: 's', parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    await t.takeLease('s', 'a', 0n, undefined);
    assert.equal(await t.updateCheckpoint('s', 'b', { checkpoint: '123', subSequenceNumber: 0n }), false, 'not the owner');
    assert.equal(await t.evictLease('s', 'b'), false, 'not the owner');
    assert.equal((await t.getLease('s'))?.checkpoint, 'TRIM_HORIZON');
    assert.equal(await t.updateCheckpoint('s', 'a', { checkpoint: '123', subSequenceNumber: 0n }), true);
    assert.equal(await t.evictLease('s', 'a'), true);
    const l = await t.getLease('s');
    assert.equal(l?.owner, undefined, 'released: no owner');
    assert.equal(l?.counter, 2n, 'the release moved the counter');
    assert.equal(l?.checkpoint, '123');
    assert.equal(await t.updateCheckpoint('s', 'a', { checkpoint: '456', subSequenceNumber: 0n }), false, 'released: no longer ours');
  });

  it('SHARD_END with release writes the end and frees the lease in one write', async () => {
    const t = await newTable();
    await t.createLease({ shardId: 's', parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    await t.takeLease('s', 'a', 0n, undefined);
    assert.equal(await t.updateCheckpoint('s', 'a', checkpointOfPosition('SHARD_END', 's'), { release: true }), true);
    const l = await t.getLease('s');
    assert.equal(l?.checkpoint, 'SHARD_END');
    assert.equal(l?.owner, undefined);
  });

  it('reads a lease whose attributes have the wrong type as an error naming it', async () => {
    const t = await newTable();
    await t.createLease({ shardId: 's', parentShardIds: [], checkpoint: 'TRIM_HORIZON' });
    await dyn.client.send(
      new UpdateItemCommand({ TableName: t.tableName, Key: { leaseKey: { S: 's' } }, UpdateExpression: 'SET leaseCounter = :x', ExpressionAttributeValues: { ':x': { S: 'ten' } } }),
    );
    await assert.rejects(t.listLeases(), /leases: lease s: attribute leaseCounter is not an integer/);
  });
});
