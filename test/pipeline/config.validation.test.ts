/**
 * `floe run` config validation: every key is checked before any work, and every error names the
 * key it is about (`config: commit.interval: invalid duration "fast"`). YAML and JSON alike.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { ValidationError } from '../../src/errors.js';
import { loadConfig, parseConfig, parseDuration, parseSize, validateConfig } from '../../src/pipeline/config.js';

type Doc = Record<string, unknown>;

/** A minimal valid config, with `patch` applied section by section (`undefined` removes a key). */
function doc(patch: Record<string, Doc | unknown> = {}): Doc {
  const base: Record<string, Doc> = {
    source: { stream: 'events' },
    table: { name: 'db.events' },
    transform: { columns: { id: 'string', ts: { type: 'timestamptz', path: 'timestamp' } } },
  };
  const out: Doc = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete out[k];
    else if (typeof v === 'object' && v !== null && !Array.isArray(v) && k in base) {
      const merged: Doc = { ...base[k], ...(v as Doc) };
      for (const [kk, vv] of Object.entries(v as Doc)) if (vv === undefined) delete merged[kk];
      out[k] = merged;
    } else out[k] = v;
  }
  return out;
}

/** Asserts the config is refused with a ValidationError whose message matches `pattern`. */
function refused(raw: unknown, pattern: RegExp): void {
  const check = (e: unknown) => {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    assert.match(e.message, /^config: /);
    assert.match(e.message, pattern);
    return true;
  };
  assert.throws(() => validateConfig(raw), check);
  // The same document as YAML text is refused the same way.
  assert.throws(() => parseConfig(toYaml(raw)), check);
}

