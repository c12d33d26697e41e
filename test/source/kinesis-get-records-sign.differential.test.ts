/**
 * floe's own SigV4 of the GetRecords request (`get-records-sign.ts`) against the SDK's
 * `SignatureV4`: for many inputs (session token or not, iterators of every length, by name or by
 * ARN, dates across midnight, month and year ends, header values SigV4 trims and collapses, a
 * credential refresh between calls) the headers are the SDK's, byte for byte and in order; a
 * wrong key gives another signature; and where floe's signer could not be exact the SDK's signs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { getRecordsBody, resolveGetRecordsTemplate, sdkSignGetRecords, signGetRecords, type GetRecordsTemplate } from '../../src/source/kinesis/get-records-http.js';
import { AmzDates, leanGetRecordsSigner, leanSignerFor, type GetRecordsSign, type RequestSigner, type SigningCredentials } from '../../src/source/kinesis/get-records-sign.js';

const ARN = 'arn:aws:kinesis:eu-west-1:123456789012:stream/lean';
const WITH_TOKEN = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjE//session+token==' };
const WITHOUT_TOKEN = { accessKeyId: 'AKIDNOTOKEN', secretAccessKey: 'no-token-secret' };

/** Nothing listens there: templates and signatures never send. */
const DEAD = 'http://127.0.0.1:9';

interface ClientConfigView {
  signer: () => Promise<RequestSigner>;
  credentials: unknown;
}

/** The SDK's signer, fresh from the client's config (no key kept by floe), signing what floe signs. */
async function sdkHeaders(client: KinesisClient, t: GetRecordsTemplate, body: Buffer, date: Date): Promise<Record<string, string>> {
  const signer = await (client.config as unknown as ClientConfigView).signer();
  const signed = await signer.sign(
    { method: 'POST', protocol: t.protocol, hostname: t.hostname, ...(t.port !== undefined ? { port: t.port } : {}), path: t.path, query: {}, headers: { ...t.headers, 'content-length': String(body.byteLength) }, body },
    { signingDate: date, ...(t.signingRegion !== undefined ? { signingRegion: t.signingRegion } : {}), ...(t.signingService !== undefined ? { signingService: t.signingService } : {}) },
  );
  return signed.headers;
}

/** Headers as the wire writes them: names, values and order. */
const bytes = (h: Record<string, string>): string => JSON.stringify(Object.entries(h));

/** A deterministic pseudo-random sequence (the inputs are the same at every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ITERATOR_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_"\\ é✓\u0001';

function iterator(rand: () => number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ITERATOR_CHARS[Math.floor(rand() * ITERATOR_CHARS.length)];
  return s;
}

/** Dates at the edges the date formatting must get right, in an order that goes back and forth. */
const EDGE_DATES = [
  Date.UTC(2026, 11, 7, 23, 59, 59, 999),
  Date.UTC(2026, 11, 8, 0, 0, 0, 0),
  Date.UTC(2026, 11, 7, 23, 59, 59, 0),
  Date.UTC(2026, 11, 8, 0, 0, 0, 1),
  Date.UTC(2026, 11, 31, 23, 59, 59, 999), // year end
  Date.UTC(2027, 0, 1, 0, 0, 0, 0),
  Date.UTC(2026, 10, 30, 23, 59, 59, 500), // month end (30 days)
  Date.UTC(2026, 11, 1, 0, 0, 0, 500),
  Date.UTC(2024, 1, 28, 23, 59, 59, 999), // leap day
  Date.UTC(2024, 1, 29, 12, 0, 0, 0),
  Date.UTC(2024, 2, 1, 0, 0, 0, 0),
  Date.UTC(2025, 1, 28, 23, 59, 59, 999),
  Date.UTC(2025, 2, 1, 0, 0, 1, 0),
  0,
  -1, // 1969-12-31T23:59:59.999Z
  -86_400_000 * 365 - 1,
  Date.UTC(2026, 11, 7, 9, 9, 9, 9),
  Date.UTC(2026, 11, 7, 10, 10, 10, 10),
  Date.UTC(9999, 11, 31, 23, 59, 59, 999),
  Date.UTC(10000, 0, 1, 0, 0, 0, 0), // +010000: the SDK's own formula
  Date.UTC(2026, 11, 7, 12, 0, 0, 0),
];

