/**
 * floe's Amazon MSK IAM token (`mskIamToken`, signed with `@smithy/signature-v4`) checked by an
 * independent verifier (`kafka-msk-iam-verifier.ts`: SigV4 by hand with node:crypto, itself
 * checked against the SigV4 documentation's presigned-URL example), and every refusal the
 * verifier makes, each with a token that differs from a good one in that one respect. Then the
 * OAUTHBEARER message grammar of the test broker (`kafka-sasl-server.ts`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mskIamToken } from '../../src/source/kafka/kafka-client.js';
import { MskIamTokenError, mskIamOAuthBearer, signMskIamTokenForTest, sigv4PresignedSignature, verifyMskIamToken, type MskIamVerifierOptions } from './kafka-msk-iam-verifier.js';
import { SaslFailure, SaslUsers } from './kafka-sasl-server.js';

const AKID = 'ASIAFLOETESTKEY00001';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYfloeTEST/Key';
const SESSION = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+test/session+token==';
const LONG_AKID = 'AKIAFLOETESTKEY00002';
const LONG_SECRET = 'long-term-secret';
const SIGNED_AT = new Date('2026-03-09T10:11:12Z');
const REGION = 'eu-west-1';

/** The verifier as the broker runs it, its clock `ms` after the signing time. */
function verifier(ms = 5_000): MskIamVerifierOptions {
  return {
    region: REGION,
    keys: { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION, principal: 'arn:aws:sts::123456789012:assumed-role/floe/test' }, [LONG_AKID]: { secretAccessKey: LONG_SECRET } },
    now: () => new Date(SIGNED_AT.getTime() + ms),
  };
}

const floeToken = async (over: { region?: string; secret?: string; sessionToken?: string | null; akid?: string; at?: Date } = {}): Promise<string> =>
  (
    await mskIamToken(
      over.region ?? REGION,
      { accessKeyId: over.akid ?? AKID, secretAccessKey: over.secret ?? SECRET, ...(over.sessionToken === null ? {} : { sessionToken: over.sessionToken ?? SESSION }) },
      { now: over.at ?? SIGNED_AT },
    )
  ).value;

/** The token's URL with `edit` applied to its text, re-encoded. */
const editUrl = (token: string, edit: (url: string) => string): string => Buffer.from(edit(Buffer.from(token, 'base64url').toString('utf8')), 'utf8').toString('base64url');

function refused(token: string, reason: RegExp, options = verifier()): void {
  assert.throws(
    () => verifyMskIamToken(token, options),
    (e: unknown) => e instanceof MskIamTokenError && reason.test(e.reason),
    `expected a refusal matching ${reason}`,
  );
}

