import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.js';
import { SHARD_END } from '../../src/source/source.js';
import { compareKinesisPositions, formatKinesisPosition, parseKinesisPosition } from '../../src/source/kinesis/position.js';

const SEQ = '49680529610830227735031978344222056548710119709838671874';

test('positions round-trip through strings', () => {
  assert.equal(formatKinesisPosition({ sequenceNumber: SEQ }), SEQ);
  assert.equal(formatKinesisPosition({ sequenceNumber: SEQ, subSequence: 3 }), `${SEQ}:3`);
  assert.deepEqual(parseKinesisPosition(SEQ), { sequenceNumber: SEQ });
  assert.deepEqual(parseKinesisPosition(`${SEQ}:0`), { sequenceNumber: SEQ, subSequence: 0 });
  assert.deepEqual(parseKinesisPosition(`${SEQ}:12`), { sequenceNumber: SEQ, subSequence: 12 });
  assert.equal(parseKinesisPosition(SHARD_END), SHARD_END);
});

test('malformed positions are rejected with the value and what it was', () => {
  for (const bad of ['', 'abc', '-1', '01', `${SEQ}:`, `${SEQ}:x`, `${SEQ}:01`, `${SEQ}:1:2`, 'shard_end', '1'.repeat(129)]) {
    assert.throws(
      () => parseKinesisPosition(bad, 'checkpoint of shardId-000000000000'),
      (e: unknown) => e instanceof ValidationError && e.message.startsWith('kinesis: checkpoint of shardId-000000000000'),
      `expected "${bad}" to be rejected`,
    );
  }
  assert.throws(() => formatKinesisPosition({ sequenceNumber: 'x' }), ValidationError);
  assert.throws(() => formatKinesisPosition({ sequenceNumber: SEQ, subSequence: -1 }), ValidationError);
});

test('comparison is numeric, sub-records before the whole record, SHARD_END last', () => {
  assert.ok(compareKinesisPositions('9', '10') < 0, 'numeric, not lexicographic');
  assert.ok(compareKinesisPositions('10:0', '10:1') < 0);
  assert.ok(compareKinesisPositions('10:2', '10:10') < 0, 'sub-sequence numeric');
  assert.ok(compareKinesisPositions('10:10', '10') < 0, 'bare sequence = whole record consumed');
  assert.ok(compareKinesisPositions('10', '10:10') > 0);
  assert.equal(compareKinesisPositions('10', '10'), 0);
  assert.ok(compareKinesisPositions(SEQ, SHARD_END) < 0);
  assert.ok(compareKinesisPositions(SHARD_END, SEQ) > 0);
  assert.equal(compareKinesisPositions(SHARD_END, SHARD_END), 0);
  assert.ok(compareKinesisPositions(SEQ.slice(0, -1), `${SEQ}:0`) < 0, 'beyond 2^53 compared exactly');
  assert.ok(compareKinesisPositions(`${SEQ.slice(0, -1)}5`, `${SEQ.slice(0, -1)}4`) > 0);
  const shuffled = [SHARD_END, '10', `${SEQ}:0`, '10:1', '9', SEQ, '10:0'];
  assert.deepEqual([...shuffled].sort(compareKinesisPositions), ['9', '10:0', '10:1', '10', `${SEQ}:0`, SEQ, SHARD_END]);
});
