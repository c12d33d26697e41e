/**
 * The README's config table is the reference users read: these tests hold it to the code. Every
 * documented key is accepted, every accepted key is documented, and each documented default is
 * the value a minimal config actually gets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WAREHOUSE, defaultCatalogUri, openCatalog } from '../../src/catalog/open.js';
import { DEFAULTS, parseDuration, parseSize, validateConfig, type PipelineConfig } from '../../src/pipeline/config.js';
import { DEAD_LETTER_SCHEMA } from '../../src/pipeline/dead-letter.js';
import { repoRoot } from '../helpers/shared.js';

/** The rows of the README's config table: key → [default, meaning]. */
function readmeTable(): Map<string, { dflt: string; meaning: string }> {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  const start = readme.indexOf('## Configuration of `floe run`');
  assert.ok(start >= 0, 'README has the config section');
  const rows = new Map<string, { dflt: string; meaning: string }>();
  for (const line of readme.slice(start).split('\n')) {
    const m = /^\| `([a-z_.[\]]+)` \|(.*?)\|(.*)\|$/.exec(line);
    if (m) rows.set(m[1]!, { dflt: m[2]!.trim(), meaning: m[3]!.trim() });
    else if (rows.size > 0 && !line.startsWith('|')) break;
  }
  assert.ok(rows.size > 20, `README config table parsed (${rows.size} rows)`);
  return rows;
}

const MINIMAL = { source: { stream: 's' }, table: { name: 'db.t' }, transform: { columns: { a: 'string' } } };

/** The keys a section accepts, as its unknown-key error lists them. */
function allowedKeys(raw: Record<string, unknown>): string[] {
  try {
    validateConfig(raw);
  } catch (e) {
    const m = /\(allowed: ([^)]*)\)/.exec((e as Error).message);
    if (m) return m[1]!.split(', ');
    throw e;
  }
  throw new Error('test: an unknown key was accepted');
}