test('the verifier\'s SigV4 reproduces the SigV4 documentation\'s presigned URL example (S3 GET, UNSIGNED-PAYLOAD)', () => {
  const signature = sigv4PresignedSignature({
    host: 'examplebucket.s3.amazonaws.com',
    path: '/test.txt',
    params: [
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
      ['X-Amz-Credential', 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request'],
      ['X-Amz-Date', '20130524T000000Z'],
      ['X-Amz-Expires', '86400'],
      ['X-Amz-SignedHeaders', 'host'],
    ],
    payloadHash: 'UNSIGNED-PAYLOAD',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    amzDate: '20130524T000000Z',
    region: 'us-east-1',
    service: 's3',
  });
  assert.equal(signature, 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
});

test('floe\'s token is accepted: the signature the spec gives (empty-body SHA-256, as the JS and Go signers), with and without a session token', async () => {
  const token = await floeToken();
  const id = verifyMskIamToken(token, verifier());
  assert.deepEqual(id, {
    principal: 'arn:aws:sts::123456789012:assumed-role/floe/test',
    accessKeyId: AKID,
    payload: 'empty-sha256',
    expiresAtMs: SIGNED_AT.getTime() + 900_000,
    userAgent: id.userAgent,
    sessionToken: SESSION,
  });
  assert.match(id.userAgent ?? '', /^[\w.-]+\/\d+\.\d+\.\d+$/, 'a User-Agent parameter, added after signing as the signers do');
  // The same signature as this file's signer makes for the same request: byte for byte the spec's.
  const url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
  const mine = new URL(Buffer.from(signMskIamTokenForTest({ region: REGION, accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: SESSION, date: SIGNED_AT }), 'base64url').toString('utf8'));
  assert.equal(url.searchParams.get('X-Amz-Signature'), mine.searchParams.get('X-Amz-Signature'));
  // Long-term keys: no X-Amz-Security-Token.
  const long = await floeToken({ akid: LONG_AKID, secret: LONG_SECRET, sessionToken: null });
  assert.equal(new URL(Buffer.from(long, 'base64url').toString('utf8')).searchParams.has('X-Amz-Security-Token'), false);
  assert.equal(verifyMskIamToken(long, verifier()).principal, LONG_AKID);
  // The boundaries of the time window: just inside both ends.
  assert.equal(verifyMskIamToken(token, verifier(900_000 + 59_000)).accessKeyId, AKID);
  assert.equal(verifyMskIamToken(token, verifier(-59_000)).accessKeyId, AKID);
  // The User-Agent is not signed: another one is still accepted.
  assert.equal(verifyMskIamToken(editUrl(token, (u) => u.replace(/User-Agent=[^&]*/, 'User-Agent=aws-msk-iam-sasl-signer-js%2F1.0.0')), verifier()).accessKeyId, AKID);
});

test('a Python-signer token (botocore: UNSIGNED-PAYLOAD) is accepted too, as MSK does', () => {
  const token = signMskIamTokenForTest({ region: REGION, accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: SESSION, date: SIGNED_AT, payload: 'UNSIGNED-PAYLOAD', userAgent: 'aws-msk-iam-sasl-signer-python/1.0.1' });
  const id = verifyMskIamToken(token, verifier());
  assert.equal(id.payload, 'UNSIGNED-PAYLOAD');
  assert.equal(id.userAgent, 'aws-msk-iam-sasl-signer-python/1.0.1');
});

test('refused: wrong secret, wrong region (host, and scope), wrong action, wrong service', async () => {
  refused(await floeToken({ secret: `${SECRET}x` }), /^the signature does not match/);
  refused(await floeToken({ region: 'us-east-1' }), /^host "kafka\.us-east-1\.amazonaws\.com" is not kafka\.eu-west-1\.amazonaws\.com$/);
  const base = { region: REGION, accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: SESSION, date: SIGNED_AT } as const;
  // Validly signed, each differing in one field only: the check of that field is what refuses it.
  refused(signMskIamTokenForTest({ ...base, scopeRegion: 'us-east-1' }), /^credential region us-east-1 is not eu-west-1$/);
  refused(signMskIamTokenForTest({ ...base, params: { Action: 'kafka-cluster:DescribeCluster' } }), /^Action "kafka-cluster:DescribeCluster" is not kafka-cluster:Connect$/);
  refused(signMskIamTokenForTest({ ...base, params: { Action: null } }), /^missing Action$/);
  refused(signMskIamTokenForTest({ ...base, service: 'kafka' }), /^credential service kafka is not kafka-cluster$/);
  refused(signMskIamTokenForTest({ ...base, host: 'kafka.eu-west-1.amazonaws.com.evil.example' }), /^host "kafka\.eu-west-1\.amazonaws\.com\.evil\.example" is not/);
  refused(signMskIamTokenForTest({ ...base, params: { 'X-Amz-SignedHeaders': 'host;x-amz-date' } }), /^X-Amz-SignedHeaders "host;x-amz-date" is not host$/);
  // The control: the same signer, nothing changed, is accepted.
  assert.equal(verifyMskIamToken(signMskIamTokenForTest(base), verifier()).accessKeyId, AKID);
});

test('refused: expired, signed in the future, a lifetime over 900 s', async () => {
  // Signed 16 minutes before the broker's clock (900 s + 60 s skew + 1 s).
  refused(await floeToken(), /^expired at 2026-03-09T10:26:12\.000Z \(X-Amz-Date 20260309T101112Z, 900 s\)$/, verifier(961_000));
  refused(await floeToken({ at: new Date(SIGNED_AT.getTime() + 120_000) }), /^signed in the future \(X-Amz-Date 20260309T101312Z\)$/);
  const base = { region: REGION, accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: SESSION, date: SIGNED_AT } as const;
  refused(signMskIamTokenForTest({ ...base, expires: 3600 }), /^X-Amz-Expires 3600 is over 900 s$/);
  refused(signMskIamTokenForTest({ ...base, params: { 'X-Amz-Date': '20260230T101112Z' } }), /^X-Amz-Date "20260230T101112Z" is not yyyymmddThhmmssZ$/);
});

test('refused: a tampered signature, a parameter changed after signing, an unknown key, session tokens that do not fit the key', async () => {
  const token = await floeToken();
  refused(editUrl(token, (u) => u.replace(/(X-Amz-Signature=[0-9a-f]{63})([0-9a-f])/, (_, a: string, c: string) => a + (c === '0' ? '1' : '0'))), /^the signature does not match/);
  refused(editUrl(token, (u) => u.replace('X-Amz-Expires=900', 'X-Amz-Expires=600')), /^the signature does not match/);
  refused(editUrl(token, (u) => `${u}&Extra=1`), /^the signature does not match/);
  refused(await floeToken({ akid: 'ASIAUNKNOWN000000000' }), /^unknown access key id ASIAUNKNOWN000000000$/);
  refused(await floeToken({ sessionToken: null }), /^missing X-Amz-Security-Token \(temporary credentials\)$/);
  refused(await floeToken({ sessionToken: 'another-session' }), /^X-Amz-Security-Token does not match the key$/);
  refused(await floeToken({ akid: LONG_AKID, secret: LONG_SECRET, sessionToken: 'x' }), /^X-Amz-Security-Token given for a long-term key$/);
});

test('refused: encodings MSK would not decode the same way', async () => {
  const token = await floeToken();
  refused(`${token}==`, /^not base64url without padding$/);
  refused(Buffer.from(Buffer.from(token, 'base64url').toString('utf8') + '??>').toString('base64'), /^not base64url without padding$/);
  refused(editUrl(token, (u) => `${u}&Action=kafka-cluster%3AConnect`), /^duplicate parameter Action$/);
  refused(editUrl(token, (u) => u.replace('https://', 'http://')), /^not an https URL with a query$/);
  refused(editUrl(token, (u) => u.replace('.com/?', '.com/x?')), /^path "\/x" is not \/$/);
  refused(editUrl(token, (u) => u.replace('X-Amz-Date=', 'X-Amz-Date=%ZZ')), /^malformed percent-encoding in X-Amz-Date$/);
});

test('the broker\'s OAUTHBEARER message: RFC 7628 as Kafka parses it; the token goes to the MSK IAM verifier; refusals are SaslFailures', async () => {
  const token = await floeToken();
  const users = new SaslUsers({}, { oauthBearer: mskIamOAuthBearer(verifier()) });
  const step = (msg: string) => users.exchange('OAUTHBEARER').step(Buffer.from(msg, 'utf8'));
  assert.deepEqual(step(`n,,\x01auth=Bearer ${token}\x01\x01`), { response: Buffer.alloc(0), done: true });
  const x = users.exchange('OAUTHBEARER');
  x.step(Buffer.from(`n,a=arn:aws:sts::123456789012:assumed-role/floe/test,\x01auth=Bearer ${token}\x01ext=v a l\x01\x01`));
  assert.equal(x.user, 'arn:aws:sts::123456789012:assumed-role/floe/test');
  assert.equal(x.expiresAtMs, SIGNED_AT.getTime() + 900_000);
  assert.throws(() => x.step(Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`)), /OAUTHBEARER takes one message/);
  const bad: [string, RegExp][] = [
    [`n,,\x01auth=Bearer ${token}\x01`, /^Invalid OAUTHBEARER client first message$/],
    [`y,,\x01auth=Bearer ${token}\x01\x01`, /^Invalid OAUTHBEARER client first message$/],
    [`n,,auth=Bearer ${token}\x01\x01`, /^Invalid OAUTHBEARER client first message$/],
    [`n,,\x01auth=Bearer ${token}\x01\x01\x01`, /^Invalid OAUTHBEARER client first message$/],
    [`n,,\x01ext=1\x01\x01`, /^Invalid OAUTHBEARER client first message: 'auth' not specified$/],
    [`n,,\x01auth=Bearer ${token}\x01auth=Bearer ${token}\x01\x01`, /duplicate key "auth"/],
    [`n,,\x01auth=Bearer${token}\x01\x01`, /invalid 'auth' format/],
    [`n,,\x01auth=Bearer ${token}==\x01\x01`, /invalid 'auth' format/],
    [`n,,\x01auth=Basic ${token}\x01\x01`, /^Invalid scheme in OAUTHBEARER client first message: Basic$/],
    [`n,a=someone-else,\x01auth=Bearer ${token}\x01\x01`, /authorization id \(someone-else\) that is different from the token's principal name/],
    [`n,,\x01auth=Bearer ${await floeToken({ secret: 'wrong' })}\x01\x01`, /^\[[0-9a-f-]{36}\]: Access denied \(the signature does not match/],
  ];
  for (const [msg, reason] of bad) assert.throws(() => step(msg), (e: unknown) => e instanceof SaslFailure && reason.test(e.message), JSON.stringify(msg));
  assert.throws(() => users.exchange('OAUTHBEARER').step(Buffer.from([0x6e, 0x2c, 0x2c, 0x01, 0xff, 0x01, 0x01])), /not UTF-8/);
  assert.throws(() => new SaslUsers({}).exchange('OAUTHBEARER'), /needs a token verifier/);
});
