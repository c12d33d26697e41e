/**
 * The Kafka source's pure parts: partition ids and offsets as positions, the kafkajs client
 * settings (TLS CA file, SASL), and the Amazon MSK IAM token (a SigV4-presigned
 * `kafka-cluster:Connect` URL, base64url, as the MSK IAM signer libraries make it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../../src/errors.js';
import { kafkaClientConfig, mskIamToken } from '../../src/source/kafka/kafka-client.js';
import { compareKafkaOffsets, kafkaPartitionId, parseKafkaOffset, parseKafkaPartitionId } from '../../src/source/kafka/kafka-position.js';

test('partition ids and offsets', () => {
  assert.equal(kafkaPartitionId('events.v1', 11), 'events.v1:11');
  assert.deepEqual(parseKafkaPartitionId('events.v1:11'), { topic: 'events.v1', partition: 11 });
  for (const bad of ['events', ':3', 'events:', 'events:-1', 'events:01', 'events:99999999999']) assert.equal(parseKafkaPartitionId(bad), undefined, bad);
  assert.equal(parseKafkaOffset('0'), 0n);
  assert.equal(parseKafkaOffset('9223372036854775807'), 9223372036854775807n);
  for (const bad of ['', '-1', '01', '1.5', 'SHARD_END', '9223372036854775808', '49590338271490256608559692538361571095921575989136588898']) {
    assert.throws(() => parseKafkaOffset(bad), ValidationError, bad);
  }
  assert.ok(compareKafkaOffsets('9', '10') < 0, 'numeric, not text order');
  assert.equal(compareKafkaOffsets('10', '10'), 0);
  assert.ok(compareKafkaOffsets('9007199254740993', '9007199254740992') > 0, 'beyond 2^53');
});

test('client settings: TLS with a CA file, SASL mechanisms; a missing or non-PEM CA file fails first', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-kafka-ca-'));
  try {
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const c = kafkaClientConfig({ brokers: ['b:9094'], tls: { caFile: ca, verify: true }, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
    assert.deepEqual(c.ssl, { rejectUnauthorized: true, ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'] });
    assert.deepEqual(c.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    assert.equal(kafkaClientConfig({ brokers: ['b:9092'] }).ssl, undefined);
    assert.throws(() => kafkaClientConfig({ brokers: ['b:9094'], tls: { caFile: join(dir, 'missing.pem'), verify: true } }), /source\.ssl\.ca_file: cannot read/);
    const notPem = join(dir, 'x.txt');
    await writeFile(notPem, 'hello');
    assert.throws(() => kafkaClientConfig({ brokers: ['b:9094'], tls: { caFile: notPem, verify: true } }), /holds no PEM certificate/);
    // MSK IAM: OAUTHBEARER over TLS; a region is required.
    const msk = kafkaClientConfig({ brokers: ['b-1.msk:9098'], sasl: { mechanism: 'aws-msk-iam', region: 'eu-west-1' } }, {});
    assert.equal((msk.sasl as { mechanism: string }).mechanism, 'oauthbearer');
    assert.deepEqual(msk.ssl, { rejectUnauthorized: true });
    assert.throws(() => kafkaClientConfig({ brokers: ['b:9098'], sasl: { mechanism: 'aws-msk-iam' } }, {}), /aws-msk-iam needs a region/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('MSK IAM token: a presigned kafka-cluster:Connect URL, base64url without padding', async () => {
  const now = new Date('2026-01-08T15:16:52Z');
  const { value, expiresAtMs } = await mskIamToken('eu-west-1', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'tok' }, { now });
  assert.match(value, /^[A-Za-z0-9_-]+$/, 'base64url, no padding');
  const url = new URL(Buffer.from(value, 'base64url').toString('utf8'));
  assert.equal(url.host, 'kafka.eu-west-1.amazonaws.com');
  assert.equal(url.searchParams.get('Action'), 'kafka-cluster:Connect');
  assert.equal(url.searchParams.get('X-Amz-Algorithm'), 'AWS4-HMAC-SHA256');
  assert.equal(url.searchParams.get('X-Amz-Credential'), 'AKIDEXAMPLE/20260108/eu-west-1/kafka-cluster/aws4_request');
  assert.equal(url.searchParams.get('X-Amz-Date'), '20260108T151652Z');
  assert.equal(url.searchParams.get('X-Amz-Expires'), '900');
  assert.equal(url.searchParams.get('X-Amz-Security-Token'), 'tok');
  assert.equal(url.searchParams.get('X-Amz-SignedHeaders'), 'host');
  assert.match(url.searchParams.get('X-Amz-Signature') ?? '', /^[0-9a-f]{64}$/);
  assert.ok(url.searchParams.get('User-Agent'));
  assert.equal(expiresAtMs, now.getTime() + 900_000);
  // Deterministic for the same inputs; another key signs differently.
  assert.equal((await mskIamToken('eu-west-1', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'tok' }, { now })).value, value);
  assert.notEqual((await mskIamToken('eu-west-1', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'other', sessionToken: 'tok' }, { now })).value, value);
});