test('README: every documented key is accepted and every accepted key is documented', () => {
  // The sections of the pipeline itself (other sections, such as maintenance, test their own rows).
  const sections = ['source', 'catalog', 'table', 'transform', 'commit', 'dead_letter'];
  const documented = new Set([...readmeTable().keys()].filter((k) => sections.includes(k.split(/[.[]/)[0]!)));
  const accepted = new Set<string>();
  const x = { __unknown__: 1 };
  for (const k of allowedKeys({ ...MINIMAL, source: { ...MINIMAL.source, ...x } })) accepted.add(`source.${k}`);
  for (const k of allowedKeys({ ...MINIMAL, catalog: x })) accepted.add(`catalog.${k}`);
  for (const k of allowedKeys({ ...MINIMAL, table: { ...MINIMAL.table, ...x } })) accepted.add(`table.${k}`);
  for (const k of allowedKeys({ ...MINIMAL, transform: { ...MINIMAL.transform, ...x } })) accepted.add(`transform.${k}`);
  for (const k of allowedKeys({ ...MINIMAL, transform: { columns: { a: { type: 'string', ...x } } } })) {
    if (k !== 'name') accepted.add(`transform.columns[].${k}`);
  }
  // `table.upsert` is documented as a whole (its `key`), its other keys each on a row.
  for (const k of allowedKeys({ ...MINIMAL, table: { ...MINIMAL.table, upsert: { key: ['a'], ...x } } })) if (k !== 'key') accepted.add(`table.upsert.${k}`);
  for (const k of allowedKeys({ ...MINIMAL, commit: x })) accepted.add(`commit.${k}`);
  for (const k of allowedKeys({ ...MINIMAL, dead_letter: x })) accepted.add(`dead_letter.${k}`);
  assert.deepEqual([...documented].filter((k) => !accepted.has(k) && k !== 'transform.columns'), [], 'documented but not accepted');
  assert.deepEqual([...accepted].filter((k) => !documented.has(k)), [], 'accepted but not documented');
});

test('README: the documented defaults are the defaults', async () => {
  const rows = readmeTable();
  const dflt = (key: string) => {
    const r = rows.get(key);
    assert.ok(r, `README documents ${key}`);
    return r.dflt.replace(/^`|`$/g, '');
  };
  const c: PipelineConfig = validateConfig(MINIMAL);

  assert.equal(c.source.type, dflt('source.type'));
  assert.equal(c.source.initialPosition.type, dflt('source.initial_position'));
  assert.equal(c.source.discoveryIntervalMs, parseDuration(dflt('source.discovery_interval'), 'readme'));
  assert.equal(c.source.discoveryIntervalMs, DEFAULTS.discoveryIntervalMs);
  // Region and endpoint are left to the SDK's conventions (the environment variables named).
  assert.equal(dflt('source.region'), 'AWS_REGION');
  assert.equal(dflt('source.endpoint'), 'AWS_ENDPOINT_URL_KINESIS');
  assert.equal(c.source.region, undefined);
  assert.equal(c.source.endpoint, undefined);

  assert.equal(c.table.create, dflt('table.create') === 'true');
  assert.equal(c.table.partitionBy, undefined);
  assert.equal(dflt('table.partition_by'), 'unpartitioned');
  assert.deepEqual(c.table.properties, JSON.parse(dflt('table.properties')));

  assert.equal(c.commit.intervalMs, parseDuration(dflt('commit.interval'), 'readme'));
  assert.equal(c.commit.maxRecords, Number(dflt('commit.max_records')));
  assert.equal(c.commit.maxBytes, parseSize(dflt('commit.max_bytes'), 'readme'));
  assert.equal(c.commit.targetFileSizeBytes, parseSize(dflt('commit.target_file_size'), 'readme'));
  assert.deepEqual(
    [c.commit.intervalMs, c.commit.maxRecords, c.commit.maxBytes, c.commit.targetFileSizeBytes],
    [DEFAULTS.commitIntervalMs, DEFAULTS.maxRecords, DEFAULTS.maxBytes, DEFAULTS.targetFileSizeBytes],
  );

  assert.equal(c.deadLetter.policy, dflt('dead_letter.policy'));
  assert.equal(c.deadLetter.table, dflt('dead_letter.table').replace('<table>', c.table.name));
  assert.equal(c.deadLetter.table, 'db.t_dead_letters');

  // Column defaults: not required, ISO format, path = the name.
  assert.equal(dflt('transform.columns[].required'), 'false');
  assert.equal(dflt('transform.columns[].format'), 'iso');
  assert.equal(dflt('transform.columns[].path'), 'the name');
  assert.deepEqual(c.transform.columns, [{ name: 'a', type: 'string' }]);

  // The catalog: `<warehouse>/catalog.db` under `./warehouse`, named `floe`.
  assert.deepEqual(c.catalog, {});
  assert.equal(dflt('catalog.warehouse'), `./${DEFAULT_WAREHOUSE}`);
  assert.equal(dflt('catalog.uri'), '<warehouse>/catalog.db');
  assert.equal(defaultCatalogUri('/w'), '/w/catalog.db');
  const dir = await mkdtemp(join(tmpdir(), 'floe-defaults-'));
  try {
    const catalog = await openCatalog({ warehouse: dir });
    try {
      assert.equal(catalog.name, dflt('catalog.name'));
    } finally {
      await catalog.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('README: the derived values and the dead-letter columns listed are the real ones', () => {
  const rows = readmeTable();
  const documentedValues = [...rows.get('transform.columns[].value')!.meaning.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).sort();
  let accepted: string[] = [];
  try {
    validateConfig({ ...MINIMAL, transform: { columns: { a: { type: 'string', value: 'nope' } } } });
  } catch (e) {
    accepted = /\(one of ([^)]*)\)/.exec((e as Error).message)![1]!.split(', ').sort();
  }
  assert.deepEqual(documentedValues, accepted);

  const documentedColumns = rows.get('dead_letter.table')!.meaning.split(': ')[1]!.split(', ');
  assert.deepEqual(documentedColumns, DEAD_LETTER_SCHEMA.fields.map((f) => f.name));
  assert.deepEqual(
    rows.get('dead_letter.policy')!.meaning.match(/`([a-z]+)`/g)!.map((s) => s.replace(/`/g, '')),
    ['dlq', 'fail', 'skip'],
  );
  assert.deepEqual(
    rows.get('transform.columns[].format')!.meaning.match(/`([a-z_]+)`/g)!.map((s) => s.replace(/`/g, '')),
    ['epoch_s', 'epoch_ms', 'epoch_us'],
  );
  assert.deepEqual(
    rows.get('source.initial_position')!.meaning.match(/`([A-Z_]+)`/g)!.map((s) => s.replace(/`/g, '')),
    ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'],
  );
});