const CASES = [
  { name: 'session token, by name', credentials: WITH_TOKEN, stream: { StreamName: 'lean' }, endpoint: DEAD },
  { name: 'no session token, by name', credentials: WITHOUT_TOKEN, stream: { StreamName: 'lean' }, endpoint: DEAD },
  { name: 'session token, by ARN', credentials: WITH_TOKEN, stream: { StreamARN: ARN }, endpoint: DEAD },
  { name: 'no session token, by ARN, AWS endpoint', credentials: WITHOUT_TOKEN, stream: { StreamARN: ARN }, endpoint: undefined },
  { name: 'session token, by name, AWS endpoint', credentials: WITH_TOKEN, stream: { StreamName: 'lean' }, endpoint: undefined },
] as const;

for (const c of CASES) {
  test(`floe's signature is the SDK's, byte for byte (${c.name})`, async () => {
    const client = kinesisClientFromEnv({ ...(c.endpoint !== undefined ? { endpoint: c.endpoint } : {}), region: 'eu-west-1', credentials: c.credentials, maxAttempts: 1, env: {} });
    try {
      const t = await resolveGetRecordsTemplate(client, c.stream);
      assert.ok(t, 'a template');
      assert.ok(t.lean, 'floe signs (the lean signer was chosen)');
      const rand = prng(c.name.length * 7919);
      const inputs: { ShardIterator: string; Limit?: number }[] = [
        { ShardIterator: '' },
        { ShardIterator: 'a', Limit: 1 },
        { ShardIterator: iterator(rand, 56), Limit: 10_000 },
        { ShardIterator: iterator(rand, 300) },
        { ShardIterator: iterator(rand, 4096), Limit: 977 },
      ];
      const dates = [...EDGE_DATES];
      for (let i = 0; i < 40; i++) dates.push(Math.floor(rand() * Date.UTC(2100, 0, 1)));
      let n = 0;
      for (const ms of dates) {
        for (const input of inputs) {
          const date = new Date(ms);
          const body = getRecordsBody(t, { ...input, ...c.stream });
          const ours = await signGetRecords(t, body, date);
          const sdk = await sdkHeaders(client, t, body, date);
          assert.equal(bytes(ours), bytes(sdk), `${new Date(ms).toISOString()} iterator of ${input.ShardIterator.length}`);
          n++;
        }
      }
      assert.equal(n, dates.length * inputs.length);
      // And the template's own SDK signer (the fallback, its key kept for the day) agrees.
      const body = getRecordsBody(t, { ShardIterator: 'it', ...c.stream });
      const at = new Date(EDGE_DATES[0]!);
      assert.equal(bytes(await signGetRecords(t, body, at)), bytes(await sdkSignGetRecords(t, body, at)));
      const auth = (await signGetRecords(t, body, at)).authorization;
      assert.match(String(auth), new RegExp(`^AWS4-HMAC-SHA256 Credential=${c.credentials.accessKeyId}/20261207/eu-west-1/kinesis/aws4_request, SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;${'sessionToken' in c.credentials ? 'x-amz-security-token;' : ''}x-amz-target;x-amz-user-agent, Signature=[0-9a-f]{64}$`));
    } finally {
      client.destroy();
    }
  });
}

