/**
 * `source.consumer` (enhanced fan-out): a consumer name as Kinesis takes it, checked before any
 * work; absent, the shards are read by GetRecords.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.js';
import { parseConfig, validateConfig } from '../../src/pipeline/config.js';

const base = (source: Record<string, unknown>): unknown => ({
  source: { stream: 'events', ...source },
  table: { name: 'db.events' },
  transform: { columns: { id: 'string' } },
});

describe('source.consumer', () => {
  test('absent: GetRecords', () => {
    assert.equal(validateConfig(base({})).source.consumer, undefined);
  });

  test('a name, with or without leases, from YAML', () => {
    assert.equal(validateConfig(base({ consumer: 'orders.ingest-v2_a' })).source.consumer, 'orders.ingest-v2_a');
    const c = parseConfig(['source:', '  stream: events', '  consumer: fanout', '  application: app', 'table:', '  name: db.events', 'transform:', '  columns:', '    id: string'].join('\n'));
    assert.equal(c.source.consumer, 'fanout');
    assert.equal(c.source.application, 'app');
  });

  for (const [value, pattern] of [
    ['', /source\.consumer/],
    ['has space', /source\.consumer: "has space" is not a valid consumer name/],
    ['x'.repeat(129), /not a valid consumer name/],
    ['a/b', /not a valid consumer name/],
    [42, /source\.consumer/],
  ] as const) {
    test(`refused: ${JSON.stringify(value).slice(0, 30)}`, () => {
      assert.throws(
        () => validateConfig(base({ consumer: value })),
        (e: unknown) => e instanceof ValidationError && /^config: source\.consumer/.test(e.message) && pattern.test(e.message),
      );
    });
  }
});
