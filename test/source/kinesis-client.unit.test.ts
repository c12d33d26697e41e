import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../src/errors.js';
import {
  classifyKinesisError,
  isCustomEndpoint,
  kinesisClientFromEnv,
  resolveKinesisClientConfig,
  streamNameFromArn,
  streamParams,
} from '../../src/source/kinesis/client.js';

const emptyHome = mkdtempSync(join(tmpdir(), 'floe-home-'));

test('endpoint and region follow AWS_ENDPOINT_URL_KINESIS, AWS_ENDPOINT_URL and AWS_REGION', () => {
  const env = { HOME: emptyHome, AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:4567', AWS_ENDPOINT_URL: 'http://127.0.0.1:1' };
  assert.deepEqual(resolveKinesisClientConfig({ env }), { region: 'us-east-1', endpoint: 'http://127.0.0.1:4567', dummyCredentials: true });
  assert.equal(resolveKinesisClientConfig({ env: { HOME: emptyHome, AWS_ENDPOINT_URL: 'http://localhost:9' } }).endpoint, 'http://localhost:9');
  assert.equal(resolveKinesisClientConfig({ env: { ...env, AWS_REGION: 'ap-northeast-1' } }).region, 'ap-northeast-1');
  assert.equal(resolveKinesisClientConfig({ env: { ...env, AWS_DEFAULT_REGION: 'eu-west-1' } }).region, 'eu-west-1');
  assert.equal(resolveKinesisClientConfig({ env, endpoint: 'http://127.0.0.1:7', region: 'x-1' }).endpoint, 'http://127.0.0.1:7', 'options win');
  assert.equal(resolveKinesisClientConfig({ env: { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' } }).endpoint, undefined);
});

test('real AWS: no endpoint, no region default, never dummy credentials', () => {
  assert.deepEqual(resolveKinesisClientConfig({ env: { HOME: emptyHome } }), { region: undefined, endpoint: undefined, dummyCredentials: false });
  const aws = resolveKinesisClientConfig({ env: { HOME: emptyHome, AWS_ENDPOINT_URL_KINESIS: 'https://kinesis.eu-west-1.amazonaws.com' } });
  assert.equal(aws.dummyCredentials, false);
  assert.equal(aws.region, undefined);
});

test('configured credentials are never replaced by dummy ones', () => {
  const base = { HOME: emptyHome, AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:4567' };
  assert.equal(resolveKinesisClientConfig({ env: { ...base, AWS_ACCESS_KEY_ID: 'AKIA' } }).dummyCredentials, false);
  assert.equal(resolveKinesisClientConfig({ env: { ...base, AWS_PROFILE: 'dev' } }).dummyCredentials, false);
  const home = mkdtempSync(join(tmpdir(), 'floe-home-'));
  mkdirSync(join(home, '.aws'));
  writeFileSync(join(home, '.aws', 'config'), '[default]\n');
  assert.equal(resolveKinesisClientConfig({ env: { ...base, HOME: home } }).dummyCredentials, false);
  assert.equal(resolveKinesisClientConfig({ env: base, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }).dummyCredentials, false);
});

test('the client gets the resolved endpoint and region', async () => {
  const c = kinesisClientFromEnv({ env: { HOME: emptyHome, AWS_ENDPOINT_URL_KINESIS: 'http://127.0.0.1:4567' } });
  assert.equal(await c.config.region(), 'us-east-1');
  const ep = await c.config.endpoint?.();
  assert.equal(ep?.hostname, '127.0.0.1');
  assert.equal(ep?.port, 4567);
  const creds = await c.config.credentials();
  assert.equal(creds.accessKeyId, 'floe-local');
  c.destroy();
});

test('custom endpoint detection', () => {
  assert.ok(isCustomEndpoint('http://127.0.0.1:4567'));
  assert.ok(isCustomEndpoint('http://kinesis-local:4567'));
  assert.ok(!isCustomEndpoint('https://kinesis.us-east-1.amazonaws.com'));
  assert.ok(!isCustomEndpoint('https://kinesis.cn-north-1.amazonaws.com.cn'));
  assert.throws(() => isCustomEndpoint('not a url'), ValidationError);
});

test('stream targets: name or ARN, exactly one, validated', () => {
  assert.deepEqual(streamParams({ streamName: 'glue-streaming-iceberg-stream' }), { StreamName: 'glue-streaming-iceberg-stream' });
  const arn = 'arn:aws:kinesis:ap-northeast-1:123456789012:stream/glue-streaming-iceberg-stream';
  assert.deepEqual(streamParams({ streamArn: arn }), { StreamARN: arn });
  assert.equal(streamNameFromArn(arn), 'glue-streaming-iceberg-stream');
  assert.throws(() => streamParams({}), /exactly one/);
  assert.throws(() => streamParams({ streamName: 'a', streamArn: arn }), /exactly one/);
  assert.throws(() => streamParams({ streamName: 'bad name' }), /not a valid stream name/);
  assert.throws(() => streamParams({ streamArn: 'arn:aws:s3:::bucket' }), /not a Kinesis stream ARN/);
});

test('error classification', () => {
  const err = (name: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(name), { name, ...extra });
  assert.equal(classifyKinesisError(err('ProvisionedThroughputExceededException')), 'throttle');
  assert.equal(classifyKinesisError(err('LimitExceededException')), 'throttle');
  assert.equal(classifyKinesisError(err('KMSThrottlingException')), 'throttle');
  assert.equal(classifyKinesisError(err('Whatever', { $metadata: { httpStatusCode: 429 } })), 'throttle');
  assert.equal(classifyKinesisError(err('ExpiredIteratorException')), 'expired-iterator');
  assert.equal(classifyKinesisError(err('InternalFailure', { $fault: 'server' })), 'transient');
  assert.equal(classifyKinesisError(err('Unknown', { $metadata: { httpStatusCode: 503 } })), 'transient');
  assert.equal(classifyKinesisError(err('Error', { code: 'ECONNRESET' })), 'transient');
  assert.equal(classifyKinesisError(err('TimeoutError')), 'transient');
  assert.equal(classifyKinesisError(err('AbortError')), 'aborted');
  assert.equal(classifyKinesisError(err('ResourceNotFoundException', { $fault: 'client' })), 'fatal');
  assert.equal(classifyKinesisError(err('InvalidArgumentException', { $fault: 'client' })), 'fatal');
  assert.equal(classifyKinesisError('boom'), 'fatal');
});
