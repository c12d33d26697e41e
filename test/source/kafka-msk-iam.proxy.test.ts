/**
 * The Kafka source with `sasl.mechanism: aws-msk-iam` against a broker that checks the token as
 * MSK does: `kafka-auth-proxy.ts` over TLS with OAUTHBEARER and the verifier of
 * `kafka-msk-iam-verifier.ts` (SigV4 recomputed with the test's secret key), in front of
 * librdkafka's mock cluster. Reads every record once; a wrong secret, a token for another region
 * and credentials of a key the broker does not know are refused with AUTH, one attempt each.
 * KIP-368: with a session lifetime (as MSK sets, bounded by the token's expiry), kafkajs
 * re-authenticates each connection with a fresh token before the session ends and keeps reading.
 * Then, with raw requests, the broker's side: OAUTHBEARER offered only when configured, a
 * malformed client message answered with error 58 and a message, then the close; the session
 * lifetime (the token's remaining life when shorter), the close of an expired session, and a
 * re-authentication that changes the principal refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloeError } from '../../src/errors.js';
import { mskIamToken } from '../../src/source/kafka/kafka-client.js';
import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { startKafkaAuthProxy, type KafkaAuthProxy, type KafkaAuthProxyOptions } from './kafka-auth-proxy.js';
import { SKIP_NO_KCAT, produce, startMockKafka, type MockKafka } from './kafka-mock.js';
import { mskIamOAuthBearer, type MskIamIdentity } from './kafka-msk-iam-verifier.js';
import { makeTestCertificates, SKIP_NO_OPENSSL, type TestCertificates } from './kafka-tls-certs.js';
import { readsExactly } from './kafka-reads.js';
import { pollUntil } from './kinesis-test-helpers.js';

const REGION = 'eu-west-1';
const AKID = 'ASIAFLOEPROXYTEST001';
const SECRET = 'proxy/test+secret/key';
const SESSION = 'FwoGZXIvYXdzEBYaDH+session/token==';
const PRINCIPAL = 'arn:aws:sts::123456789012:assumed-role/floe-reader/session';
const ENV = { AWS_ACCESS_KEY_ID: AKID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: SESSION };

describe('Kafka source with aws-msk-iam through a TLS proxy that verifies the token (mock cluster)', { skip: SKIP_NO_KCAT || SKIP_NO_OPENSSL }, () => {
  let mock: MockKafka;
  let dir: string;
  let certs: TestCertificates;
  let proxy: KafkaAuthProxy;
  const accepted: MskIamIdentity[] = [];
  before(async () => {
    mock = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'floe-kafka-msk-iam-'));
    certs = makeTestCertificates(dir);
    proxy = await startKafkaAuthProxy({
      upstream: mock.brokers,
      tls: { key: certs.key, cert: certs.cert },
      sasl: { mechanisms: ['OAUTHBEARER'], users: {}, oauthBearer: mskIamOAuthBearer({ region: REGION, keys: { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION, principal: PRINCIPAL } } }, (id) => accepted.push(id)) },
    });
  });
  after(async () => {
    await proxy?.close();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function source(topic: string, env: Record<string, string>, region = REGION): KafkaSource {
    return new KafkaSource({
      brokers: proxy.brokers,
      topics: [topic],
      group: `g-${topic}`,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 500,
      tls: { caFile: certs.caFile, verify: true },
      sasl: { mechanism: 'aws-msk-iam', region },
      env,
    });
  }

  test('every record once; every connection authenticated with OAUTHBEARER as the key\'s principal, floe\'s token signed as the JS signer signs', { timeout: 60_000 }, async () => {
    const n = 40;
    const before = proxy.events.length;
    await readsExactly(mock.bootstrap, source('msk-read', ENV), 'msk-read', n);
    const events = proxy.events.slice(before);
    assert.ok(events.length >= 2, `connections: ${events.length}`);
    for (const e of events) assert.deepEqual(e, { type: 'authenticated', mechanism: 'OAUTHBEARER', user: PRINCIPAL, handshakeVersion: 1, authenticateVersion: 1 });
    assert.ok(accepted.length >= events.length);
    for (const id of accepted) {
      assert.equal(id.payload, 'empty-sha256');
      assert.equal(id.sessionToken, SESSION);
      assert.ok(id.expiresAtMs > Date.now() + 800_000 && id.expiresAtMs <= Date.now() + 900_000, `expires at ${new Date(id.expiresAtMs).toISOString()}`);
    }
  });

  /** Starts `s`, which must fail with AUTH after one refused attempt; returns the error. */
  async function refused(s: KafkaSource, reason: RegExp): Promise<FloeError> {
    const before = proxy.events.length;
    const e = await s.start(new Map(), { type: 'TRIM_HORIZON' }).then(
      () => assert.fail('start must fail'),
      (err: unknown) => err,
    );
    await s.close();
    assert.ok(e instanceof FloeError, String(e));
    assert.equal(e.code, 'AUTH', e.message);
    assert.equal(e.retriable, false);
    assert.match(e.message, /: the brokers refused SASL authentication \(check source\.sasl\): SASL OAUTHBEARER authentication failed: \[[0-9a-f-]{36}\]: Access denied \(/);
    assert.match(e.message, reason);
    const events = proxy.events.slice(before);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0]!.type, 'auth-failed');
    return e;
  }

  test('KIP-368: a session lifetime of 11 s (kafkajs re-authenticates within 10 s of the end): every connection re-authenticates with a fresh token and reading goes on, nothing refused', { timeout: 60_000 }, async () => {
    const tokens: MskIamIdentity[] = [];
    const reauth = await startKafkaAuthProxy({
      upstream: mock.brokers,
      tls: { key: certs.key, cert: certs.cert },
      sasl: {
        mechanisms: ['OAUTHBEARER'],
        users: {},
        sessionLifetimeMs: 11_000,
        oauthBearer: mskIamOAuthBearer({ region: REGION, keys: { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION, principal: PRINCIPAL } } }, (id) => tokens.push(id)),
      },
    });
    const s = new KafkaSource({ brokers: reauth.brokers, topics: ['msk-reauth'], group: 'g-msk-reauth', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, tls: { caFile: certs.caFile, verify: true }, sasl: { mechanism: 'aws-msk-iam', region: REGION }, env: ENV });
    const ids: number[] = [];
    const take = (records: readonly { data: Uint8Array }[]) => ids.push(...records.map((r) => (JSON.parse(new TextDecoder().decode(r.data)) as { id: number }).id));
    try {
      await produce(mock.bootstrap, 'msk-reauth', Array.from({ length: 30 }, (_, i) => ({ value: JSON.stringify({ id: i }) })));
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      take((await pollUntil(s, (c) => c.records.length >= 30, { timeoutMs: 20_000 })).records);
      // Keep the connections busy past the first re-authentications (1 s after each authentication, at the next request).
      const t0 = Date.now();
      while (Date.now() - t0 < 3000) take((await s.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 200 })).records);
      await produce(mock.bootstrap, 'msk-reauth', Array.from({ length: 30 }, (_, i) => ({ value: JSON.stringify({ id: 30 + i }) })));
      take((await pollUntil(s, (c) => c.records.length >= 30, { timeoutMs: 20_000 })).records);
      await new Promise((r) => setTimeout(r, 300));
      take((await s.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 0 })).records);
    } finally {
      await s.close();
      await reauth.close();
    }
    assert.deepEqual(ids.sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
    const types = new Set(reauth.events.map((e) => e.type));
    assert.deepEqual([...types].sort(), ['authenticated', 'reauthenticated'], JSON.stringify(reauth.events.filter((e) => e.type !== 'authenticated' && e.type !== 'reauthenticated')));
    const again = reauth.events.filter((e) => e.type === 'reauthenticated');
    assert.ok(again.length >= 2, `re-authentications: ${again.length}`);
    for (const e of again) assert.deepEqual(e, { type: 'reauthenticated', mechanism: 'OAUTHBEARER', user: PRINCIPAL, sessionLifetimeMs: 11_000 });
    // One token per authentication, signed when it was made (not one token reused): their expiries differ.
    assert.equal(tokens.length, reauth.events.length);
    assert.ok(new Set(tokens.map((t) => t.expiresAtMs)).size >= 2, JSON.stringify(tokens.map((t) => t.expiresAtMs)));
  });

  test('refused with AUTH, one attempt: a wrong secret, another region, an unknown key, a missing session token', { timeout: 60_000 }, async () => {
    await refused(source('msk-denied', { ...ENV, AWS_SECRET_ACCESS_KEY: `${SECRET}-wrong` }), /the signature does not match/);
    await refused(source('msk-denied', ENV, 'us-east-1'), /host "kafka\.us-east-1\.amazonaws\.com" is not kafka\.eu-west-1\.amazonaws\.com/);
    await refused(source('msk-denied', { ...ENV, AWS_ACCESS_KEY_ID: 'ASIASOMEONEELSE00000' }), /unknown access key id ASIASOMEONEELSE00000/);
    await refused(source('msk-denied', { AWS_ACCESS_KEY_ID: AKID, AWS_SECRET_ACCESS_KEY: SECRET }), /missing X-Amz-Security-Token/);
  });
});

