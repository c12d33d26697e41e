/** Snapshot lookup, refs, time travel, ancestry, new ids. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import type { Snapshot, TableMetadata } from '../../src/iceberg/metadata.js';
import {
  ancestors,
  currentSnapshot,
  findSnapshot,
  isAncestorOf,
  newSnapshotId,
  snapshotAsOf,
  snapshotById,
  snapshotForRef,
} from '../../src/iceberg/snapshot.js';
import { newTableMetadata, parseTableMetadata } from '../../src/iceberg/table-metadata.js';
import { applyUpdates } from '../../src/iceberg/update-metadata.js';
import { fixturePath, SKIP_NO_SHARED } from '../helpers/shared.js';

const A = 9007199254740993n;
const B = 9007199254740995n;
const C = 9007199254740997n;
const T = 1_700_000_000_000;

const snap = (id: bigint, seq: bigint, ts: number, parent?: bigint): Snapshot => ({
  'snapshot-id': id,
  ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
  'sequence-number': seq,
  'timestamp-ms': ts,
  'manifest-list': `file:///t/snap-${id}.avro`,
  summary: { operation: 'append' },
});

/** main: A (T+10) → B (T+20) → C (T+30); tag `first` at A; branch `dev` at B. */
function table(): TableMetadata {
  let md = newTableMetadata({
    location: 'file:///t',
    schema: { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'a', required: false, type: 'int' }] },
    nowMs: T,
  });
  for (const [id, seq, ts, parent] of [[A, 1n, T + 10, undefined], [B, 2n, T + 20, A], [C, 3n, T + 30, B]] as const) {
    md = applyUpdates(md, [
      { action: 'add-snapshot', snapshot: snap(id, seq, ts, parent) },
      { action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': id, type: 'branch' },
    ], ts);
  }
  return applyUpdates(md, [
    { action: 'set-snapshot-ref', 'ref-name': 'first', 'snapshot-id': A, type: 'tag' },
    { action: 'set-snapshot-ref', 'ref-name': 'dev', 'snapshot-id': B, type: 'branch' },
  ], T + 40);
}

test('currentSnapshot, snapshotById, findSnapshot', () => {
  const md = table();
  assert.equal(currentSnapshot(md)?.['snapshot-id'], C);
  assert.equal(snapshotById(md, B)['timestamp-ms'], T + 20);
  assert.equal(findSnapshot(md, 5n), undefined);
  assert.throws(() => snapshotById(md, 5n), (e: unknown) => e instanceof ValidationError && e.message === 'metadata: snapshot 5 not found');
  const empty = newTableMetadata({ location: 'l', schema: { type: 'struct', 'schema-id': 0, fields: [] } });
  assert.equal(currentSnapshot(empty), undefined);
});

test('snapshotForRef resolves branches and tags; unknown refs are undefined', () => {
  const md = table();
  assert.equal(snapshotForRef(md, 'main')?.['snapshot-id'], C);
  assert.equal(snapshotForRef(md, 'first')?.['snapshot-id'], A);
  assert.equal(snapshotForRef(md, 'dev')?.['snapshot-id'], B);
  assert.equal(snapshotForRef(md, 'nope'), undefined);
});

test('snapshotAsOf: the latest log entry at or before the time', () => {
  const md = table();
  assert.equal(snapshotAsOf(md, T + 10)['snapshot-id'], A);
  assert.equal(snapshotAsOf(md, T + 19)['snapshot-id'], A);
  assert.equal(snapshotAsOf(md, T + 20)['snapshot-id'], B);
  assert.equal(snapshotAsOf(md, T + 10_000)['snapshot-id'], C);
  assert.throws(() => snapshotAsOf(md, T + 9), (e: unknown) => {
    assert.ok(e instanceof ValidationError);
    assert.match(e.message, /^metadata: cannot time travel to .*: it is before the oldest snapshot, at 2023-11-14T22:13:20\.010Z/);
    return true;
  });
  const empty = newTableMetadata({ location: 'l', schema: { type: 'struct', 'schema-id': 0, fields: [] } });
  assert.throws(() => snapshotAsOf(empty, T), /the table has no snapshots/);
});

