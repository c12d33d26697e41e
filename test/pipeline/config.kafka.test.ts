/**
 * `source.type: kafka` in the `floe run` config: every key validated before any work, errors
 * naming the key; unknown keys (Kinesis ones included) refused; the derived values and headers of
 * the mapping.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { compileTransform, schemaForTransform } from '../../src/pipeline/transform.js';
import type { SourceRecord } from '../../src/source/source.js';

type Doc = Record<string, unknown>;

function doc(source: Doc, columns: Doc = { id: 'long' }): Doc {
  return {
    source: { type: 'kafka', brokers: '127.0.0.1:9092', topics: ['events'], group: 'g', ...source },
    table: { name: 'db.events' },
    transform: { columns },
  };
}

function refused(raw: unknown, pattern: RegExp): void {
  assert.throws(
    () => validateConfig(raw),
    (e: unknown) => e instanceof ValidationError && /^config: /.test(e.message) && pattern.test(e.message),
  );
}

describe('config: source.type kafka', () => {
  test('a minimal Kafka source: defaults, brokers as a list or a comma-separated string', () => {
    const c = validateConfig(doc({}));
    assert.equal(c.source.type, 'kafka');
    assert.equal(c.source.stream, 'kafka', 'the checkpoint id');
    assert.deepEqual(c.source.initialPosition, { type: 'TRIM_HORIZON' });
    assert.deepEqual(c.source.kafka, { brokers: ['127.0.0.1:9092'], topics: ['events'], group: 'g', sessionTimeoutMs: 30_000, metadataMaxAgeMs: 30_000 });
    const list = validateConfig(doc({ brokers: ['a.example:9092', 'b.example:9093'], topics: 'x,y' }));
    assert.deepEqual(list.source.kafka?.brokers, ['a.example:9092', 'b.example:9093']);
    assert.deepEqual(list.source.kafka?.topics, ['x', 'y']);
    assert.deepEqual(validateConfig(doc({ brokers: 'a:1, b:2' })).source.kafka?.brokers, ['a:1', 'b:2']);
    assert.deepEqual(validateConfig(doc({ initial_position: 'latest' })).source.initialPosition, { type: 'LATEST' });
    assert.deepEqual(validateConfig(doc({ initial_position: 'timestamp', initial_timestamp: '2026-01-08T15:16:52Z' })).source.initialPosition, {
      type: 'AT_TIMESTAMP',
      timestampMs: Date.parse('2026-01-08T15:16:52Z'),
    });
    // The time itself as initial_position.
    assert.deepEqual(validateConfig(doc({ initial_position: '2026-01-08T15:16:52Z' })).source.initialPosition, {
      type: 'AT_TIMESTAMP',
      timestampMs: Date.parse('2026-01-08T15:16:52Z'),
    });
    const pattern = validateConfig(doc({ topics: undefined, topic_pattern: '^events-.*$' }));
    assert.equal(pattern.source.kafka?.topicPattern, '^events-.*$');
    assert.equal(pattern.source.kafka?.topics, undefined);
    assert.equal(validateConfig(doc({ session_timeout: '6s' })).source.kafka?.sessionTimeoutMs, 6000);
    assert.equal(validateConfig(doc({ metadata_max_age: '2s' })).source.kafka?.metadataMaxAgeMs, 2000);
  });

  test('TLS and SASL settings', () => {
    assert.deepEqual(validateConfig(doc({ ssl: true })).source.kafka?.tls, { verify: true });
    assert.deepEqual(validateConfig(doc({ ssl: { ca_file: '/etc/ca.pem', verify: false } })).source.kafka?.tls, { verify: false, caFile: '/etc/ca.pem' });
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      assert.deepEqual(validateConfig(doc({ sasl: { mechanism, username: 'u', password: 'p' } })).source.kafka?.sasl, { mechanism, username: 'u', password: 'p' });
    }
    assert.deepEqual(validateConfig(doc({ sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' } })).source.kafka?.sasl, { mechanism: 'aws-msk-iam', region: 'eu-west-1' });
  });

  test('errors name the key, before any work', () => {
    refused(doc({ stream: 'events' }), /source\.stream: unknown key/);
    refused(doc({ discovery_interval: '1s' }), /source\.discovery_interval: unknown key/);
    refused(doc({ brokers: undefined }), /source\.brokers: required/);
    refused(doc({ brokers: 'localhost' }), /source\.brokers\[0\]: expected host:port/);
    refused(doc({ brokers: ['a:1', 'b:99999'] }), /source\.brokers\[1\]/);
    refused(doc({ brokers: [] }), /source\.brokers: required/);
    refused(doc({ topics: undefined }), /source\.topics: required/);
    refused(doc({ topic_pattern: 'x' }), /give one of them/);
    refused(doc({ topics: ['bad topic'] }), /source\.topics\[0\]: not a Kafka topic name/);
    refused(doc({ topics: ['a', 'a'] }), /named twice/);
    refused(doc({ topics: undefined, topic_pattern: '([' }), /source\.topic_pattern: not a regular expression/);
    refused(doc({ group: undefined }), /source\.group: required/);
    refused(doc({ metadata_max_age: '10ms' }), /source\.metadata_max_age: must be between 100ms and 24h/);
    refused(doc({ metadata_max_age: '2d' }), /source\.metadata_max_age: must be between 100ms and 24h/);
    refused(doc({ metadata_max_age: 'soon' }), /source\.metadata_max_age/);
    refused(doc({ initial_position: 'TRIM_HORIZON' }), /source\.initial_position: must be earliest, latest, timestamp \(with initial_timestamp\) or an ISO-8601 time, got 'TRIM_HORIZON'/);
    refused(doc({ initial_position: '2026-13-45T99:00:00Z' }), /source\.initial_position: not an ISO-8601 time/);
    refused(doc({ initial_position: '2026-01-08T15:16:52Z', initial_timestamp: '2026-01-08T15:16:52Z' }), /source\.initial_timestamp: the time is already given by source\.initial_position/);
    refused(doc({ initial_timestamp: '2026-01-01T00:00:00Z' }), /source\.initial_timestamp: only used with initial_position timestamp/);
    refused(doc({ initial_position: 'timestamp' }), /source\.initial_timestamp: required/);
    refused(doc({ ssl: { ca: 'x' } }), /source\.ssl\.ca: unknown key/);
    refused(doc({ ssl: 'yes' }), /source\.ssl: must be true, false or a mapping/);
    refused(doc({ sasl: { mechanism: 'gssapi' } }), /source\.sasl\.mechanism: must be plain, scram-sha-256, scram-sha-512 or aws-msk-iam/);
    refused(doc({ sasl: { mechanism: 'plain', username: 'u' } }), /source\.sasl: plain needs username and password/);
    refused(doc({ sasl: { mechanism: 'aws-msk-iam', username: 'u' } }), /source\.sasl\.username: unknown key/);
    refused(doc({ session_timeout: '500ms' }), /source\.session_timeout: must be between 1s and 1h/);
    refused({ ...doc({}), source: { type: 'pulsar' } }, /source\.type: 'pulsar' is not supported \(kinesis, kafka\)/);
  });

  test('derived values of a Kafka record: key, topic, partition, offset, timestamp, header', () => {
    const columns = {
      k: { type: 'string', value: 'key' },
      t: { type: 'string', value: 'topic' },
      p: { type: 'int', value: 'partition' },
      pid: { type: 'string', value: 'partition' },
      o: { type: 'long', value: 'offset' },
      ts: { type: 'timestamptz', value: 'timestamp' },
      h: { type: 'string', header: 'trace-id' },
      missing: { type: 'string', header: 'absent' },
    };
    const c = validateConfig(doc({}, columns));
    const spec = c.transform;
    const tr = compileTransform(spec, schemaForTransform(spec));
    const record: SourceRecord = {
      partitionId: 'events:3',
      position: '41',
      data: new Uint8Array(),
      partitionKey: 'user-7',
      arrivalTimeMs: 1_767_225_600_000,
      meta: { topic: 'events', partition: '3', offset: '41', key: 'user-7', 'header:trace-id': 'abc' },
    };
    const row = tr.apply({}, { record, streamName: 'kafka', processingTimeUs: 0n, text: undefined });
    assert.deepEqual(row, ['user-7', 'events', 3, 'events:3', 41n, 1_767_225_600_000_000n, 'abc', null]);
    // A record without a key: null, not the empty string.
    const keyless = tr.apply({}, { record: { ...record, partitionKey: '', meta: { topic: 'events', partition: '3', offset: '41' } }, streamName: 'kafka', processingTimeUs: 0n, text: undefined });
    assert.equal(keyless[0], null);
    refused(doc({}, { h: { type: 'long', header: 'x' } }), /header \(h\): a header needs a string column/);
    refused(doc({}, { h: { type: 'string', header: 'x', path: 'y' } }), /give only one of path, value, constant, header/);
    refused(doc({}, { o: { type: 'int', value: 'offset' } }), /'offset' needs a long or string column/);
  });
});