test('header values with spaces, tabs and line breaks are trimmed and collapsed as the SDK does; unsignable headers stay unsigned', async () => {
  const token = '  IQo  token\twith \r\n spaces  ';
  const client = kinesisClientFromEnv({ endpoint: DEAD, region: 'us-east-1', credentials: { ...WITH_TOKEN, sessionToken: token }, maxAttempts: 1, env: {} });
  // Headers a client's own middleware adds: they are in the template and signed (or not) like any other.
  client.middlewareStack.add(
    (next) => (args) => {
      const headers = (args.request as { headers: Record<string, string> }).headers;
      headers['X-Floe-Odd'] = '  a   b \t c  ';
      headers['x-floe-lines'] = 'one\r\ntwo\nthree';
      headers['x-floe-empty'] = '';
      headers['x-amzn-trace-id'] = 'Root=1-abc'; // never signed by SigV4
      headers['proxy-floe'] = 'p'; // nor proxy-* ones
      return next(args);
    },
    { step: 'build', name: 'floeTestOddHeaders' },
  );
  try {
    const t = await resolveGetRecordsTemplate(client, { StreamName: 'lean' });
    assert.ok(t?.lean, 'floe signs');
    assert.equal(t.headers['X-Floe-Odd'], '  a   b \t c  ');
    for (const ms of EDGE_DATES.slice(0, 6)) {
      const body = getRecordsBody(t, { ShardIterator: 'it  with  spaces', Limit: 5 });
      const date = new Date(ms);
      const ours = await signGetRecords(t, body, date);
      assert.equal(bytes(ours), bytes(await sdkHeaders(client, t, body, date)));
      assert.equal(ours['x-amz-security-token'], token, 'the token is sent as it is');
      assert.match(String(ours.authorization), /SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target;x-amz-user-agent;x-floe-empty;x-floe-lines;x-floe-odd, /);
    }
  } finally {
    client.destroy();
  }
});

/**
 * A client whose credentials the test switches with `use` (asked at every signature, as the SDK's
 * chain does for credentials about to expire), starting with {@link WITH_TOKEN}, and its template,
 * which floe signs.
 */
async function switchingClient(): Promise<{ client: KinesisClient; t: GetRecordsTemplate; use: (c: SigningCredentials) => void }> {
  let creds: SigningCredentials = { ...WITH_TOKEN };
  const client = kinesisClientFromEnv({ endpoint: DEAD, region: 'us-east-1', maxAttempts: 1, env: {} });
  (client.config as unknown as ClientConfigView).credentials = async () => ({ ...creds, expiration: new Date(Date.now() + 60_000) });
  const t = await resolveGetRecordsTemplate(client, { StreamName: 'lean' });
  assert.ok(t?.lean, 'floe signs');
  return { client, t, use: (c) => (creds = c) };
}

test('credentials refreshed between calls (new key id, then a new secret only, then no token) are signed as the SDK signs them', async () => {
  const { client, t, use } = await switchingClient();
  try {
    const body = getRecordsBody(t, { ShardIterator: 'it', Limit: 100 });
    const steps: SigningCredentials[] = [
      { ...WITH_TOKEN },
      { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret', sessionToken: 'other' },
      { accessKeyId: 'AKIDOTHER', secretAccessKey: 'rotated-secret', sessionToken: 'other' },
      { accessKeyId: 'AKIDOTHER', secretAccessKey: 'rotated-secret', sessionToken: 'rotated-token' },
      { accessKeyId: 'AKIDOTHER', secretAccessKey: 'rotated-secret' },
      { ...WITH_TOKEN },
    ];
    const signatures = new Set<string>();
    for (const step of steps) {
      use(step);
      for (const ms of [Date.UTC(2026, 11, 7, 23, 59, 59), Date.UTC(2026, 11, 8, 0, 0, 1)]) {
        const date = new Date(ms);
        const ours = await signGetRecords(t, body, date);
        assert.equal(bytes(ours), bytes(await sdkHeaders(client, t, body, date)), `${JSON.stringify(step)} at ${date.toISOString()}`);
        assert.equal(ours['x-amz-security-token'], step.sessionToken);
        signatures.add(String(ours.authorization));
      }
    }
    // The first and last steps are the same credentials: the same two signatures.
    assert.equal(signatures.size, (steps.length - 1) * 2);
  } finally {
    client.destroy();
  }
});

test('calls signed at once (the shards of a source) across midnight and a refresh are each signed as the SDK signs them alone', async () => {
  const { client, t, use } = await switchingClient();
  try {
    const dates = [Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1, 0, 0, 0), Date.UTC(2026, 11, 31, 23, 59, 58), Date.UTC(2027, 0, 1, 0, 0, 1)];
    const bodies = dates.map((_, i) => getRecordsBody(t, { ShardIterator: `shard-${i}-${'x'.repeat(i * 50)}`, Limit: 1000 + i }));
    for (const step of [{ ...WITH_TOKEN }, { accessKeyId: 'AKIDOTHER', secretAccessKey: 'other-secret' }]) {
      use(step);
      const ours: Record<string, string>[] = await Promise.all(dates.map((ms, i): Promise<Record<string, string>> => signGetRecords(t, bodies[i]!, new Date(ms))));
      for (let i = 0; i < dates.length; i++) {
        assert.equal(bytes(ours[i]!), bytes(await sdkHeaders(client, t, bodies[i]!, new Date(dates[i]!))), `call ${i} (${step.accessKeyId})`);
      }
    }
  } finally {
    client.destroy();
  }
});

