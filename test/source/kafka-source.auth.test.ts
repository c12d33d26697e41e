/**
 * The Kafka source's TLS and SASL against a server that enforces them: `kafka-auth-proxy.ts` in
 * front of librdkafka's mock cluster (which has neither), records produced straight into the mock
 * with `kcat -P`. Every mechanism floe offers (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) with and
 * without TLS, the older SASL paths (SaslAuthenticate v0, a v0 handshake with raw tokens), and
 * the refusals: wrong password, unknown user, a mechanism the brokers do not enable, a CA that
 * did not sign the brokers' certificate. Then the proxy's own strictness, with raw requests, and
 * its SCRAM server against RFC 7677's example.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FloeError } from '../../src/errors.js';
import { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import type { KafkaSaslSettings } from '../../src/source/kafka/kafka-client.js';
import { startKafkaAuthProxy, type KafkaAuthProxy, type KafkaAuthProxyOptions } from './kafka-auth-proxy.js';
import { SKIP_NO_KCAT, produce, startMockKafka, type MockKafka } from './kafka-mock.js';
import { SaslFailure, SaslUsers } from './kafka-sasl-server.js';
import { makeTestCertificates, SKIP_NO_OPENSSL, type TestCertificates } from './kafka-tls-certs.js';
import { readsExactly as readsExactlyFrom } from './kafka-reads.js';
import { pollUntil } from './kinesis-test-helpers.js';

const USERS = { alice: 'alice-secret', 'bob,=x': 'pässwörd' };
const ALL: KafkaAuthProxyOptions['sasl'] = { mechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'], users: USERS };

describe('Kafka source through a TLS/SASL proxy (mock cluster)', { skip: SKIP_NO_KCAT || SKIP_NO_OPENSSL }, () => {
  let mock: MockKafka;
  let dir: string;
  let certs: TestCertificates;
  const proxies: KafkaAuthProxy[] = [];
  before(async () => {
    mock = await startMockKafka();
    dir = await mkdtemp(join(tmpdir(), 'floe-kafka-auth-'));
    certs = makeTestCertificates(dir);
  });
  after(async () => {
    for (const p of proxies) await p.close();
    await mock?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function proxy(options: Omit<KafkaAuthProxyOptions, 'upstream'>): Promise<KafkaAuthProxy> {
    const p = await startKafkaAuthProxy({ upstream: mock.brokers, ...options });
    proxies.push(p);
    return p;
  }

  function source(p: KafkaAuthProxy, topic: string, settings: { tls?: { caFile?: string; verify: boolean }; sasl?: KafkaSaslSettings }): KafkaSource {
    return new KafkaSource({ brokers: p.brokers, topics: [topic], group: `g-${topic}`, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500, ...settings });
  }

  const readsExactly = (s: KafkaSource, topic: string, n: number) => readsExactlyFrom(mock.bootstrap, s, topic, n);

  const authenticated = (p: KafkaAuthProxy) => p.events.filter((e) => e.type === 'authenticated');
  const notAuthenticated = (p: KafkaAuthProxy) => p.events.filter((e) => e.type !== 'authenticated');

  test('SCRAM-SHA-256 over TLS: every record once; every connection authenticated (SaslHandshake v1, SaslAuthenticate v1)', { timeout: 60_000 }, async () => {
    const p = await proxy({ tls: { key: certs.key, cert: certs.cert }, sasl: ALL });
    await readsExactly(source(p, 'auth-s256', { tls: { caFile: certs.caFile, verify: true }, sasl: { mechanism: 'scram-sha-256', username: 'alice', password: 'alice-secret' } }), 'auth-s256', 60);
    const auth = authenticated(p);
    assert.ok(auth.length >= 2, `connections to the brokers: ${auth.length}`);
    for (const e of auth) assert.deepEqual(e, { type: 'authenticated', mechanism: 'SCRAM-SHA-256', user: 'alice', handshakeVersion: 1, authenticateVersion: 1 });
    assert.deepEqual(notAuthenticated(p), []);
  });

  test('PLAIN without TLS (SASL_PLAINTEXT), and a user name with , and = and a non-ASCII password over SCRAM-SHA-512', { timeout: 60_000 }, async () => {
    const p = await proxy({ sasl: ALL });
    await Promise.all([
      readsExactly(source(p, 'auth-plain', { sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } }), 'auth-plain', 30),
      readsExactly(source(p, 'auth-escaped', { sasl: { mechanism: 'scram-sha-512', username: 'bob,=x', password: 'pässwörd' } }), 'auth-escaped', 10),
    ]);
    assert.deepEqual(new Set(authenticated(p).map((e) => `${e.mechanism} ${e.user}`)), new Set(['PLAIN alice', 'SCRAM-SHA-512 bob,=x']));
    assert.deepEqual(notAuthenticated(p), []);
  });

  test('TLS without SASL', { timeout: 60_000 }, async () => {
    const p = await proxy({ tls: { key: certs.key, cert: certs.cert } });
    await readsExactly(source(p, 'auth-tls', { tls: { caFile: certs.caFile, verify: true } }), 'auth-tls', 25);
    assert.deepEqual(p.events, []);
  });

  test('older SASL paths: SaslAuthenticate v0 (PLAIN); a v0 handshake, then raw tokens (SCRAM-SHA-512 over TLS)', { timeout: 60_000 }, async () => {
    const v0 = await proxy({ sasl: ALL, advertise: { saslAuthenticate: [0, 0] } });
    const raw = await proxy({ tls: { key: certs.key, cert: certs.cert }, sasl: ALL, advertise: { saslHandshake: [0, 0], saslAuthenticate: null } });
    await Promise.all([
      readsExactly(source(v0, 'auth-v0', { sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } }), 'auth-v0', 10),
      readsExactly(source(raw, 'auth-raw', { tls: { caFile: certs.caFile, verify: true }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' } }), 'auth-raw', 10),
    ]);
    assert.ok(authenticated(v0).length > 0 && authenticated(v0).every((e) => e.handshakeVersion === 1 && e.authenticateVersion === 0));
    assert.ok(authenticated(raw).length > 0 && authenticated(raw).every((e) => e.handshakeVersion === 0 && e.authenticateVersion === undefined));
    assert.deepEqual([...notAuthenticated(v0), ...notAuthenticated(raw)], []);
  });

  /** Starts `s`, which must fail; returns the error. */
  async function startFails(s: KafkaSource): Promise<FloeError> {
    const t0 = Date.now();
    const e = await s.start(new Map(), { type: 'TRIM_HORIZON' }).then(
      () => assert.fail('start must fail'),
      (err: unknown) => err,
    );
    await s.close();
    assert.ok(e instanceof FloeError, String(e));
    assert.ok(Date.now() - t0 < 20_000, `failed after ${Date.now() - t0} ms`);
    return e;
  }

  test('wrong password, unknown user: AUTH, not retriable, names SASL and the broker\'s reason; one attempt, no retry', { timeout: 60_000 }, async () => {
    const p = await proxy({ tls: { key: certs.key, cert: certs.cert }, sasl: ALL });
    const tls = { caFile: certs.caFile, verify: true };
    const cases: [KafkaSaslSettings, RegExp][] = [
      [{ mechanism: 'scram-sha-512', username: 'alice', password: 'wrong' }, /invalid credentials with SASL mechanism SCRAM-SHA-512/],
      [{ mechanism: 'scram-sha-256', username: 'mallory', password: 'alice-secret' }, /invalid credentials with SASL mechanism SCRAM-SHA-256/],
      [{ mechanism: 'plain', username: 'alice', password: 'alice-secret ' }, /Invalid username or password/],
    ];
    for (const [sasl, reason] of cases) {
      const before = p.events.length;
      const e = await startFails(source(p, 'auth-wrong', { tls, sasl }));
      assert.equal(e.code, 'AUTH', e.message);
      assert.equal(e.retriable, false);
      assert.match(e.message, /^kafka: cannot start the consumer of group g-auth-wrong on 127\.0\.0\.1:\d+.*: the brokers refused SASL authentication \(check source\.sasl\): /);
      assert.match(e.message, reason);
      const events = p.events.slice(before);
      assert.equal(events.length, 1, `one attempt: ${JSON.stringify(events)}`);
      assert.equal(events[0]!.type, 'auth-failed');
    }
  });

  test('credentials revoked while reading (connections dropped, password changed): poll fails with AUTH, no retry loop', { timeout: 60_000 }, async () => {
    const p = await proxy({ sasl: { mechanisms: ['SCRAM-SHA-512'], users: USERS } });
    const s = source(p, 'auth-revoked', { sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' } });
    await produce(mock.bootstrap, 'auth-revoked', Array.from({ length: 20 }, (_, i) => ({ value: JSON.stringify({ id: i }) })));
    try {
      await s.start(new Map(), { type: 'TRIM_HORIZON' });
      await pollUntil(s, (c) => c.records.length >= 20, { timeoutMs: 20_000 });
      const t0 = Date.now();
      p.resetUsers({ alice: 'rotated' });
      let failure: unknown;
      while (failure === undefined && Date.now() - t0 < 20_000) {
        await s.poll({ maxRecords: 100, maxBytes: 1 << 20, waitMs: 200 }).catch((e: unknown) => (failure = e));
      }
      assert.ok(failure instanceof FloeError, `poll failed within 20 s: ${String(failure)}`);
      assert.equal(failure.code, 'AUTH');
      assert.equal(failure.retriable, false);
      assert.match(failure.message, /^kafka: the consumer stopped: the brokers refused SASL authentication \(check source\.sasl\): .*invalid credentials with SASL mechanism SCRAM-SHA-512$/);
      await assert.rejects(s.poll({ maxRecords: 1, maxBytes: 1, waitMs: 0 }), (e: unknown) => e === failure, 'every later poll: the same failure');
    } finally {
      await s.close();
    }
    const failed = p.events.filter((e) => e.type === 'auth-failed').length;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(p.events.filter((e) => e.type === 'auth-failed').length, failed, 'nothing tries again after the failure');
    assert.ok(failed >= 1 && failed <= 8, `${failed} attempts`);
  });

  test('a mechanism the brokers do not enable: error 33 with the enabled list, AUTH naming SASL', { timeout: 30_000 }, async () => {
    const p = await proxy({ sasl: { mechanisms: ['SCRAM-SHA-512'], users: USERS } });
    const e = await startFails(source(p, 'auth-mech', { sasl: { mechanism: 'plain', username: 'alice', password: 'alice-secret' } }));
    assert.equal(e.code, 'AUTH', e.message);
    assert.equal(e.retriable, false);
    assert.match(e.message, /refused SASL authentication .*does not support the requested SASL mechanism/);
    assert.deepEqual(p.events, [{ type: 'unsupported-mechanism', mechanism: 'PLAIN' }]);
  });

  test('a CA that did not sign the brokers\' certificate: a TLS error naming source.ssl, not retriable; TLS to a plaintext listener and back fail too', { timeout: 60_000 }, async () => {
    const p = await proxy({ tls: { key: certs.key, cert: certs.cert }, sasl: ALL });
    const plain = await proxy({ sasl: ALL });
    // In parallel: kafkajs tries each for ~6 s (its connection retries) before giving up.
    const [e, e2, e3] = await Promise.all([
      startFails(source(p, 'auth-ca', { tls: { caFile: certs.otherCaFile, verify: true }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: 'alice-secret' } })),
      startFails(source(plain, 'auth-ca2', { tls: { caFile: certs.caFile, verify: true } })),
      startFails(source(p, 'auth-ca3', {})),
    ]);
    assert.equal(e.code, 'SOURCE_READ_FAILED');
    assert.equal(e.retriable, false);
    assert.match(e.message, /: TLS failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE; check source\.ssl: ca_file, verify\): Connection error: unable to verify the first certificate$/);
    assert.match(e2.message, /: TLS failed \(the brokers closed the connection during the TLS handshake: are they TLS listeners\? check source\.ssl\)/);
    assert.match(e3.message, /: Closed connection$/); // what a TLS listener leaves a plaintext client: a hang-up
    assert.ok(p.events.length > 0 && p.events.every((x) => x.type === 'tls-error'), JSON.stringify(p.events));
    assert.ok(p.events.some((x) => x.type === 'tls-error' && /wrong version number/.test(x.message)));
    assert.ok(plain.events.length > 0 && plain.events.every((x) => x.type === 'refused' && /^protocol: frame size \d+ \(at most 524288\)$/.test(x.reason)), JSON.stringify(plain.events));
  });
});