describe('the document and its sections', () => {
  test('the document must be a mapping', () => {
    for (const raw of [null, 'text', 42, [1, 2]]) assert.throws(() => validateConfig(raw), { message: 'config: the document must be a mapping' });
    assert.throws(() => parseConfig(''), { message: 'config: the document must be a mapping' });
  });
  test('unknown top-level keys are errors listing the allowed ones', () => {
    refused({ ...doc(), sink: {} }, /^config: sink: unknown key \(allowed: source, catalog, table, transform, commit, dead_letter\b/);
  });
  test('required sections', () => {
    refused(doc({ source: undefined }), /^config: source: missing section$/);
    refused(doc({ table: undefined }), /^config: table: missing section$/);
    refused(doc({ transform: undefined }), /^config: transform: missing section$/);
  });
  test('sections must be mappings', () => {
    refused(doc({ commit: 5 }), /^config: commit: must be a mapping$/);
    refused(doc({ catalog: ['x'] }), /^config: catalog: must be a mapping$/);
    refused(doc({ dead_letter: 'dlq' }), /^config: dead_letter: must be a mapping$/);
  });
  test('unknown keys inside every section are errors naming the full key', () => {
    refused(doc({ source: { streem: 'x' } }), /^config: source\.streem: unknown key/);
    refused(doc({ catalog: { url: 'x' } }), /^config: catalog\.url: unknown key \(allowed: uri, warehouse, name\)/);
    refused(doc({ table: { partition: 'day(ts)' } }), /^config: table\.partition: unknown key/);
    refused(doc({ transform: { column: {} } }), /^config: transform\.column: unknown key/);
    refused(doc({ commit: { intervall: '1s' } }), /^config: commit\.intervall: unknown key/);
    refused(doc({ dead_letter: { policies: 'dlq' } }), /^config: dead_letter\.policies: unknown key/);
    refused(doc({ transform: { columns: { id: { typ: 'string' } } } }), /^config: transform\.columns\.id\.typ: unknown key/);
    refused(doc({ transform: { columns: [{ name: 'id', type: 'string', paht: 'x' }] } }), /^config: transform\.columns\[0\]\.paht: unknown key/);
  });
});

describe('source', () => {
  test('type: kinesis or kafka (whose keys are its own: test/pipeline/config.kafka.test.ts)', () => {
    refused(doc({ source: { type: 'pulsar' } }), /^config: source\.type: 'pulsar' is not supported \(kinesis, kafka\)/);
    refused(doc({ source: { type: 'kafka' } }), /^config: source\.stream: unknown key/);
  });
  test('stream or stream_arn is required; names must be non-empty strings', () => {
    refused(doc({ source: { stream: undefined } }), /^config: source\.stream: required \(or source\.stream_arn\)/);
    refused(doc({ source: { stream: '' } }), /^config: source\.stream: must be a non-empty string/);
    refused(doc({ source: { stream: 5 } }), /^config: source\.stream: must be a non-empty string/);
  });
  test('stream_arn: a Kinesis stream ARN; the stream name comes from it and must agree with stream', () => {
    const arn = 'arn:aws:kinesis:ap-northeast-1:123456789012:stream/glue-streaming-iceberg-stream';
    const c = validateConfig(doc({ source: { stream: undefined, stream_arn: arn } }));
    assert.equal(c.source.stream, 'glue-streaming-iceberg-stream');
    assert.equal(c.source.streamArn, arn);
    assert.equal(validateConfig(doc({ source: { stream: 'glue-streaming-iceberg-stream', stream_arn: arn } })).source.stream, 'glue-streaming-iceberg-stream');
    refused(doc({ source: { stream: 'other', stream_arn: arn } }), /^config: source\.stream: 'other' differs from the stream of source\.stream_arn/);
    refused(doc({ source: { stream_arn: 'glue-streaming-iceberg-stream' } }), /^config: source\.stream_arn: not a Kinesis stream ARN/);
    refused(doc({ source: { stream_arn: 'arn:aws:s3:::bucket/stream' } }), /^config: source\.stream_arn: not a Kinesis stream ARN/);
  });
  test('initial_position: TRIM_HORIZON, LATEST (any case) or AT_TIMESTAMP with an ISO time', () => {
    assert.deepEqual(validateConfig(doc({ source: { initial_position: 'latest' } })).source.initialPosition, { type: 'LATEST' });
    assert.deepEqual(validateConfig(doc({ source: { initial_position: 'TRIM_HORIZON' } })).source.initialPosition, { type: 'TRIM_HORIZON' });
    assert.deepEqual(validateConfig(doc({ source: { initial_position: 'AT_TIMESTAMP', initial_timestamp: '2026-01-08T15:16:52.5+09:00' } })).source.initialPosition, {
      type: 'AT_TIMESTAMP',
      timestampMs: Date.parse('2026-01-08T06:16:52.500Z'),
    });
    refused(doc({ source: { initial_position: 'EARLIEST' } }), /^config: source\.initial_position: must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got 'EARLIEST'/);
    refused(doc({ source: { initial_position: 'AT_TIMESTAMP' } }), /^config: source\.initial_timestamp: required ISO-8601 time for AT_TIMESTAMP$/);
    refused(doc({ source: { initial_position: 'AT_TIMESTAMP', initial_timestamp: 'last tuesday' } }), /^config: source\.initial_timestamp: .*got 'last tuesday'/);
    refused(doc({ source: { initial_position: 'AT_TIMESTAMP', initial_timestamp: 'March 7, 2026' } }), /^config: source\.initial_timestamp: /);
    refused(doc({ source: { initial_timestamp: '2026-01-08T00:00:00Z' } }), /^config: source\.initial_timestamp: only used with initial_position AT_TIMESTAMP/);
  });
  test('AT_TIMESTAMP accepts an unquoted YAML time', () => {
    const c = parseConfig(
      'source:\n  stream: s\n  initial_position: AT_TIMESTAMP\n  initial_timestamp: 2026-01-08T15:16:52Z\ntable: {name: db.t}\ntransform: {columns: {a: string}}\n',
    );
    assert.deepEqual(c.source.initialPosition, { type: 'AT_TIMESTAMP', timestampMs: Date.parse('2026-01-08T15:16:52Z') });
  });
  test('endpoint: an http(s) URL', () => {
    assert.equal(validateConfig(doc({ source: { endpoint: 'http://127.0.0.1:4567' } })).source.endpoint, 'http://127.0.0.1:4567');
    assert.equal(validateConfig(doc({ source: { endpoint: 'https://kinesis.ap-northeast-1.amazonaws.com' } })).source.endpoint, 'https://kinesis.ap-northeast-1.amazonaws.com');
    for (const bad of ['127.0.0.1:4567', 'localhost', 'ftp://127.0.0.1', 'http://', 'http:///path']) {
      refused(doc({ source: { endpoint: bad } }), /^config: source\.endpoint: must be an http\(s\) URL/);
    }
  });
  test('region: a non-empty string', () => {
    assert.equal(validateConfig(doc({ source: { region: 'ap-northeast-1' } })).source.region, 'ap-northeast-1');
    refused(doc({ source: { region: 1 } }), /^config: source\.region: must be a non-empty string/);
  });
  test('discovery_interval: a duration of at least 100ms', () => {
    assert.equal(validateConfig(doc({ source: { discovery_interval: '30s' } })).source.discoveryIntervalMs, 30_000);
    refused(doc({ source: { discovery_interval: 'often' } }), /^config: source\.discovery_interval: invalid duration "often"/);
    refused(doc({ source: { discovery_interval: 0 } }), /^config: source\.discovery_interval: must be at least 100ms/);
    refused(doc({ source: { discovery_interval: '-1s' } }), /^config: source\.discovery_interval: invalid duration/);
  });
});

describe('catalog', () => {
  test('uri, warehouse and name are passed through as strings', () => {
    const c = validateConfig(doc({ catalog: { uri: '/tmp/x/catalog.db', warehouse: '/tmp/x', name: 'prod' } }));
    assert.deepEqual(c.catalog, { uri: '/tmp/x/catalog.db', warehouse: '/tmp/x', name: 'prod' });
    refused(doc({ catalog: { uri: '' } }), /^config: catalog\.uri: must be a non-empty string/);
    refused(doc({ catalog: { warehouse: 3 } }), /^config: catalog\.warehouse: must be a non-empty string/);
    refused(doc({ catalog: { name: true } }), /^config: catalog\.name: must be a non-empty string/);
  });
});

describe('table', () => {
  test('name: required, namespace.table', () => {
    refused(doc({ table: { name: undefined } }), /^config: table\.name: required$/);
    refused(doc({ table: { name: 'events' } }), /^config: table\.name: expected namespace\.table, got 'events'/);
    refused(doc({ table: { name: 'db..events' } }), /^config: table\.name: expected namespace\.table/);
    assert.equal(validateConfig(doc({ table: { name: 'a.b.c' } })).table.name, 'a.b.c');
  });
  test('create: a boolean', () => {
    assert.equal(validateConfig(doc({ table: { create: false } })).table.create, false);
    refused(doc({ table: { create: 'yes' } }), /^config: table\.create: must be true or false/);
  });
  test('properties: names to strings', () => {
    assert.deepEqual(validateConfig(doc({ table: { properties: { 'write.format.default': 'parquet' } } })).table.properties, { 'write.format.default': 'parquet' });
    refused(doc({ table: { properties: { 'commit.retry.num-retries': 4 } } }), /^config: table\.properties: must map names to strings/);
    refused(doc({ table: { properties: ['a'] } }), /^config: table\.properties: must map names to strings/);
  });
  test('partition_by: parsed against the mapping when the table is created from it', () => {
    const c = validateConfig(doc({ table: { partition_by: 'day(ts), bucket(4, id)' } }));
    assert.equal(c.table.partitionBy, 'day(ts), bucket(4, id)');
    refused(doc({ table: { partition_by: 'day(nope)' } }), /^config: table\.partition_by: unknown column 'nope'/);
    refused(doc({ table: { partition_by: 'day(id)' } }), /^config: table\.partition_by: .*day cannot be applied to 'id' of type string/);
    refused(doc({ table: { partition_by: 'weekly(ts)' } }), /^config: table\.partition_by: .*unknown transform 'weekly'/);
    refused(doc({ table: { partition_by: 'bucket(x, id)' } }), /^config: table\.partition_by: /);
    // Not created by this run (create: false, or columns typed by the table): the table's spec rules.
    assert.equal(validateConfig(doc({ table: { create: false, partition_by: 'day(nope)' } })).table.partitionBy, 'day(nope)');
  });
});

describe('transform.columns', () => {
  test('a mapping of name: type or name: {…}, or a list of {name, …}: the same columns', () => {
    const asMap = validateConfig(doc({ transform: { columns: { id: 'string', ts: { type: 'timestamptz', path: 'timestamp', format: 'epoch_ms' }, at: { type: 'timestamptz', value: 'arrival_time' } } } }));
    const asList = validateConfig(
      doc({
        transform: {
          columns: [
            { name: 'id', type: 'string' },
            { name: 'ts', type: 'timestamptz', path: 'timestamp', format: 'epoch_ms' },
            { name: 'at', type: 'timestamptz', value: 'arrival_time' },
          ],
        },
      }),
    );
    assert.deepEqual(asMap.transform, asList.transform);
    assert.deepEqual(asMap.transform.columns, [
      { name: 'id', type: 'string' },
      { name: 'ts', type: 'timestamptz', path: 'timestamp', format: 'epoch_ms' },
      { name: 'at', type: 'timestamptz', value: 'arrival_time' },
    ]);
  });
  test('presence, shape and duplicates', () => {
    refused(doc({ transform: { columns: undefined } }), /^config: transform\.columns: must be a list or a mapping of columns/);
    refused(doc({ transform: { columns: 'id string' } }), /^config: transform\.columns: must be a list or a mapping/);
    refused(doc({ transform: { columns: [] } }), /^config: transform\.columns: at least one column is required/);
    refused(doc({ transform: { columns: {} } }), /^config: transform\.columns: at least one column is required/);
    refused(doc({ transform: { columns: ['id'] } }), /^config: transform\.columns\[0\]: must be a mapping/);
    refused(doc({ transform: { columns: [{ type: 'string' }] } }), /^config: transform\.columns\[0\]\.name: required/);
    refused(doc({ transform: { columns: [{ name: 'a', type: 'string' }, { name: 'a', type: 'long' }] } }), /^config: transform\.columns\[1\]: duplicate column 'a'/);
    refused(doc({ transform: { columns: { a: 5 } } }), /^config: transform\.columns\.a: must be a type string or a mapping/);
    refused(doc({ transform: { columns: { a: null } } }), /^config: transform\.columns\.a: must be a type string or a mapping/);
  });
  test('type: a known Iceberg type', () => {
    refused(doc({ transform: { columns: { a: 'strng' } } }), /^config: transform\.columns\[0\]\.type \(a\): invalid type 'strng'/);
    refused(doc({ transform: { columns: { a: 'string', b: { type: 'decimal(40,2)' } } } }), /^config: transform\.columns\[1\]\.type \(b\): invalid type 'decimal\(40,2\)'/);
    // Also when other columns leave their type to an existing table.
    refused(doc({ transform: { columns: [{ name: 'a' }, { name: 'b', type: 'lng' }] } }), /^config: transform\.columns\[1\]\.type \(b\): invalid type 'lng'/);
    refused(doc({ transform: { columns: { a: { type: 7 } } } }), /^config: transform\.columns\.a\.type: must be a non-empty string/);
  });
  test('value: a known derived value of a fitting type', () => {
    refused(doc({ transform: { columns: { a: { type: 'string', value: 'hostname' } } } }), /^config: transform\.columns\.a\.value: unknown 'hostname' \(one of processing_time, /);
    refused(doc({ transform: { columns: { a: { type: 'string', value: 'processing_time' } } } }), /^config: transform\.columns\[0\]\.value \(a\): 'processing_time' needs a timestamp\/timestamptz column/);
    refused(doc({ transform: { columns: { a: { type: 'string', value: 'shard', path: 'x' } } } }), /^config: transform\.columns\[0\] \(a\): give only one of path, value, constant/);
  });
  test('constant: cast to the type when the config is read', () => {
    assert.equal(validateConfig(doc({ transform: { columns: { a: { type: 'int', constant: 5 } } } })).transform.columns[0]!.constant, 5);
    refused(doc({ transform: { columns: { a: { type: 'int', constant: 'five' } } } }), /^config: transform\.columns\[0\]\.constant \(a\): .*cannot cast "five" to int/);
  });
  test('required: a boolean; format: iso or an epoch unit', () => {
    assert.equal(validateConfig(doc({ transform: { columns: { a: { type: 'string', required: true } } } })).transform.columns[0]!.required, true);
    refused(doc({ transform: { columns: { a: { type: 'string', required: 'yes' } } } }), /^config: transform\.columns\.a\.required: must be true or false/);
    refused(doc({ transform: { columns: { a: { type: 'timestamptz', format: 'epoch_ns' } } } }), /^config: transform\.columns\.a\.format: must be iso, epoch_s, epoch_ms or epoch_us/);
    refused(doc({ transform: { columns: { a: { type: 'string', path: '' } } } }), /^config: transform\.columns\.a\.path: must be a non-empty string/);
  });
});

describe('commit', () => {
  test('interval: a duration of at least 50ms', () => {
    assert.equal(validateConfig(doc({ commit: { interval: '250ms' } })).commit.intervalMs, 250);
    assert.equal(validateConfig(doc({ commit: { interval: 2000 } })).commit.intervalMs, 2000);
    refused(doc({ commit: { interval: 'fast' } }), /^config: commit\.interval: invalid duration "fast" \(e\.g\. 500ms, 1s, 5m\)$/);
    refused(doc({ commit: { interval: '10ms' } }), /^config: commit\.interval: must be at least 50ms/);
    refused(doc({ commit: { interval: -5 } }), /^config: commit\.interval: invalid duration -5/);
    refused(doc({ commit: { interval: '1 week' } }), /^config: commit\.interval: invalid duration/);
  });
  test('max_records: a positive integer', () => {
    assert.equal(validateConfig(doc({ commit: { max_records: 1000 } })).commit.maxRecords, 1000);
    for (const bad of [0, -1, 1.5, '1000', true]) refused(doc({ commit: { max_records: bad } }), /^config: commit\.max_records: must be a positive integer/);
  });
  test('max_bytes and target_file_size: sizes', () => {
    const c = validateConfig(doc({ commit: { max_bytes: '64MB', target_file_size: '1GiB' } }));
    assert.equal(c.commit.maxBytes, 64 * 1024 * 1024);
    assert.equal(c.commit.targetFileSizeBytes, 1024 ** 3);
    refused(doc({ commit: { max_bytes: 'lots' } }), /^config: commit\.max_bytes: invalid size "lots" \(e\.g\. 64MB\)/);
    refused(doc({ commit: { max_bytes: '0MB' } }), /^config: commit\.max_bytes: invalid size/);
    refused(doc({ commit: { target_file_size: -1 } }), /^config: commit\.target_file_size: invalid size -1/);
    refused(doc({ commit: { target_file_size: '12 parsecs' } }), /^config: commit\.target_file_size: invalid size/);
  });
});

describe('dead_letter', () => {
  test('policy: dlq, fail or skip', () => {
    for (const p of ['dlq', 'fail', 'skip'] as const) assert.equal(validateConfig(doc({ dead_letter: { policy: p } })).deadLetter.policy, p);
    refused(doc({ dead_letter: { policy: 'drop' } }), /^config: dead_letter\.policy: must be dlq, fail or skip, got 'drop'/);
  });
  test('table: namespace.table, not the table itself', () => {
    assert.equal(validateConfig(doc({ dead_letter: { table: 'ops.rejects' } })).deadLetter.table, 'ops.rejects');
    refused(doc({ dead_letter: { table: 'rejects' } }), /^config: dead_letter\.table: expected namespace\.table, got 'rejects'/);
    refused(doc({ dead_letter: { table: 'db.events' } }), /^config: dead_letter\.table: must differ from table\.name/);
  });
});

describe('durations and sizes', () => {
  test('units', () => {
    const d: [unknown, number][] = [['500ms', 500], ['1s', 1000], ['2.5s', 2500], ['5m', 300_000], ['1h', 3_600_000], ['1d', 86_400_000], [' 3 s ', 3000], ['750', 750], [750, 750]];
    for (const [v, ms] of d) assert.equal(parseDuration(v, 'k'), ms, JSON.stringify(v));
    for (const v of ['', 's', '1S', '1w', '1e3ms', true, null, {}, Infinity]) assert.throws(() => parseDuration(v, 'x.y'), /^ValidationError: config: x\.y: invalid duration/);
    const s: [unknown, number][] = [['64MB', 64 * 1024 ** 2], ['64mib', 64 * 1024 ** 2], ['512KB', 512 * 1024], ['1.5kb', 1536], ['1GiB', 1024 ** 3], ['100b', 100], ['100', 100], [4096, 4096]];
    for (const [v, n] of s) assert.equal(parseSize(v, 'k'), n, JSON.stringify(v));
    for (const v of ['', 'MB', '1TB', '0', 0, 1.5, -1, true]) assert.throws(() => parseSize(v, 'x.y'), /^ValidationError: config: x\.y: invalid size/);
  });
});

describe('YAML and JSON files', () => {
  const yaml = [
    'source:',
    '  stream: glue-streaming-iceberg-stream',
    '  initial_position: LATEST',
    '  endpoint: http://127.0.0.1:4567',
    'catalog:',
    '  warehouse: ./wh',
    'table:',
    '  name: glue_streaming_iceberg_db.streaming_events',
    '  partition_by: day(event_time)',
    'transform:',
    '  columns:',
    '    event_id: { type: string, required: true }',
    '    event_time: { type: timestamptz, path: timestamp }',
    '    processed_time: { type: timestamptz, value: processing_time }',
    'commit:',
    '  interval: 500ms',
    '  max_bytes: 16MB',
    'dead_letter:',
    '  policy: skip',
    '',
  ].join('\n');

  test('the same document as YAML and as JSON gives the same config', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'floe-config-'));
    try {
      const fromYaml = parseConfig(yaml);
      await writeFile(join(dir, 'c.yaml'), yaml);
      const { parse } = await import('yaml');
      await writeFile(join(dir, 'c.json'), JSON.stringify(parse(yaml), null, 2));
      assert.deepEqual(await loadConfig(join(dir, 'c.yaml')), fromYaml);
      assert.deepEqual(await loadConfig(join(dir, 'c.json')), fromYaml);
      assert.equal(fromYaml.commit.intervalMs, 500);
      assert.equal(fromYaml.commit.maxBytes, 16 * 1024 * 1024);
      assert.equal(fromYaml.deadLetter.policy, 'skip');
      assert.equal(fromYaml.table.partitionBy, 'day(event_time)');
      assert.deepEqual(fromYaml.source.initialPosition, { type: 'LATEST' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  test('JSON errors name the key too', () => {
    assert.throws(() => parseConfig('{"source": {"stream": "s"}, "table": {"name": "db.t"}, "transform": {"columns": {"a": "string"}}, "commit": {"interval": "fast"}}'), {
      message: 'config: commit.interval: invalid duration "fast" (e.g. 500ms, 1s, 5m)',
    });
  });
  test('syntax errors and duplicate keys name the file', async () => {
    assert.throws(() => parseConfig('source: [unclosed', 'floe.yaml'), /^ValidationError: config: floe\.yaml: not valid YAML\/JSON: /);
    assert.throws(() => parseConfig('{"source": {', 'floe.json'), /^ValidationError: config: floe\.json: not valid YAML\/JSON: /);
    assert.throws(() => parseConfig(yaml + 'commit:\n  interval: 2s\n', 'floe.yaml'), /config: floe\.yaml: not valid YAML\/JSON: .*unique/i);
  });
  test('an unreadable file is a config error naming it', async () => {
    await assert.rejects(loadConfig('/nonexistent/floe.yaml'), /^ValidationError: config: cannot read \/nonexistent\/floe\.yaml: /);
  });
  test('examples/reference.yaml is valid', async () => {
    const { repoRoot } = await import('../helpers/shared.js');
    const c = await loadConfig(join(repoRoot(), 'examples', 'reference.yaml'));
    assert.equal(c.table.name, 'glue_streaming_iceberg_db.streaming_events');
    assert.deepEqual(
      c.transform.columns.map((x) => x.name),
      ['event_id', 'user_id', 'event_type', 'page', 'event_time', 'processed_time'],
    );
  });
});
