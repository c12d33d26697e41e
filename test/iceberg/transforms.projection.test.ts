/**
 * Transform parsing, applicability, result types, human strings of identity values, and the
 * inclusive predicate projections used for partition pruning.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import {
  applyTransform,
  canTransform,
  parseTransform,
  projectInclusive,
  toHumanString,
  transformResultType,
  transformToString,
} from '../../src/iceberg/transforms.js';
import type { ColumnPredicate } from '../../src/iceberg/transforms.js';
import type { IcebergType, IcebergValue } from '../../src/iceberg/types.js';

test('parseTransform / transformToString round-trip, unknown kept verbatim', () => {
  for (const s of ['identity', 'bucket[16]', 'truncate[4]', 'year', 'month', 'day', 'hour', 'void']) {
    assert.equal(transformToString(parseTransform(s)), s);
  }
  assert.deepEqual(parseTransform('bucket[16]'), { kind: 'bucket', numBuckets: 16 });
  assert.deepEqual(parseTransform('truncate[ 4 ]'), { kind: 'truncate', width: 4 });
  assert.equal(transformToString(parseTransform('DAYS')), 'day');
  const z = parseTransform('zorder[1,2]');
  assert.deepEqual(z, { kind: 'unknown', text: 'zorder[1,2]' });
  assert.equal(transformToString(z), 'zorder[1,2]');
  assert.throws(() => applyTransform(z, 'int', 1), UnsupportedError);
  assert.throws(() => parseTransform('bucket[0]'), ValidationError);
});

test('canTransform follows the spec source-type table', () => {
  const t = (s: string, type: IcebergType) => canTransform(parseTransform(s), type);
  assert.ok(t('identity', 'string'));
  assert.ok(!t('identity', 'variant'));
  assert.ok(!t('identity', 'geometry'));
  assert.ok(!t('identity', { type: 'list', 'element-id': 1, element: 'int', 'element-required': true }));
  assert.ok(t('bucket[4]', 'uuid') && t('bucket[4]', 'timestamptz_ns') && t('bucket[4]', 'fixed[3]'));
  assert.ok(!t('bucket[4]', 'boolean') && !t('bucket[4]', 'float') && !t('bucket[4]', 'double'));
  assert.ok(t('truncate[4]', 'decimal(9, 2)') && t('truncate[4]', 'binary'));
  assert.ok(!t('truncate[4]', 'fixed[3]') && !t('truncate[4]', 'date'));
  assert.ok(t('year', 'date') && t('day', 'timestamp_ns'));
  assert.ok(!t('hour', 'date') && t('hour', 'timestamptz'));
  assert.ok(t('void', 'boolean'));
  assert.ok(!t('zorder', 'int'));
});

test('result types: bucket/year/month/hour int, day date, identity/truncate/void source type', () => {
  const r = (s: string, type: IcebergType) => transformResultType(parseTransform(s), type);
  assert.equal(r('bucket[4]', 'string'), 'int');
  assert.equal(r('year', 'timestamp'), 'int');
  assert.equal(r('month', 'date'), 'int');
  assert.equal(r('hour', 'timestamptz'), 'int');
  assert.equal(r('day', 'timestamp'), 'date');
  assert.equal(r('identity', 'decimal(9, 2)'), 'decimal(9, 2)');
  assert.equal(r('truncate[3]', 'string'), 'string');
  assert.equal(r('void', 'long'), 'long');
  assert.equal(r('mystery', 'long'), 'string');
  assert.throws(() => r('hour', 'date'), /transform: hour cannot be applied to date/);
});

test('human strings of identity and truncate values match the reference implementation', () => {
  const h = (t: string, type: IcebergType, v: IcebergValue) => toHumanString(parseTransform(t), type, v);
  assert.equal(h('identity', 'string', 'a b/c'), 'a b/c');
  assert.equal(h('identity', 'int', -3), '-3');
  assert.equal(h('identity', 'long', 9007199254740993n), '9007199254740993');
  assert.equal(h('identity', 'boolean', true), 'true');
  assert.equal(h('identity', 'date', 18993), '2022-01-01');
  assert.equal(h('identity', 'time', 36000000000n), '10:00');
  assert.equal(h('identity', 'time', 36000500000n), '10:00:00.500');
  assert.equal(h('identity', 'timestamp', 1512151975038194n), '2017-12-01T18:12:55.038194');
  assert.equal(h('identity', 'timestamptz', 1512151975000000n), '2017-12-01T18:12:55Z');
  assert.equal(h('identity', 'timestamp_ns', 1512151975038194001n), '2017-12-01T18:12:55.038194001');
  assert.equal(h('identity', 'decimal(9, 2)', -5n), '-0.05');
  assert.equal(h('truncate[10]', 'decimal(9, 2)', 1230n), '12.30');
  assert.equal(h('identity', 'binary', Uint8Array.of(0, 1, 2, 3)), 'AAECAw==');
  assert.equal(h('identity', 'uuid', 'f79c3e09-677c-4bbd-a479-3f349cb785e7'), 'f79c3e09-677c-4bbd-a479-3f349cb785e7');
  assert.equal(h('identity', 'double', 1), '1.0');
  assert.equal(h('identity', 'double', 1e10), '1.0E10');
  assert.equal(h('identity', 'double', 0.0001), '1.0E-4');
  assert.equal(h('identity', 'float', Math.fround(0.1)), '0.1');
  assert.equal(h('identity', 'double', 123.456), '123.456');
  assert.equal(h('bucket[16]', 'string', 7), '7');
  assert.equal(h('void', 'string', null), 'null');
});

const proj = (t: string, type: IcebergType, pred: ColumnPredicate) => projectInclusive(parseTransform(t), type, pred);

test('identity projects every operator unchanged', () => {
  for (const op of ['=', '!=', '<', '<=', '>', '>=', 'starts_with'] as const) {
    assert.deepEqual(proj('identity', 'string', { op, literal: 'a' }), { op, literal: 'a' });
  }
  assert.deepEqual(proj('identity', 'int', { op: 'not_in', literals: [1, 2] }), { op: 'not_in', literals: [1, 2] });
  assert.deepEqual(proj('identity', 'double', { op: 'is_nan' }), { op: 'is_nan' });
});

test('bucket projects only = and in (and null checks)', () => {
  assert.deepEqual(proj('bucket[100]', 'int', { op: '=', literal: 34 }), { op: '=', literal: 79 });
  assert.deepEqual(proj('bucket[4]', 'int', { op: 'in', literals: [1, 2, 3] }), { op: 'in', literals: [0, 3] });
  assert.deepEqual(proj('bucket[4]', 'int', { op: 'is_null' }), { op: 'is_null' });
  assert.deepEqual(proj('bucket[4]', 'int', { op: 'not_null' }), { op: 'not_null' });
  for (const op of ['<', '<=', '>', '>=', '!='] as const) {
    assert.equal(proj('bucket[4]', 'int', { op, literal: 1 }), undefined, op);
  }
  assert.equal(proj('bucket[4]', 'int', { op: 'not_in', literals: [1] }), undefined);
});

test('truncate projects ranges on integers and decimals through the neighbour value', () => {
  assert.deepEqual(proj('truncate[10]', 'int', { op: '<', literal: 20 }), { op: '<=', literal: 10 });
  assert.deepEqual(proj('truncate[10]', 'int', { op: '<=', literal: 20 }), { op: '<=', literal: 20 });
  assert.deepEqual(proj('truncate[10]', 'int', { op: '>', literal: 19 }), { op: '>=', literal: 20 });
  assert.deepEqual(proj('truncate[10]', 'int', { op: '>=', literal: 19 }), { op: '>=', literal: 10 });
  assert.deepEqual(proj('truncate[10]', 'long', { op: '=', literal: -1n }), { op: '=', literal: -10n });
  assert.deepEqual(proj('truncate[10]', 'decimal(9, 2)', { op: '<', literal: 1230n }), { op: '<=', literal: 1220n });
  assert.deepEqual(proj('truncate[10]', 'int', { op: 'in', literals: [1, 5, 11] }), { op: 'in', literals: [0, 10] });
  assert.equal(proj('truncate[10]', 'int', { op: '!=', literal: 5 }), undefined);
});

test('truncate projects string ranges to <= / >= and starts_with', () => {
  assert.deepEqual(proj('truncate[3]', 'string', { op: '<', literal: 'iceberg' }), { op: '<=', literal: 'ice' });
  assert.deepEqual(proj('truncate[3]', 'string', { op: '>', literal: 'iceberg' }), { op: '>=', literal: 'ice' });
  assert.deepEqual(proj('truncate[3]', 'string', { op: '=', literal: 'iceberg' }), { op: '=', literal: 'ice' });
  assert.deepEqual(proj('truncate[3]', 'string', { op: 'starts_with', literal: 'iceberg' }), { op: 'starts_with', literal: 'ice' });
  assert.deepEqual(proj('truncate[3]', 'string', { op: 'starts_with', literal: 'ic' }), { op: 'starts_with', literal: 'ic' });
  const bin = proj('truncate[2]', 'binary', { op: '<=', literal: Uint8Array.of(1, 2, 3) });
  assert.deepEqual(bin, { op: '<=', literal: Uint8Array.of(1, 2) });
});

test('temporal transforms project ranges; negative results widen for old writers', () => {
  const ts = 1512151975038194n; // 2017-12-01T18:12:55.038194
  assert.deepEqual(proj('day', 'timestamp', { op: '>', literal: ts }), { op: '>=', literal: 17501 });
  assert.deepEqual(proj('day', 'timestamp', { op: '<', literal: 1512086400000000n }), { op: '<=', literal: 17500 });
  assert.deepEqual(proj('hour', 'timestamptz', { op: '=', literal: ts }), { op: '=', literal: 420042 });
  assert.deepEqual(proj('month', 'date', { op: '>=', literal: 17501 }), { op: '>=', literal: 575 });
  assert.deepEqual(proj('year', 'timestamp', { op: '<=', literal: ts }), { op: '<=', literal: 47 });
  // Pre-epoch: = becomes in (v, v+1), <= v becomes <= v+1.
  assert.deepEqual(proj('day', 'timestamp', { op: '=', literal: -1n }), { op: 'in', literals: [-1, 0] });
  assert.deepEqual(proj('year', 'date', { op: '<=', literal: -1 }), { op: '<=', literal: 0 });
  assert.deepEqual(proj('month', 'timestamp', { op: 'in', literals: [-1n, ts] }), { op: 'in', literals: [-1, 575, 0] });
  // day of a date is the date itself: no widening.
  assert.deepEqual(proj('day', 'date', { op: '=', literal: -1 }), { op: '=', literal: -1 });
  assert.equal(proj('day', 'timestamp', { op: '!=', literal: ts }), undefined);
  assert.deepEqual(proj('day', 'timestamp', { op: 'is_null' }), { op: 'is_null' });
});

test('void and unknown transforms project nothing', () => {
  assert.equal(proj('void', 'int', { op: '=', literal: 1 }), undefined);
  assert.equal(proj('void', 'int', { op: 'is_null' }), undefined);
  assert.equal(proj('zorder', 'int', { op: '=', literal: 1 }), undefined);
});

test('projections are inclusive: every matching value lands in a matching partition', () => {
  // Brute force over a small domain: for each predicate, each value that satisfies it must have a
  // partition value satisfying the projection.
  const cmp = (a: number, b: number) => a - b;
  const holds = (op: string, a: number, b: number | number[]) => {
    switch (op) {
      case '=':
        return cmp(a, b as number) === 0;
      case '<':
        return a < (b as number);
      case '<=':
        return a <= (b as number);
      case '>':
        return a > (b as number);
      case '>=':
        return a >= (b as number);
      case 'in':
        return (b as number[]).includes(a);
      default:
        throw new Error(op);
    }
  };
  for (const t of ['truncate[7]', 'bucket[5]', 'identity']) {
    for (const op of ['=', '<', '<=', '>', '>='] as const) {
      for (let lit = -20; lit <= 20; lit++) {
        const p = proj(t, 'int', { op, literal: lit });
        if (!p) continue;
        for (let v = -40; v <= 40; v++) {
          if (!holds(op, v, lit)) continue;
          const pv = applyTransform(parseTransform(t), 'int', v) as number;
          assert.ok(holds(p.op, pv, (p.literal ?? p.literals) as number | number[]), `${t} ${v} ${op} ${lit} → ${JSON.stringify(p)}`);
        }
      }
    }
  }
  for (const t of ['year', 'month', 'day']) {
    for (const op of ['=', '<', '<=', '>', '>='] as const) {
      for (let lit = -800; lit <= 800; lit += 37) {
        const p = proj(t, 'date', { op, literal: lit });
        assert.ok(p);
        for (let v = -1200; v <= 1200; v += 7) {
          if (!holds(op, v, lit)) continue;
          const pv = applyTransform(parseTransform(t), 'date', v) as number;
          assert.ok(holds(p.op, pv, (p.literal ?? p.literals) as number | number[]), `${t} ${v} ${op} ${lit}`);
        }
      }
    }
  }
});