/** A raw Kafka client: request frames out, answer frames (or the close) in. */
class RawClient {
  private buf = Buffer.alloc(0);
  private closed = false;
  private wake: (() => void) | undefined;
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (b: Buffer) => {
      this.buf = Buffer.concat([this.buf, b]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  static async connect(address: string): Promise<RawClient> {
    const [host, port] = address.split(':');
    const socket = net.connect({ host: host!, port: Number(port) });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** Sends a request (header v1, client id `raw`). */
  send(apiKey: number, version: number, correlationId: number, body: Buffer): void {
    const header = Buffer.alloc(8);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(version, 2);
    header.writeInt32BE(correlationId, 4);
    this.sendFrame(Buffer.concat([header, str('raw'), body]));
  }

  sendFrame(frame: Buffer, size = frame.length): void {
    const len = Buffer.alloc(4);
    len.writeInt32BE(size);
    this.socket.write(Buffer.concat([len, frame]));
  }

  /** The next answer frame (without its size), or 'closed' when the server closed first. */
  async next(timeoutMs = 5000): Promise<Buffer | 'closed'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const n = this.buf.readInt32BE(0);
        const frame = this.buf.subarray(4, 4 + n);
        this.buf = this.buf.subarray(4 + n);
        return frame;
      }
      if (this.closed) return 'closed';
      if (Date.now() > deadline) throw new Error('test: no answer and no close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s, 'latin1')]);
const bytes = (b: Buffer): Buffer => {
  const n = Buffer.alloc(4);
  n.writeInt32BE(b.length);
  return Buffer.concat([n, b]);
};
/** Metadata v1 request for all topics (null array). */
const METADATA_ALL = Buffer.from([0xff, 0xff, 0xff, 0xff]);

describe('the auth proxy is strict (raw requests)', { skip: SKIP_NO_KCAT }, () => {
  let mock: MockKafka;
  let p: KafkaAuthProxy;
  before(async () => {
    mock = await startMockKafka();
    p = await startKafkaAuthProxy({ upstream: mock.brokers, sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-512'], users: USERS } });
  });
  after(async () => {
    await p?.close();
    await mock?.stop();
  });

  test('a request before authentication is dropped: the connection closes without an answer', async () => {
    const c = await RawClient.connect(p.brokers[0]!);
    c.send(3, 1, 1, METADATA_ALL);
    assert.equal(await c.next(), 'closed');
    assert.deepEqual(p.events.at(-1), { type: 'refused', reason: 'Unexpected Kafka request of type METADATA during SASL handshake' });
  });

  test('ApiVersions before authentication lists SASL v0-v1 and only versions the proxy rewrites; an unknown mechanism gets 33 and the enabled list, then the close', async () => {
    const c = await RawClient.connect(p.brokers[1]!);
    // Pipelined: the handshake's answer (made by the proxy) must wait for ApiVersions' (the mock's).
    c.send(18, 2, 7, Buffer.alloc(0));
    c.send(17, 1, 8, str('GSSAPI'));
    const a = await c.next();
    assert.ok(a !== 'closed');
    assert.equal(a.readInt32BE(0), 7);
    assert.equal(a.readInt16BE(4), 0);
    const keys = new Map<number, [number, number]>();
    for (let i = 0, o = 10; i < a.readInt32BE(6); i++, o += 6) keys.set(a.readInt16BE(o), [a.readInt16BE(o + 2), a.readInt16BE(o + 4)]);
    assert.deepEqual(keys.get(17), [0, 1]);
    assert.deepEqual(keys.get(36), [0, 1]);
    assert.ok(keys.get(3)![1] <= 2 && keys.get(10)![1] <= 2 && keys.get(18)![1] <= 2);
    assert.equal(keys.has(60), false);
    const h = await c.next();
    assert.ok(h !== 'closed');
    assert.deepEqual(h, Buffer.concat([Buffer.from([0, 0, 0, 8, 0, 33, 0, 0, 0, 2]), str('PLAIN'), str('SCRAM-SHA-512')]));
    assert.equal(await c.next(), 'closed');
  });

  test('after a v1 handshake only SaslAuthenticate is taken; bad credentials get 58 and a message, then the close', async () => {
    const c = await RawClient.connect(p.brokers[0]!);
    c.send(17, 1, 1, str('PLAIN'));
    assert.notEqual(await c.next(), 'closed');
    c.send(3, 1, 2, METADATA_ALL);
    assert.equal(await c.next(), 'closed');
    assert.match((p.events.at(-1) as { reason: string }).reason, /METADATA during SASL authentication/);
    const d = await RawClient.connect(p.brokers[0]!);
    d.send(17, 1, 1, str('PLAIN'));
    assert.notEqual(await d.next(), 'closed');
    d.send(36, 1, 2, bytes(Buffer.from('\0alice\0nope')));
    const r = await d.next();
    assert.ok(r !== 'closed');
    const message = 'Authentication failed: Invalid username or password';
    assert.deepEqual(r, Buffer.concat([Buffer.from([0, 0, 0, 2, 0, 58]), str(message), Buffer.from([0, 0, 0, 0]), Buffer.alloc(8)]));
    assert.equal(await d.next(), 'closed');
  });

  test('authenticated: Metadata names the proxy\'s listeners, never the mock\'s; versions the proxy cannot rewrite are refused', async () => {
    const c = await RawClient.connect(p.brokers[2]!);
    c.send(17, 1, 1, str('PLAIN'));
    assert.notEqual(await c.next(), 'closed');
    c.send(36, 0, 2, bytes(Buffer.from('alice\0alice\0alice-secret')));
    const ok = await c.next();
    assert.deepEqual(ok, Buffer.from([0, 0, 0, 2, 0, 0, 0xff, 0xff, 0, 0, 0, 0]));
    c.send(3, 1, 3, METADATA_ALL);
    const m = await c.next();
    assert.ok(m !== 'closed');
    const brokers: string[] = [];
    let o = 8;
    for (let i = 0; i < m.readInt32BE(4); i++) {
      o += 4; // node id
      const n = m.readInt16BE(o);
      const host = m.subarray(o + 2, o + 2 + n).toString();
      o += 2 + n;
      brokers.push(`${host}:${m.readInt32BE(o)}`);
      o += 4;
      const rack = m.readInt16BE(o);
      o += 2 + Math.max(0, rack);
    }
    assert.deepEqual(brokers.sort(), [...p.brokers].sort());
    c.send(3, 5, 4, METADATA_ALL);
    assert.equal(await c.next(), 'closed');
    assert.deepEqual(p.events.at(-1), { type: 'refused', reason: 'METADATA v5 is not understood by the proxy (at most v2)' });
  });

  test('a frame over 512 KiB before authentication closes the connection', async () => {
    const c = await RawClient.connect(p.brokers[0]!);
    c.sendFrame(Buffer.alloc(16), 600 * 1024);
    assert.equal(await c.next(), 'closed');
    assert.match((p.events.at(-1) as { reason: string }).reason, /frame size 614400 \(at most 524288\)/);
  });
});

test('SCRAM-SHA-256 server: RFC 7677\'s example exchange, and a wrong proof, nonce or channel binding refused', () => {
  const users = new SaslUsers({ user: 'pencil' }, { salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
  const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  const first = (x = users.exchange('SCRAM-SHA-256')) => {
    const r = x.step(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    return { x, r };
  };
  const { x, r } = first();
  assert.equal(r.response.toString(), `r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`);
  assert.equal(r.done, false);
  const final = x.step(Buffer.from(`c=biws,r=${nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`));
  assert.deepEqual({ response: final.response.toString(), done: final.done }, { response: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=', done: true });
  assert.equal(x.user, 'user');
  const refused: [string, RegExp][] = [
    [`c=biws,r=${nonce},p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, /invalid credentials with SASL mechanism SCRAM-SHA-256/],
    // The same bytes as the right proof, spelt with non-zero pad bits (Node's decoder would take it).
    [`c=biws,r=${nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVR=`, /not canonical base64/],
    // librdkafka 2.0.2 sends the client nonce twice; Kafka's old endsWith check let it through, RFC 5802 does not.
    [`c=biws,r=rOprNGfwEbeRWgbNEkqO${nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, /nonce mismatch/],
    [`c=eSws,r=${nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, /channel binding/],
    [`r=${nonce},c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=`, /expected c=,r=/],
  ];
  for (const [msg, reason] of refused) assert.throws(() => first().x.step(Buffer.from(msg)), (e: unknown) => e instanceof SaslFailure && reason.test(e.message), msg);
  for (const bad of ['p=tls-unique,,n=user,r=abc', 'n,,m=ext,n=user,r=abc', 'n,,n=us=er,r=abc', 'n,,n=user,r=a,b', 'n,a=other,n=user,r=abc', 'x,,n=user,r=abc']) {
    assert.throws(() => users.exchange('SCRAM-SHA-256').step(Buffer.from(bad)), SaslFailure, bad);
  }
  assert.throws(() => users.exchange('SCRAM-SHA-256').step(Buffer.from('n,,n=nobody,r=abc')), /invalid credentials/);
});
