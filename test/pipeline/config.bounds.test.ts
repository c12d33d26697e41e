/**
 * Upper bounds of durations and sizes, and the orphan window's floor (issue 12). Node's timers
 * hold at most 2^31-1 ms: `commit.interval: 25d` or `discovery_interval: 30d` used to pass and
 * then fire every millisecond (28% CPU, ~860 warnings/s). Every error names the key.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../../src/errors.js';
import { MAX_AGE_MS, MAX_FILE_SIZE_BYTES, MAX_INTERVAL_MS, parseDuration, parseSize, validateConfig } from '../../src/pipeline/config.js';

const BASE = { source: { stream: 's' }, table: { name: 'db.t' }, transform: { columns: { a: 'string' } } };
const DAY = 86_400_000;

function with_(section: string, value: Record<string, unknown>): Record<string, unknown> {
  return { ...BASE, [section]: { ...(BASE as Record<string, unknown>)[section] as object, ...value } };
}

function refused(raw: unknown, pattern: RegExp): void {
  assert.throws(
    () => validateConfig(raw),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError, `a ValidationError, got ${String(e)}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('durations that feed timers: at most 24d', () => {
  test('the issue\'s values fail naming the key', () => {
    refused(with_('commit', { interval: '25d' }), /^config: commit\.interval: must be at most 24d \(timers wait at most 2\^31-1 ms, about 24\.8 days\), got "25d"/);
    refused(with_('source', { discovery_interval: '30d' }), /^config: source\.discovery_interval: must be at most 24d/);
    refused(with_('commit', { interval: 2_592_000_000 }), /^config: commit\.interval: must be at most 24d/);
    refused(with_('commit', { interval: '9'.repeat(400) }), /^config: commit\.interval: must be at most 24d/);
    for (const task of ['compact', 'rewrite_manifests', 'expire_snapshots', 'remove_orphans']) {
      refused({ ...BASE, maintenance: { [task]: { interval: '25d' } } }, new RegExp(`^config: maintenance\\.${task}\\.interval: must be at most 24d`));
    }
  });
  test('24d itself is accepted everywhere and fits a timer', () => {
    assert.ok(MAX_INTERVAL_MS <= 2 ** 31 - 1);
    const c = validateConfig({
      ...BASE,
      source: { stream: 's', discovery_interval: '24d' },
      commit: { interval: '24d' },
      maintenance: { compact: { interval: '24d' }, remove_orphans: { interval: '24d' } },
    });
    assert.equal(c.commit.intervalMs, 24 * DAY);
    assert.equal(c.source.discoveryIntervalMs, 24 * DAY);
    assert.equal(c.maintenance!.compact.intervalMs, 24 * DAY);
  });
  test('ages are cutoffs, not timers: up to 3650d', () => {
    const c = validateConfig({ ...BASE, maintenance: { expire_snapshots: { older_than: '365d' }, remove_orphans: { older_than: '3650d' } } });
    assert.equal(c.maintenance!.expireSnapshots.olderThanMs, 365 * DAY);
    assert.equal(c.maintenance!.removeOrphans.olderThanMs, MAX_AGE_MS);
    refused({ ...BASE, maintenance: { expire_snapshots: { older_than: '3651d' } } }, /^config: maintenance\.expire_snapshots\.older_than: must be at most 3650d, got "3651d"/);
  });
  test('parseDuration: the bound is a parameter, the default is the timer bound', () => {
    assert.equal(parseDuration('24d', 'k'), 24 * DAY);
    assert.throws(() => parseDuration('24d', 'x.y', DAY), /^ValidationError: config: x\.y: must be at most 1d, got "24d"/);
    assert.throws(() => parseDuration(24 * DAY + 1, 'x.y'), /config: x\.y: must be at most 24d/);
  });
});

describe('sizes: at most 16GiB for files and buffers, 1TiB for anything else', () => {
  test('commit and compaction sizes', () => {
    refused(with_('commit', { max_bytes: '17GiB' }), /^config: commit\.max_bytes: must be at most 16GiB, got "17GiB"/);
    refused(with_('commit', { target_file_size: 1e300 }), /^config: commit\.target_file_size: must be at most 16GiB/);
    refused({ ...BASE, maintenance: { compact: { target_file_size: '20gb' } } }, /^config: maintenance\.compact\.target_file_size: must be at most 16GiB/);
    const c = validateConfig(with_('commit', { max_bytes: '16GiB', target_file_size: '16GiB' }));
    assert.equal(c.commit.maxBytes, MAX_FILE_SIZE_BYTES);
  });
  test('parseSize', () => {
    assert.equal(parseSize('1024GiB', 'k'), 1024 ** 4);
    assert.throws(() => parseSize('1025GiB', 'x.y'), /^ValidationError: config: x\.y: must be at most 1TiB, got "1025GiB"/);
    assert.throws(() => parseSize(2 ** 60, 'x.y'), /must be at most 1TiB/);
  });
});

describe('maintenance.remove_orphans.older_than: a floor of 24h unless allow_short_older_than', () => {
  test('under 24h fails, naming the key, the reason and the consent key', () => {
    for (const v of ['0s', '1h', '23h', 86_399_999]) {
      refused(
        { ...BASE, maintenance: { remove_orphans: { older_than: v } } },
        /^config: maintenance\.remove_orphans\.older_than: \S+ is below the floor of 24h: a running writer's files are unreferenced until it commits, .*set maintenance\.remove_orphans\.allow_short_older_than: true/,
      );
    }
  });
  test('24h and more pass; consent allows less; the consent must be a boolean', () => {
    assert.equal(validateConfig({ ...BASE, maintenance: { remove_orphans: { older_than: '24h' } } }).maintenance!.removeOrphans.olderThanMs, DAY);
    const c = validateConfig({ ...BASE, maintenance: { remove_orphans: { older_than: '1h', allow_short_older_than: true } } });
    assert.equal(c.maintenance!.removeOrphans.olderThanMs, 3_600_000);
    assert.equal(c.maintenance!.removeOrphans.allowShortOlderThan, true);
    assert.equal(validateConfig(BASE).maintenance!.removeOrphans.allowShortOlderThan, false);
    refused({ ...BASE, maintenance: { remove_orphans: { older_than: '1h', allow_short_older_than: 'yes' } } }, /^config: maintenance\.remove_orphans\.allow_short_older_than: must be true or false/);
    // A disabled task is not checked.
    assert.equal(validateConfig({ ...BASE, maintenance: { remove_orphans: { enabled: false, older_than: '1h' } } }).maintenance!.removeOrphans.enabled, false);
  });
});
