/**
 * `source.application` and `source.lease`: the lease table's name and the lease timing, checked
 * before any work like every key (unknown keys, bad durations, a lease section without a table).
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

function refused(source: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => validateConfig(base(source)),
    (e: unknown) => e instanceof ValidationError && /^config: source\./.test(e.message) && pattern.test(e.message),
  );
}

describe('source.application and source.lease', () => {
  test('absent: a single process, no lease settings', () => {
    const c = validateConfig(base({}));
    assert.equal(c.source.application, undefined);
    assert.equal(c.source.lease, undefined);
  });

  test('application alone: the KCL defaults (failover 10 s)', () => {
    const c = validateConfig(base({ application: 'orders-ingest' }));
    assert.equal(c.source.application, 'orders-ingest');
    assert.deepEqual(c.source.lease, { failoverTimeMs: 10_000 });
  });

  test('every lease key, from YAML', () => {
    const c = parseConfig(
      ['source:', '  stream: events', '  application: orders.ingest_v2', '  lease:', '    failover_time: 20s', '    renew_interval: 5s', '    max_leases_per_worker: 16',
        'table:', '  name: db.events', 'transform:', '  columns:', '    id: string'].join('\n'),
    );
    assert.deepEqual(c.source.lease, { failoverTimeMs: 20_000, renewIntervalMs: 5_000, maxLeasesPerWorker: 16 });
  });

  test('an application name DynamoDB cannot hold as a table name', () => {
    refused({ application: 'orders ingest' }, /^config: source\.application: 'orders ingest' cannot name a DynamoDB table/);
    refused({ application: 'ab' }, /cannot name a DynamoDB table/);
    refused({ application: 'x'.repeat(256) }, /cannot name a DynamoDB table/);
    refused({ application: '' }, /source\.application: must be a non-empty string/);
  });

  test('lease settings without an application', () => {
    refused({ lease: { failover_time: '10s' } }, /^config: source\.lease: only used with source\.application/);
  });

  test('unknown and malformed lease keys name the key', () => {
    refused({ application: 'app', lease: { failover: '10s' } }, /^config: source\.lease\.failover: unknown key \(allowed: failover_time, renew_interval, max_leases_per_worker\)/);
    refused({ application: 'app', lease: 'fast' }, /^config: source\.lease: must be a mapping/);
    refused({ application: 'app', lease: { failover_time: 'soon' } }, /^config: source\.lease\.failover_time: invalid duration "soon"/);
    refused({ application: 'app', lease: { failover_time: '50ms' } }, /failover_time: must be at least 100ms/);
    refused({ application: 'app', lease: { failover_time: '30d' } }, /failover_time: must be at most 24d/);
    refused({ application: 'app', lease: { failover_time: '10s', renew_interval: '6s' } }, /renew_interval: must be between 10ms and half of failover_time \(5000ms\), got "6s"/);
    refused({ application: 'app', lease: { renew_interval: '5ms' } }, /renew_interval: must be between 10ms/);
    refused({ application: 'app', lease: { max_leases_per_worker: 0 } }, /^config: source\.lease\.max_leases_per_worker: must be a positive integer, got 0/);
    refused({ application: 'app', lease: { max_leases_per_worker: 2.5 } }, /max_leases_per_worker: must be a positive integer/);
  });
});
