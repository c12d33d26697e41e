import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planShards, type LineageView, type ShardDecision, type ShardNode } from '../../src/source/kinesis/lineage.js';
import { SHARD_END, type InitialPosition } from '../../src/source/source.js';

// A stream that was split and merged:  A ─┬─ B ─┐
//                                         └─ C ─┴─ D (merge of B and C)      E (unrelated, open)
const shards: ShardNode[] = [
  { shardId: 'A', closed: true },
  { shardId: 'B', parentShardId: 'A', closed: true },
  { shardId: 'C', parentShardId: 'A', closed: true },
  { shardId: 'D', parentShardId: 'B', adjacentParentShardId: 'C', closed: false },
  { shardId: 'E', closed: false },
];

function view(over: Partial<LineageView> = {}, list: ShardNode[] = shards): LineageView {
  return {
    shards: new Map(list.map((s) => [s.shardId, s])),
    checkpoints: new Map(),
    decided: new Map(),
    endedCommitted: new Set(),
    initial: { type: 'TRIM_HORIZON' },
    firstDiscovery: true,
    ...over,
  };
}

const kinds = (m: Map<string, ShardDecision>): Record<string, string> =>
  Object.fromEntries([...m].map(([k, d]) => [k, d.kind === 'read' ? `read:${d.start.type}` : d.kind === 'wait' ? `wait:${d.waitingFor.join('+')}` : d.kind]));

test('TRIM_HORIZON: roots read, children wait for their parents', () => {
  assert.deepEqual(kinds(planShards(view())), { A: 'read:TRIM_HORIZON', B: 'wait:A', C: 'wait:A', D: 'wait:B+C', E: 'read:TRIM_HORIZON' });
});

test('children start at TRIM_HORIZON only after every parent end is committed', () => {
  const first = planShards(view());
  const v2 = view({ decided: first, endedCommitted: new Set(['A']), firstDiscovery: false });
  const second = planShards(v2);
  assert.deepEqual(kinds(second), { B: 'read:TRIM_HORIZON', C: 'read:TRIM_HORIZON', D: 'wait:B+C' });
  const decided = new Map([...first, ...second]);
  assert.deepEqual(kinds(planShards(view({ decided, endedCommitted: new Set(['A', 'B']), firstDiscovery: false }))), { D: 'wait:C' });
  assert.deepEqual(kinds(planShards(view({ decided, endedCommitted: new Set(['A', 'B', 'C']), firstDiscovery: false }))), { D: 'read:TRIM_HORIZON' });
});

test('checkpoints: SHARD_END is done, positions resume, sub-sequence kept', () => {
  const checkpoints = new Map([
    ['A', SHARD_END],
    ['B', SHARD_END],
    ['C', '123:4'],
    ['E', '77'],
  ]);
  const p = planShards(view({ checkpoints }));
  assert.deepEqual(kinds(p), { A: 'done', B: 'done', C: 'read:AFTER', D: 'wait:C', E: 'read:AFTER' });
  const c = p.get('C');
  assert.ok(c?.kind === 'read' && c.start.type === 'AFTER');
  assert.deepEqual(c.start.position, { sequenceNumber: '123', subSequence: 4 });
});

test('a shard with a checkpointed descendant is done even without its own checkpoint', () => {
  const p = planShards(view({ checkpoints: new Map([['D', '5']]) }));
  assert.deepEqual(kinds(p), { A: 'done', B: 'done', C: 'done', D: 'read:AFTER', E: 'read:TRIM_HORIZON' });
});

test('parents trimmed from the stream do not block their children', () => {
  const trimmed = shards.filter((s) => s.shardId !== 'A' && s.shardId !== 'B');
  assert.deepEqual(kinds(planShards(view({}, trimmed))), { C: 'read:TRIM_HORIZON', D: 'wait:C', E: 'read:TRIM_HORIZON' });
});

test('LATEST: closed shards at startup are skipped and open ones start LATEST', () => {
  const p = planShards(view({ initial: { type: 'LATEST' } }));
  assert.deepEqual(kinds(p), { A: 'skip', B: 'skip', C: 'skip', D: 'read:LATEST', E: 'read:LATEST' });
});

test('LATEST: shards appearing later start at TRIM_HORIZON (all of their data is new)', () => {
  const first = planShards(view({ initial: { type: 'LATEST' } }, [{ shardId: 'E', closed: false }]));
  const after = [
    { shardId: 'E', closed: true },
    { shardId: 'F', parentShardId: 'E', closed: false },
    { shardId: 'G', parentShardId: 'E', closed: false },
    { shardId: 'H', closed: false },
  ];
  const v = view({ initial: { type: 'LATEST' }, decided: first, firstDiscovery: false }, after);
  assert.deepEqual(kinds(planShards(v)), { F: 'wait:E', G: 'wait:E', H: 'read:TRIM_HORIZON' });
  assert.deepEqual(kinds(planShards({ ...v, endedCommitted: new Set(['E']) })), { F: 'read:TRIM_HORIZON', G: 'read:TRIM_HORIZON', H: 'read:TRIM_HORIZON' });
});

test('LATEST with a checkpointed closed parent: its children inherit TRIM_HORIZON', () => {
  const p = planShards(view({ initial: { type: 'LATEST' }, checkpoints: new Map([['A', '9']]) }));
  assert.deepEqual(kinds(p), { A: 'read:AFTER', B: 'wait:A', C: 'wait:A', D: 'wait:B+C', E: 'read:LATEST' });
});

test('AT_TIMESTAMP is inherited by children of AT_TIMESTAMP parents, not of resumed ones', () => {
  const initial: InitialPosition = { type: 'AT_TIMESTAMP', timestampMs: 1_700_000_000_000 };
  const first = planShards(view({ initial }));
  assert.deepEqual(kinds(first), { A: 'read:AT_TIMESTAMP', B: 'wait:A', C: 'wait:A', D: 'wait:B+C', E: 'read:AT_TIMESTAMP' });
  const second = planShards(view({ initial, decided: first, endedCommitted: new Set(['A']), firstDiscovery: false }));
  const b = second.get('B');
  assert.ok(b?.kind === 'read' && b.start.type === 'AT_TIMESTAMP' && b.start.timestampMs === initial.timestampMs);

  const resumed = planShards(view({ initial, checkpoints: new Map([['A', '9']]) }));
  const v = view({ initial, checkpoints: new Map([['A', '9']]), decided: resumed, endedCommitted: new Set(['A']), firstDiscovery: false });
  assert.deepEqual(kinds(planShards(v)), { B: 'read:TRIM_HORIZON', C: 'read:TRIM_HORIZON', D: 'wait:B+C' });
});

test('final decisions are not revisited; a corrupt cyclic listing does not hang', () => {
  const decided = new Map<string, ShardDecision>([['A', { kind: 'read', start: { type: 'TRIM_HORIZON' } }]]);
  assert.equal(planShards(view({ decided })).has('A'), false);
  const cyclic: ShardNode[] = [
    { shardId: 'X', parentShardId: 'Y', closed: true },
    { shardId: 'Y', parentShardId: 'X', closed: true },
  ];
  const p = planShards(view({}, cyclic));
  assert.equal(p.size, 2);
});

test('malformed checkpoints are reported with the shard', () => {
  assert.throws(() => planShards(view({ checkpoints: new Map([['A', 'nope']]) })), /checkpoint of A/);
});
