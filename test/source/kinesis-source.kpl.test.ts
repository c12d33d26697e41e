/**
 * KPL aggregates through a real kinesalite: de-aggregated records with sub-sequence positions,
 * resuming inside an aggregate, corrupt aggregates passed through as plain records, and the
 * `deaggregate: false` switch.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KinesisSource, type KinesisSourceOptions } from '../../src/source/kinesis/kinesis-source.js';
import { aggregate, hasKplMagic } from '../../src/source/kinesis/kpl.js';
import { putRecords, type PutEntry } from '../../src/source/kinesis/producer.js';
import { createStream, dec, enc, pollFor, pollUntil, startLocal, type LocalEnv } from './kinesis-test-helpers.js';

let env: LocalEnv;
before(async () => {
  env = await startLocal();
});
after(async () => {
  await env.close();
});

let streamNo = 0;
async function newStream(): Promise<string> {
  const name = `kpl-${++streamNo}`;
  await createStream(env.client, name, 1);
  return name;
}

function source(streamName: string, extra: Partial<KinesisSourceOptions> = {}): KinesisSource {
  return new KinesisSource({ client: env.client, streamName, idleDelayMs: 20, minCallIntervalMs: 20, ...extra });
}

const users = (tag: string, n: number) => Array.from({ length: n }, (_, i) => ({ partitionKey: `user-${tag}-${i}`, data: enc(`${tag}${i}`) }));

/** Puts: plain "before", an aggregate of 3 (a0..a2), plain "between", an aggregate of 2 (b0, b1). */
async function putMix(stream: string): Promise<string[]> {
  const entries: PutEntry[] = [
    { data: enc('before'), partitionKey: 'k' },
    { data: aggregate(users('a', 3)), partitionKey: 'user-a-0' },
    { data: enc('between'), partitionKey: 'k' },
    { data: aggregate(users('b', 2)), partitionKey: 'user-b-0' },
  ];
  // One at a time so the sequence numbers follow this order.
  const seqs: string[] = [];
  for (const e of entries) seqs.push((await putRecords(env.client, { streamName: stream }, [e]))[0]!.sequenceNumber);
  return seqs;
}

test('aggregates are split into user records with sub-sequence positions', async () => {
  const stream = await newStream();
  const [s0, s1, s2, s3] = await putMix(stream);
  const s = source(stream);
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s, (c) => c.records.length >= 7);
    assert.deepEqual(
      c.records.map((r) => [dec(r.data), r.partitionKey, r.position, r.meta.subSequenceNumber]),
      [
        ['before', 'k', s0, undefined],
        ['a0', 'user-a-0', `${s1}:0`, '0'],
        ['a1', 'user-a-1', `${s1}:1`, '1'],
        // The last sub-record completes the Kinesis record: its position is the bare sequence number.
        ['a2', 'user-a-2', s1, '2'],
        ['between', 'k', s2, undefined],
        ['b0', 'user-b-0', `${s3}:0`, '0'],
        ['b1', 'user-b-1', s3, '1'],
      ],
    );
    for (const r of c.records.slice(1, 4)) {
      assert.equal(r.meta.sequenceNumber, s1);
      assert.equal(r.meta.aggregated, 'true');
    }
    assert.equal(s.metrics().recordsRead, 7);
  } finally {
    await s.close();
  }
});

test('resuming inside an aggregate skips exactly the consumed sub-records', async () => {
  const stream = await newStream();
  const [, s1, , s3] = await putMix(stream);
  const shard = 'shardId-000000000000';
  const cases: [string, string[]][] = [
    [`${s1}:0`, ['a1', 'a2', 'between', 'b0', 'b1']],
    [`${s1}:1`, ['a2', 'between', 'b0', 'b1']],
    [s1!, ['between', 'b0', 'b1']],
    [`${s3}:0`, ['b1']],
  ];
  for (const [from, expected] of cases) {
    const s = source(stream);
    try {
      await s.start(new Map([[shard, from]]), { type: 'TRIM_HORIZON' });
      const c = await pollUntil(s, (c) => c.records.length >= expected.length);
      const extra = await pollFor(s, 150);
      assert.deepEqual(texts([...c.records, ...extra.records]), expected, `resume from ${from}`);
    } finally {
      await s.close();
    }
  }
  // Resuming after the last sub-record of the final aggregate: nothing left.
  const s = source(stream);
  try {
    await s.start(new Map([[shard, s3!]]), { type: 'TRIM_HORIZON' });
    assert.equal((await pollFor(s, 300)).records.length, 0);
  } finally {
    await s.close();
  }
});

function texts(rs: { data: Uint8Array }[]): string[] {
  return rs.map((r) => dec(r.data));
}

test('a corrupted aggregate (bad MD5) passes through as one plain record', async () => {
  const stream = await newStream();
  const bad = aggregate(users('z', 3));
  bad[bad.length - 1]! ^= 0x01;
  const [res] = await putRecords(env.client, { streamName: stream }, [{ data: bad, partitionKey: 'z' }]);
  const warnings: string[] = [];
  const s = source(stream, { log: (level, message) => level === 'warn' && warnings.push(message) });
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s, (c) => c.records.length >= 1);
    assert.equal(c.records.length, 1);
    const r = c.records[0]!;
    assert.deepEqual(r.data, bad);
    assert.equal(r.position, res!.sequenceNumber);
    assert.equal(r.meta.subSequenceNumber, undefined);
    assert.ok(warnings.some((w) => /MD5 checksum mismatch/.test(w)), 'the anomaly is logged');
  } finally {
    await s.close();
  }
});

test('deaggregate: false hands aggregates on untouched', async () => {
  const stream = await newStream();
  await putMix(stream);
  const s = source(stream, { deaggregate: false });
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s, (c) => c.records.length >= 4);
    assert.equal(c.records.length, 4);
    assert.ok(hasKplMagic(c.records[1]!.data));
  } finally {
    await s.close();
  }
});
