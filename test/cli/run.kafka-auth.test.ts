/**
 * `floe run` with `source.ssl` and `source.sasl` as a real process, against brokers that enforce
 * them: `test/source/kafka-auth-proxy.ts` (TLS with a CA the test made, SASL SCRAM-SHA-512) in
 * front of librdkafka's mock cluster. Records come from two producers: `kcat -P` straight into the
 * mock, and `kcat -P` through the proxy (librdkafka's own TLS and SASL PLAIN: a second client the
 * proxy must satisfy). Every record lands in the table once; a wrong password stops `floe run`
 * at once with exit 1 and one line naming SASL authentication (code AUTH), without retrying.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countDistinct } from '../helpers/warehouse-query.js';
import { startKafkaAuthProxy, type KafkaAuthProxy } from '../source/kafka-auth-proxy.js';
import { SKIP_NO_KCAT, produce, startMockKafka, type MockKafka } from '../source/kafka-mock.js';
import { makeTestCertificates, SKIP_NO_OPENSSL, type TestCertificates } from '../source/kafka-tls-certs.js';
import { writeTlsKafkaConfig } from './kafka-tls-config.js';
import { childEnv, killStrayCliProcesses, runCliProcess, spawnCli } from './spawn.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `kcat -P` through the proxy with TLS and SASL PLAIN (librdkafka 2.0.2's SCRAM sends a malformed client-final nonce). */
function produceThroughProxy(proxy: KafkaAuthProxy, caFile: string, topic: string, lines: string[]): Promise<void> {
  const args = ['-P', '-b', proxy.bootstrap, '-t', topic, '-X', 'security.protocol=SASL_SSL', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret',
    '-X', `ssl.ca.location=${caFile}`, '-X', 'topic.acks=all', '-X', 'message.timeout.ms=15000'];
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`test: kcat through the proxy exited ${code}: ${err.slice(0, 1000)}`))));
    child.stdin!.end(lines.join('\n') + '\n');
  });
}

describe('floe run with TLS and SASL (auth proxy before the mock cluster)', { skip: SKIP_NO_KCAT || SKIP_NO_OPENSSL }, () => {
  let mock: MockKafka;
  let proxy: KafkaAuthProxy;
  let dir: string;
  let certs: TestCertificates;
  before(async () => {
    mock = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'floe-run-kafka-auth-'));
    certs = makeTestCertificates(dir);
    proxy = await startKafkaAuthProxy({
      upstream: mock.brokers,
      tls: { key: certs.key, cert: certs.cert },
      sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-512'], users: { alice: 'alice-secret', floe: 'floe-secret' } },
    });
  });
  after(async () => {
    killStrayCliProcesses();
    await proxy?.close();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const config = (name: string, password: string) => writeTlsKafkaConfig(dir, name, proxy.bootstrap, certs.caFile, ['mechanism: scram-sha-512', 'username: floe', `password: ${password}`]);

  test('TLS + SCRAM-SHA-512: every record produced (straight in, and by kcat through the proxy) lands in the table once', { timeout: 120_000 }, async () => {
    const { path, warehouse } = await config('secure', 'floe-secret');
    await produce(mock.bootstrap, 'secure', Array.from({ length: 300 }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i % 17}` })));
    await produceThroughProxy(proxy, certs.caFile, 'secure', Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: 300 + i })));
    const before = proxy.events.length;
    const p = spawnCli(['run', '--config', path], { env: childEnv(), cwd: dir });
    try {
      const deadline = Date.now() + 60_000;
      while ((await countDistinct(warehouse, 'db.secure'))[0] < 350n) {
        if (Date.now() > deadline || p.child.exitCode !== null) assert.fail(`rows missing; stderr: ${p.stderr().slice(-2000)}`);
        await sleep(300);
      }
      await sleep(500);
      p.child.kill('SIGTERM');
      assert.deepEqual(await p.exited, { code: 0, signal: null }, p.stderr());
      assert.deepEqual(await countDistinct(warehouse, 'db.secure'), [350n, 350n]);
      const events = proxy.events.slice(before);
      assert.ok(events.length > 0 && events.every((e) => e.type === 'authenticated' && e.mechanism === 'SCRAM-SHA-512' && e.user === 'floe'), JSON.stringify(events));
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  });

  test('a wrong password: exit 1 at once, one line naming SASL authentication (code AUTH), one attempt', { timeout: 60_000 }, async () => {
    const { path } = await config('denied', 'not-the-password');
    const before = proxy.events.length;
    const t0 = Date.now();
    const r = await runCliProcess(['run', '--config', path], { env: childEnv(), cwd: dir, timeoutMs: 30_000 });
    const ms = Date.now() - t0;
    assert.equal(r.code, 1, r.stderr);
    const fatal = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; code?: string; fatal?: boolean }).filter((l) => l.fatal);
    assert.equal(fatal.length, 1, r.stderr);
    assert.equal(fatal[0]!.code, 'AUTH');
    assert.match(
      fatal[0]!.msg,
      /^kafka: cannot start the consumer of group g-denied on 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+: the brokers refused SASL authentication \(check source\.sasl\): SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512$/,
    );
    assert.doesNotMatch(r.stderr + r.stdout, /not-the-password/, 'the password is never printed');
    assert.deepEqual(proxy.events.slice(before), [{ type: 'auth-failed', mechanism: 'SCRAM-SHA-512', message: 'Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512' }]);
    console.log(`kafka auth: floe run with a wrong password exited ${r.code} after ${ms} ms`);
  });
});
