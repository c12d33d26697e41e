/**
 * The pipeline during a catalog outage: commits wait (one `commit-retry` event per retry), the
 * rows stay buffered and land exactly once when the catalog is back; `commit.retry_budget` bounds
 * the wait; a stop during the wait ends it at once; the config key is validated.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Catalog, TableIdentifier } from '../../src/catalog/catalog.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { CatalogUnreachableError, ValidationError } from '../../src/errors.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { MemorySource } from '../../src/source/memory.js';

const enc = new TextEncoder();

function config(dir: string, commit: Record<string, unknown> = {}) {
  return validateConfig({
    source: { stream: 's' },
    catalog: { warehouse: dir },
    table: { name: 'db.t' },
    transform: { columns: { id: 'long' } },
    commit: { interval: '100ms', ...commit },
    dead_letter: { policy: 'fail' },
    maintenance: false,
  });
}

/** A catalog that refuses every commit (and reload) while `down` is true, as a dead REST server does. */
function switchable(inner: Catalog): Catalog & { down: boolean } {
  const state = { down: false };
  const refuse = () => {
    throw new CatalogUnreachableError('catalog: rest: table db.t: catalog unreachable, commit not sent (fetch failed: ECONNREFUSED)');
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'down') return state.down;
      if (prop === 'commitTable') {
        return async (id: TableIdentifier, req: TableRequirement[], upd: TableUpdate[]) => (state.down ? refuse() : target.commitTable(id, req, upd));
      }
      if (prop === 'loadTable') return async (id: TableIdentifier) => (state.down ? refuse() : target.loadTable(id));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
    set(_t, prop, value) {
      if (prop !== 'down') return false;
      state.down = value as boolean;
      return true;
    },
  }) as Catalog & { down: boolean };
}

async function withDir(fn: (dir: string, catalog: SqlCatalog) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-pipe-outage-'));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    await fn(dir, catalog);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function rows(catalog: Catalog): Promise<unknown[]> {
  const engine = await QueryEngine.open({ catalog });
  try {
    return (await engine.query('SELECT count(*), count(DISTINCT id) FROM db.t')).rows[0]!;
  } finally {
    engine.close();
  }
}

/** A source that releases `n` more records each time `more(n)` is called. */
function growingSource(): { source: MemorySource; more: (n: number) => void } {
  let length = 0;
  const source = new MemorySource({
    id: 's',
    partitions: [{ id: 'p0', get length() { return length; }, record: (i: number) => ({ data: enc.encode(JSON.stringify({ id: i })) }) }],
  });
  return { source, more: (n) => (length += n) };
}

test('a catalog outage: commits wait with one event per retry, the rows land exactly once when it is back', { timeout: 60_000 }, async () => {
  await withDir(async (dir, backing) => {
    const catalog = switchable(backing);
    const events: PipelineEvent[] = [];
    const { source, more } = growingSource();
    more(100);
    const pipeline = await Pipeline.open({ config: config(dir, { retry_budget: '30s' }), catalog, source, onEvent: (e) => events.push(e) });
    const running = pipeline.run();
    const commits = () => events.filter((e) => e.type === 'commit').length;
    const retries = () => events.filter((e): e is Extract<PipelineEvent, { type: 'commit-retry' }> => e.type === 'commit-retry');
    while (commits() < 1) await new Promise((r) => setTimeout(r, 10));
    catalog.down = true;
    more(100);
    await new Promise((r) => setTimeout(r, 2_500));
    more(100); // read and buffered behind the waiting commit
    const during = commits();
    assert.ok(retries().length >= 3 && retries().length <= 10, `${retries().length} retries in 2.5 s`);
    assert.ok(retries().every((e) => e.reason === 'unreachable' && e.table === 'db.t' && e.waitMs <= 5_000));
    assert.deepEqual(retries().map((e) => e.retry), retries().map((_, i) => i + 1));
    catalog.down = false;
    while (commits() === during) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 500));
    pipeline.stop();
    const stats = await running;
    assert.equal(stats.records, 300);
    assert.deepEqual(await rows(backing), [300n, 300n]);
  });
});

test('commit.retry_budget bounds the wait: the run fails with CATALOG_UNREACHABLE, nothing committed twice', { timeout: 60_000 }, async () => {
  await withDir(async (dir, backing) => {
    const catalog = switchable(backing);
    const { source, more } = growingSource();
    more(50);
    const events: PipelineEvent[] = [];
    const pipeline = await Pipeline.open({ config: config(dir, { retry_budget: '1s' }), catalog, source, onEvent: (e) => events.push(e) });
    catalog.down = true;
    const started = Date.now();
    await assert.rejects(pipeline.run(), (e: unknown) => e instanceof CatalogUnreachableError && /the catalog stayed unavailable for 1\.\d s/.test(e.message));
    const took = Date.now() - started;
    assert.ok(took >= 1_000 && took < 5_000, `gave up after ${took} ms`);
    assert.equal(events.at(-1)?.type, 'error');
    catalog.down = false;
    assert.deepEqual(await rows(backing), [0n, 0n]);
  });
});

test('a stop during the wait ends it at once', { timeout: 60_000 }, async () => {
  await withDir(async (dir, backing) => {
    const catalog = switchable(backing);
    const { source, more } = growingSource();
    more(50);
    const events: PipelineEvent[] = [];
    const pipeline = await Pipeline.open({ config: config(dir), catalog, source, onEvent: (e) => events.push(e) });
    catalog.down = true;
    const running = pipeline.run();
    while (!events.some((e) => e.type === 'commit-retry')) await new Promise((r) => setTimeout(r, 10));
    const stoppedAt = Date.now();
    pipeline.stop();
    await assert.rejects(running, (e: unknown) => e instanceof CatalogUnreachableError && /stopped while waiting to retry/.test(e.message));
    assert.ok(Date.now() - stoppedAt < 1_000, `stopped after ${Date.now() - stoppedAt} ms`);
  });
});

test('commit.retry_budget: a duration up to 24h', () => {
  const base = { source: { stream: 's' }, table: { name: 'db.t' }, transform: { columns: { id: 'long' } } };
  assert.equal(validateConfig({ ...base, commit: { retry_budget: '5m' } }).commit.retryBudgetMs, 300_000);
  assert.equal(validateConfig({ ...base, commit: { retry_budget: 0 } }).commit.retryBudgetMs, 0);
  assert.equal(validateConfig(base).commit.retryBudgetMs, undefined);
  assert.throws(() => validateConfig({ ...base, commit: { retry_budget: '25h' } }), (e: unknown) => e instanceof ValidationError && /^config: commit\.retry_budget: must be at most 24h/.test(e.message));
  assert.throws(() => validateConfig({ ...base, commit: { retry_budget: 'soon' } }), (e: unknown) => e instanceof ValidationError && /commit\.retry_budget/.test(e.message));
});