test('a wrong signing key or wrong credentials give another signature (the comparison can fail)', async () => {
  const client = kinesisClientFromEnv({ endpoint: DEAD, region: 'us-east-1', credentials: WITH_TOKEN, maxAttempts: 1, env: {} });
  try {
    const t = await resolveGetRecordsTemplate(client, { StreamName: 'lean' });
    assert.ok(t, 'a template');
    const sdkSigner = await (client.config as unknown as ClientConfigView).signer();
    const derive = (sdkSigner as unknown as { getSigningKey: (c: SigningCredentials, r: string, d: string, s?: string) => Promise<Uint8Array> }).getSigningKey.bind(sdkSigner);
    const body = getRecordsBody(t, { ShardIterator: 'it', Limit: 3 });
    const date = new Date(Date.UTC(2026, 11, 7, 12, 0, 0));
    const sdk = await sdkHeaders(client, t, body, date);
    const right = leanSignerFor(sdkSigner, t, { credentials: async () => WITH_TOKEN, signingKey: derive });
    assert.ok(right, 'a lean signer');
    assert.equal(bytes(await right(body, date)), bytes(sdk), 'the right key: equal');
    const wrongKeys: [string, (c: SigningCredentials, r: string, d: string, s?: string) => Promise<Uint8Array>][] = [
      ['another secret', (c, r, d, s) => derive({ ...c, secretAccessKey: `${c.secretAccessKey}x` }, r, d, s)],
      ['the day before', (c, r, _d, s) => derive(c, r, '20261206', s)],
      ['another region', (c, _r, d, s) => derive(c, 'us-west-2', d, s)],
      ['one bit flipped', async (c, r, d, s) => {
        const k = Buffer.from(await derive(c, r, d, s));
        k[0]! ^= 1;
        return k;
      }],
      ['the secret itself', async (c) => createHmac('sha256', c.secretAccessKey).digest()],
    ];
    for (const [what, signingKey] of wrongKeys) {
      const wrong: GetRecordsSign = leanSignerFor(sdkSigner, t, { credentials: async () => WITH_TOKEN, signingKey })!;
      const ours: Record<string, string> = await wrong(body, date);
      assert.notEqual(ours.authorization, sdk.authorization, what);
      const { authorization: _a, ...rest } = ours;
      const { authorization: _b, ...sdkRest } = sdk;
      assert.deepEqual(rest, sdkRest, `${what}: only the signature differs`);
      assert.equal(ours.authorization!.slice(0, -64), sdk.authorization!.slice(0, -64), `${what}: the signature's 64 hex digits only`);
    }
    // Other credentials than the SDK's (same key derivation): another header set and signature.
    const other = leanSignerFor(sdkSigner, t, { credentials: async () => WITHOUT_TOKEN, signingKey: derive })!;
    assert.notEqual(bytes(await other(body, date)), bytes(sdk));
  } finally {
    client.destroy();
  }
});