test('snapshotAsOf follows a rollback recorded in the log', () => {
  const md = applyUpdates(table(), [{ action: 'set-snapshot-ref', 'ref-name': 'main', 'snapshot-id': A, type: 'branch' }], T + 50);
  assert.equal(snapshotAsOf(md, T + 45)['snapshot-id'], C);
  assert.equal(snapshotAsOf(md, T + 50)['snapshot-id'], A);
});

test('snapshotAsOf without a snapshot log walks main by snapshot timestamps', () => {
  const md = { ...table(), 'snapshot-log': [] };
  assert.equal(snapshotAsOf(md, T + 25)['snapshot-id'], B);
  assert.equal(snapshotAsOf(md, T + 30)['snapshot-id'], C);
  assert.throws(() => snapshotAsOf(md, T), /before the oldest snapshot/);
});

test('ancestors walks parents and stops where history was expired', () => {
  const md = table();
  assert.deepEqual([...ancestors(md, C)].map((s) => s['snapshot-id']), [C, B, A]);
  assert.deepEqual([...ancestors(md, A)].map((s) => s['snapshot-id']), [A]);
  assert.ok(isAncestorOf(md, C, A));
  assert.ok(isAncestorOf(md, C, C));
  assert.ok(!isAncestorOf(md, A, C));
  const expired = applyUpdates(md, [
    { action: 'remove-snapshot-ref', 'ref-name': 'first' },
    { action: 'remove-snapshots', 'snapshot-ids': [A] },
  ], T + 60);
  assert.deepEqual([...ancestors(expired, C)].map((s) => s['snapshot-id']), [C, B]);
  assert.throws(() => [...ancestors(expired, A)], /snapshot 9007199254740993 not found/);
});

test('ancestors terminates on a corrupt parent cycle', () => {
  const md = table();
  const cyclic: TableMetadata = { ...md, snapshots: md.snapshots.map((s) => (s['snapshot-id'] === A ? { ...s, 'parent-snapshot-id': C } : s)) };
  assert.deepEqual([...ancestors(cyclic, C)].map((s) => s['snapshot-id']), [C, B, A]);
});

test('newSnapshotId: positive 63-bit, random', () => {
  const ids = new Set<bigint>();
  for (let i = 0; i < 1000; i++) {
    const id = newSnapshotId();
    assert.equal(typeof id, 'bigint');
    assert.ok(id > 0n && id < 2n ** 63n, String(id));
    ids.add(id);
  }
  assert.equal(ids.size, 1000);
  // Most ids must exceed 2^53: they are uniformly spread over 63 bits.
  assert.ok([...ids].filter((id) => id > 2n ** 53n).length > 990);
});

test('engine table: ancestry and time travel over a Spark history', { skip: SKIP_NO_SHARED }, () => {
  const path = fixturePath('iceberg-tables', 'spark_v2_posdeletes_schemaevol', 'pyspark_iceberg_table', 'metadata', 'v9.metadata.json');
  const md = parseTableMetadata(readFileSync(path, 'utf8'), path);
  const chain = [...ancestors(md, md['current-snapshot-id'] as bigint)].map((s) => s['snapshot-id'].toString());
  assert.deepEqual(chain, [
    '4786266686210019019',
    '3119545726281138740',
    '4440319347650982524',
    '6585012225877417653',
    '6287117141668015642',
    '4037069315291880534',
    '764624380497366583',
  ]);
  assert.equal(snapshotAsOf(md, 1719580929047)['snapshot-id'], 6287117141668015642n);
  assert.equal(snapshotAsOf(md, 1719580929660)['snapshot-id'], 6287117141668015642n);
  assert.throws(() => snapshotAsOf(md, 1719580927569), /before the oldest snapshot/);
});