/** One connection of raw Kafka requests (header v1, client id `raw`): each answer frame, or 'closed'. */
async function rawExchange(address: string, requests: [apiKey: number, version: number, body: Buffer][], pause?: { pauseAfter: number; pauseMs: number }): Promise<(Buffer | 'closed')[]> {
  const [host, port] = address.split(':');
  const socket = net.connect({ host: host!, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let buf = Buffer.alloc(0);
  let closed = false;
  let wake = (): void => undefined;
  socket.on('data', (b: Buffer) => {
    buf = Buffer.concat([buf, b]);
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  socket.on('error', () => undefined);
  const answers: (Buffer | 'closed')[] = [];
  try {
    for (const [i, [apiKey, version, body]] of requests.entries()) {
      if (pause && i === pause.pauseAfter) await new Promise((r) => setTimeout(r, pause.pauseMs));
      const header = Buffer.alloc(8);
      header.writeInt16BE(apiKey, 0);
      header.writeInt16BE(version, 2);
      header.writeInt32BE(i + 1, 4);
      const frame = Buffer.concat([header, str('raw'), body]);
      const size = Buffer.alloc(4);
      size.writeInt32BE(frame.length);
      socket.write(Buffer.concat([size, frame]));
      const deadline = Date.now() + 5000;
      for (;;) {
        if (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
          const n = buf.readInt32BE(0);
          answers.push(buf.subarray(4, 4 + n));
          buf = buf.subarray(4 + n);
          break;
        }
        if (closed) {
          answers.push('closed');
          return answers;
        }
        if (Date.now() > deadline) throw new Error('test: no answer and no close');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 50);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
    // After the last answer: closed by the server within a moment, or still open.
    const t0 = Date.now();
    while (!closed && Date.now() - t0 < 500) await new Promise((r) => setTimeout(r, 20));
    answers.push(closed ? 'closed' : Buffer.alloc(0));
    return answers;
  } finally {
    socket.destroy();
  }
}

const str = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  const n = Buffer.alloc(2);
  n.writeInt16BE(b.length);
  return Buffer.concat([n, b]);
};
const bytes = (b: Buffer): Buffer => {
  const n = Buffer.alloc(4);
  n.writeInt32BE(b.length);
  return Buffer.concat([n, b]);
};
/** A SaslAuthenticate v1 answer: correlation id, error, message, no bytes, the session lifetime (default 0). */
const authAnswer = (correlationId: number, error: number, message: string | null, lifetimeMs = 0): Buffer => {
  const lifetime = Buffer.alloc(8);
  lifetime.writeBigInt64BE(BigInt(lifetimeMs));
  return Buffer.concat([Buffer.from([0, 0, 0, correlationId, 0, error]), message === null ? Buffer.from([0xff, 0xff]) : str(message), Buffer.from([0, 0, 0, 0]), lifetime]);
};
const METADATA_ALL = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const clientFirst = (token: string): Buffer => bytes(Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`));

/**
 * A one-broker mock cluster for the describe block it is called in, and the SASL proxies its
 * tests start before it (all closed after the block).
 */
function proxiedMock(): { upstream(): string[]; proxy(sasl: KafkaAuthProxyOptions['sasl']): Promise<KafkaAuthProxy> } {
  let mock: MockKafka;
  const proxies: KafkaAuthProxy[] = [];
  before(async () => {
    mock = await startMockKafka({ brokers: 1 });
  });
  after(async () => {
    for (const p of proxies) await p.close();
    await mock?.stop();
  });
  return {
    upstream: () => mock.brokers,
    async proxy(sasl) {
      const p = await startKafkaAuthProxy({ upstream: mock.brokers, sasl });
      proxies.push(p);
      return p;
    },
  };
}

describe('the MSK IAM listener, raw requests', { skip: SKIP_NO_KCAT }, () => {
  const cluster = proxiedMock();
  const proxy = cluster.proxy;
  const verify = mskIamOAuthBearer({ region: REGION, keys: { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION, principal: PRINCIPAL } } });

  test('OAUTHBEARER is offered only when configured: without a verifier it is refused (33, the enabled list), and configuring it without one is an error', async () => {
    const p = await proxy({ mechanisms: ['PLAIN', 'SCRAM-SHA-512'], users: { alice: 'x' } });
    const [h, end] = await rawExchange(p.brokers[0]!, [[17, 1, str('OAUTHBEARER')]]);
    assert.deepEqual(h, Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 33, 0, 0, 0, 2]), str('PLAIN'), str('SCRAM-SHA-512')]));
    assert.equal(end, 'closed');
    const q = await proxy({ mechanisms: ['OAUTHBEARER'], users: {}, oauthBearer: verify });
    const [h2] = await rawExchange(q.brokers[0]!, [[17, 1, str('OAUTHBEARER')]]);
    assert.deepEqual(h2, Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 1]), str('OAUTHBEARER')]));
    await assert.rejects(startKafkaAuthProxy({ upstream: cluster.upstream(), sasl: { mechanisms: ['OAUTHBEARER'], users: {} } }), /OAUTHBEARER needs sasl\.oauthBearer/);
  });

  test('a good client message is accepted (then Metadata is answered); malformed ones get 58 with Kafka\'s message, then the close', async () => {
    const p = await proxy({ mechanisms: ['OAUTHBEARER'], users: {}, oauthBearer: verify });
    const token = (await mskIamToken(REGION, { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: SESSION })).value;
    const ok = await rawExchange(p.brokers[0]!, [
      [17, 1, str('OAUTHBEARER')],
      [36, 1, clientFirst(token)],
      [3, 1, METADATA_ALL],
    ]);
    assert.deepEqual(ok[1], authAnswer(2, 0, null));
    assert.ok(ok[2] instanceof Buffer && ok[2].length > 8 && ok[2].readInt32BE(0) === 3, 'Metadata answered');
    assert.deepEqual(p.events.at(-1), { type: 'authenticated', mechanism: 'OAUTHBEARER', user: PRINCIPAL, handshakeVersion: 1, authenticateVersion: 1 });
    const cases: [string, string][] = [
      [`n,,\x01auth=Bearer ${token}\x01`, 'Invalid OAUTHBEARER client first message'],
      [`n,,\x01auth=Bearer ${token}`, 'Invalid OAUTHBEARER client first message'],
      [`n,,\x01auth=bearer:${token}\x01\x01`, "Invalid OAUTHBEARER client first message: invalid 'auth' format"],
      [`n,,\x01token=${token}\x01\x01`, "Invalid OAUTHBEARER client first message: 'auth' not specified"],
    ];
    for (const [msg, message] of cases) {
      const [, answer, end] = await rawExchange(p.brokers[0]!, [
        [17, 1, str('OAUTHBEARER')],
        [36, 1, bytes(Buffer.from(msg))],
      ]);
      assert.deepEqual(answer, authAnswer(2, 58, message), JSON.stringify(msg));
      assert.equal(end, 'closed');
      assert.deepEqual(p.events.at(-1), { type: 'auth-failed', mechanism: 'OAUTHBEARER', message });
    }
  });
});

describe('KIP-368 on the MSK IAM listener, raw requests', { skip: SKIP_NO_KCAT }, () => {
  const OTHER = 'AKIAFLOEOTHERKEY0001';
  const cluster = proxiedMock();
  function proxy(sessionLifetimeMs: number): Promise<KafkaAuthProxy> {
    const keys = { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION, principal: PRINCIPAL }, [OTHER]: { secretAccessKey: 'other-secret' } };
    return cluster.proxy({ mechanisms: ['OAUTHBEARER'], users: {}, sessionLifetimeMs, oauthBearer: mskIamOAuthBearer({ region: REGION, keys }) });
  }
  const token = async (akid = AKID, now = new Date()) =>
    (await mskIamToken(REGION, akid === AKID ? { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: SESSION } : { accessKeyId: OTHER, secretAccessKey: 'other-secret' }, { now })).value;

  test('the session lifetime is the configured one, or what is left of the token when that is shorter', async () => {
    const p = await proxy(60_000);
    const [, fresh] = await rawExchange(p.brokers[0]!, [[17, 1, str('OAUTHBEARER')], [36, 1, clientFirst(await token())]]);
    assert.deepEqual(fresh, authAnswer(2, 0, null, 60_000));
    // Signed 890 s ago: 10 s left of its 900.
    const [, old] = await rawExchange(p.brokers[0]!, [[17, 1, str('OAUTHBEARER')], [36, 1, clientFirst(await token(AKID, new Date(Date.now() - 890_000)))]]);
    assert.ok(old instanceof Buffer);
    const lifetime = Number(old.readBigInt64BE(old.length - 8));
    assert.ok(lifetime > 8_000 && lifetime <= 10_000, `lifetime ${lifetime} ms`);
  });

  test('a request after the session expired closes the connection; re-authenticating first keeps it; another principal is refused', async () => {
    const p = await proxy(1_000);
    const within = await rawExchangeAfter(p.brokers[0]!, 0, await token(), [[3, 1, METADATA_ALL]]);
    assert.ok(within[0] instanceof Buffer && within[0].readInt32BE(0) === 3, 'Metadata answered within the session');
    const waited = await rawExchangeAfter(p.brokers[0]!, 1200, await token(), [[3, 1, METADATA_ALL]]);
    assert.equal(waited[0], 'closed');
    assert.match((p.events.at(-1) as { reason: string }).reason, /^METADATA after the session expired \d+ ms ago \(KIP-368: re-authenticate first\)$/);
    const renewed = await rawExchangeAfter(p.brokers[0]!, 1200, await token(), [[17, 1, str('OAUTHBEARER')], [36, 1, clientFirst(await token())], [3, 1, METADATA_ALL]]);
    assert.deepEqual(renewed[1], authAnswer(4, 0, null, 1_000)); // correlation ids: 1-2 the first authentication, 3-4 the second
    assert.ok(renewed[2] instanceof Buffer && renewed[2].readInt32BE(0) === 5, 'Metadata answered after re-authentication');
    assert.deepEqual(p.events.at(-1), { type: 'reauthenticated', mechanism: 'OAUTHBEARER', user: PRINCIPAL, sessionLifetimeMs: 1_000 });
    const other = await rawExchangeAfter(p.brokers[0]!, 0, await token(), [[17, 1, str('OAUTHBEARER')], [36, 1, clientFirst(await token(OTHER))]]);
    const message = `Cannot change principals during re-authentication from ${PRINCIPAL}: ${OTHER}`;
    assert.deepEqual(other[1], authAnswer(4, 58, message));
    assert.equal(other[2], 'closed');
  });
});

/** Authenticates a raw connection with `token`, waits `ms`, then sends `requests` on it (correlation ids from 1): the answers as {@link rawExchange}. */
async function rawExchangeAfter(address: string, ms: number, token: string, requests: [apiKey: number, version: number, body: Buffer][]): Promise<(Buffer | 'closed')[]> {
  return rawExchange(address, [[17, 1, str('OAUTHBEARER')], [36, 1, clientFirst(token)], ...requests], { pauseAfter: 2, pauseMs: ms }).then((a) => a.slice(2));
}