test('where floe could not sign exactly, the SDK signs: no getSigningKey, a signer that signs otherwise, a `date` header, a non-string value', async () => {
  const client = kinesisClientFromEnv({ endpoint: DEAD, region: 'us-east-1', credentials: WITH_TOKEN, maxAttempts: 1, env: {} });
  try {
    const t = await resolveGetRecordsTemplate(client, { StreamName: 'lean' });
    assert.ok(t?.lean, 'floe signs');
    const sdkSigner = await (client.config as unknown as ClientConfigView).signer();
    assert.ok(await leanGetRecordsSigner(sdkSigner, sdkSigner, t), 'the SDK signer as it is: floe signs');
    // No key derivation to reuse.
    const keyless = Object.create(sdkSigner) as Record<string, unknown>;
    keyless.getSigningKey = undefined;
    assert.equal(await leanGetRecordsSigner(keyless as unknown as RequestSigner, keyless as unknown as RequestSigner, t), undefined);
    // A signer that adds a header of its own (a custom `signerConstructor`): the probe sees it.
    const adding = Object.create(sdkSigner) as RequestSigner;
    // (`this`: the probe's view of the signer, with its made-up credentials.)
    adding.sign = function (this: RequestSigner, request, options) {
      return sdkSigner.sign.call(this, { ...request, headers: { ...request.headers, 'x-extra': '1' } }, options);
    };
    assert.equal(await leanGetRecordsSigner(adding, adding, t), undefined);
    // A signer hashing otherwise (another payload hash): the probe sees it too.
    const unsignedPayload = Object.create(sdkSigner) as RequestSigner;
    unsignedPayload.sign = function (this: RequestSigner, request, options) {
      return sdkSigner.sign.call(this, { ...request, headers: { ...request.headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } }, options);
    };
    assert.equal(await leanGetRecordsSigner(unsignedPayload, unsignedPayload, t), undefined);
    // Header shapes not signed here: `date` (the SDK drops it), a value that is not a string, a name twice.
    for (const headers of [
      { ...t.headers, date: 'Mon, 07 Dec 2026 12:00:00 GMT' },
      { ...t.headers, 'x-number': 5 as unknown as string },
      { ...t.headers, Host: t.headers.host! },
      { ...t.headers, 'bad name': 'x' },
    ]) {
      assert.equal(await leanGetRecordsSigner(sdkSigner, sdkSigner, { ...t, headers }), undefined, JSON.stringify(Object.keys(headers)));
    }
    // Through the template: a client adding a `date` header keeps the SDK's signer, signing as before.
    const dated = kinesisClientFromEnv({ endpoint: DEAD, region: 'us-east-1', credentials: WITH_TOKEN, maxAttempts: 1, env: {} });
    dated.middlewareStack.add(
      (next) => (args) => {
        (args.request as { headers: Record<string, string> }).headers.date = 'Mon, 07 Dec 2026 12:00:00 GMT';
        return next(args);
      },
      { step: 'build', name: 'floeTestDate' },
    );
    try {
      const td = await resolveGetRecordsTemplate(dated, { StreamName: 'lean' });
      assert.ok(td, 'a template');
      assert.equal(td.lean, undefined, 'the SDK signs');
      const body = getRecordsBody(td, { ShardIterator: 'it' });
      const date = new Date(Date.UTC(2026, 11, 7, 12, 0, 0));
      const signed = await signGetRecords(td, body, date);
      assert.equal(bytes(signed), bytes(await sdkHeaders(dated, td, body, date)));
      assert.equal(signed.date, undefined, 'the SDK dropped it');
    } finally {
      dated.destroy();
    }
  } finally {
    client.destroy();
  }
});

test('dates are formatted as the SDK formats them, the day kept across calls and replaced when it changes', () => {
  const sdkFormat = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  const dates = new AmzDates();
  const rand = prng(42);
  const all = [...EDGE_DATES];
  for (let i = 0; i < 2000; i++) all.push(Math.floor((rand() - 0.1) * Date.UTC(2200, 0, 1)));
  // Seconds apart across one midnight, both ways.
  for (let s = -5; s <= 5; s++) all.push(Date.UTC(2026, 11, 31, 24, 0, s));
  for (let s = 5; s >= -5; s--) all.push(Date.UTC(2026, 11, 31, 24, 0, s) + 999);
  for (const ms of all) {
    const d = new Date(ms);
    const long = dates.long(d);
    assert.equal(long, sdkFormat(d), d.toISOString());
    assert.equal(dates.short, long.slice(0, 8));
  }
  assert.throws(() => dates.long(new Date(Number.NaN)), RangeError);
});
