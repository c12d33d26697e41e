/**
 * `floe run` with `source.sasl.mechanism: aws-msk-iam` as a real process, credentials given the
 * AWS SDK's way (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN in its
 * environment), against brokers that check the token as Amazon MSK does:
 * `test/source/kafka-auth-proxy.ts` over TLS with OAUTHBEARER and the SigV4 verifier of
 * `test/source/kafka-msk-iam-verifier.ts` (the signature recomputed with the test's secret key,
 * region eu-west-1), in front of librdkafka's mock cluster. Every record produced (by `kcat -P`)
 * lands in the table once; a wrong secret key stops `floe run` at once with exit 1 and one line
 * naming SASL authentication (code AUTH), after one attempt, with nothing written.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countDistinct } from '../helpers/warehouse-query.js';
import { startKafkaAuthProxy, type KafkaAuthProxy } from '../source/kafka-auth-proxy.js';
import { SKIP_NO_KCAT, produce, startMockKafka, type MockKafka } from '../source/kafka-mock.js';
import { mskIamOAuthBearer, type MskIamIdentity } from '../source/kafka-msk-iam-verifier.js';
import { makeTestCertificates, SKIP_NO_OPENSSL, type TestCertificates } from '../source/kafka-tls-certs.js';
import { writeTlsKafkaConfig } from './kafka-tls-config.js';
import { childEnv, killStrayCliProcesses, runCliProcess, spawnCli } from './spawn.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const REGION = 'eu-west-1';
const AKID = 'ASIAFLOECLITEST00001';
const SECRET = 'cli/test+secret/access/key';
const SESSION = 'FwoGZXIvYXdzEBYaDH+cli/session/token==';
const PRINCIPAL = 'arn:aws:sts::123456789012:assumed-role/floe-ingest/cli';

describe('floe run with aws-msk-iam (TLS proxy verifying SigV4 tokens before the mock cluster)', { skip: SKIP_NO_KCAT || SKIP_NO_OPENSSL }, () => {
  let mock: MockKafka;
  let proxy: KafkaAuthProxy;
  let dir: string;
  let certs: TestCertificates;
  const accepted: MskIamIdentity[] = [];
  before(async () => {
    mock = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'floe-run-kafka-msk-iam-'));
    certs = makeTestCertificates(dir);
    proxy = await startKafkaAuthProxy({
      upstream: mock.brokers,
      tls: { key: certs.key, cert: certs.cert },
      sasl: {
        mechanisms: ['OAUTHBEARER'],
        users: {},
        oauthBearer: mskIamOAuthBearer({ region: REGION, keys: { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION, principal: PRINCIPAL } } }, (id) => accepted.push(id)),
      },
    });
  });
  after(async () => {
    killStrayCliProcesses();
    await proxy?.close();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (name: string) => writeTlsKafkaConfig(dir, name, proxy.bootstrap, certs.caFile, ['mechanism: aws-msk-iam', `region: ${REGION}`]);

  /** The child's environment: the AWS SDK's variables (AWS_REGION stays us-east-1: the config's region must win). */
  const env = (secret: string) => childEnv({ AWS_ACCESS_KEY_ID: AKID, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: SESSION });

  test('every record produced lands in the table once; every connection authenticated as the key\'s principal with a valid SigV4 token', { timeout: 120_000 }, async () => {
    const n = 250;
    const { path, warehouse } = await config('msk');
    await produce(mock.bootstrap, 'msk', Array.from({ length: n }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i % 13}` })));
    const before = proxy.events.length;
    const p = spawnCli(['run', '--config', path], { env: env(SECRET), cwd: dir });
    try {
      const deadline = Date.now() + 60_000;
      while ((await countDistinct(warehouse, 'db.msk'))[0] < BigInt(n)) {
        if (Date.now() > deadline || p.child.exitCode !== null) assert.fail(`rows missing; stderr: ${p.stderr().slice(-2000)}`);
        await sleep(300);
      }
      await sleep(500);
      p.child.kill('SIGTERM');
      assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
      assert.deepEqual(await countDistinct(warehouse, 'db.msk'), [BigInt(n), BigInt(n)]);
      const events = proxy.events.slice(before);
      assert.ok(events.length >= 2, `connections: ${JSON.stringify(events)}`);
      for (const e of events) assert.deepEqual(e, { type: 'authenticated', mechanism: 'OAUTHBEARER', user: PRINCIPAL, handshakeVersion: 1, authenticateVersion: 1 });
      assert.ok(accepted.length >= events.length);
      assert.ok(accepted.every((id) => id.accessKeyId === AKID && id.sessionToken === SESSION && id.payload === 'empty-sha256'), JSON.stringify(accepted));
      assert.doesNotMatch(p.stderr() + p.stdout(), new RegExp(SECRET.replace(/[+/]/g, '\\$&')), 'the secret is never printed');
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('a wrong secret key: exit 1 at once, one line naming SASL authentication (code AUTH), one attempt, nothing written', { timeout: 60_000 }, async () => {
    const { path, warehouse } = await config('msk-denied');
    await produce(mock.bootstrap, 'msk-denied', Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify({ id: i }) })));
    const before = proxy.events.length;
    const t0 = Date.now();
    const r = await runCliProcess(['run', '--config', path], { env: env(`${SECRET}-rotated`), cwd: dir, timeoutMs: 30_000 });
    const ms = Date.now() - t0;
    assert.equal(r.code, 1, r.stderr);
    const fatal = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; code?: string; fatal?: boolean }).filter((l) => l.fatal);
    assert.equal(fatal.length, 1, r.stderr);
    assert.equal(fatal[0]!.code, 'AUTH');
    assert.match(
      fatal[0]!.msg,
      /^kafka: cannot start the consumer of group g-msk-denied on 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+: the brokers refused SASL authentication \(check source\.sasl\): SASL OAUTHBEARER authentication failed: \[[0-9a-f-]{36}\]: Access denied \(the signature does not match \(wrong secret access key, or the URL was changed after signing\)\)$/,
    );
    assert.doesNotMatch(r.stderr + r.stdout, /cli\/test\+secret/, 'the secret is never printed');
    const events = proxy.events.slice(before);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0]!.type, 'auth-failed');
    assert.deepEqual(await countDistinct(warehouse, 'db.msk-denied'), [0n, 0n]);
    console.log(`kafka msk iam: floe run with a wrong secret exited ${r.code} after ${ms} ms`);
  });
});
