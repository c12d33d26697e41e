/**
 * REST catalog authentication: a bearer token, OAuth2 client credentials against a token endpoint
 * on 127.0.0.1 (token reuse, refresh before expiry, refresh after 401/419), and AWS SigV4 checked
 * two independent ways: against a signature computed in this test from the SigV4 specification,
 * and by s3rver, a real server that verifies SigV4 signatures.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { RestCatalog } from '../../src/catalog/rest/rest-catalog.js';
import { BearerAuth, OAuth2ClientCredentialsAuth, restAuthFrom, type RestRequest } from '../../src/catalog/rest/rest-auth.js';
import { SigV4Auth } from '../../src/catalog/rest/rest-sigv4.js';
import { startRestCatalogServer, type RestCatalogServer } from '../../src/catalog/rest/rest-server.js';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { awsCredentialProvider } from '../../src/aws/credentials.js';
import { FloeError, ValidationError } from '../../src/errors.js';
import { startFaultProxy, type FaultProxy } from '../io/fault-proxy.js';

let dir: string;
let backing: SqlCatalog;
let server: RestCatalogServer;
let proxy: FaultProxy;
let tokenServer: Server;
let tokenUrl: string;
/** Token requests received (form fields and the Authorization header). */
const tokenRequests: { form: URLSearchParams; authorization: string | undefined }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-rest-auth-'));
  backing = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: join(dir, 'warehouse') });
  server = await startRestCatalogServer({ catalog: backing });
  proxy = await startFaultProxy(server.url);
  tokenServer = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      tokenRequests.push({ form, authorization: req.headers.authorization });
      const basic = req.headers.authorization === `Basic ${Buffer.from('client-1:s3cret').toString('base64')}`;
      const inBody = form.get('client_id') === 'client-1' && form.get('client_secret') === 's3cret';
      res.setHeader('content-type', 'application/json');
      if (form.get('grant_type') !== 'client_credentials' || !(basic || inBody)) {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: 'invalid_client', error_description: 'unknown client or wrong secret' }));
        return;
      }
      res.end(JSON.stringify({ access_token: `tok-${tokenRequests.length}`, token_type: 'bearer', expires_in: 3600, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token' }));
    });
  });
  await new Promise<void>((resolve) => tokenServer.listen(0, '127.0.0.1', resolve));
  tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/oauth/token`;
});

afterEach(() => proxy.setRule(undefined));

after(async () => {
  await new Promise<void>((resolve) => tokenServer.close(() => resolve()));
  await proxy.close();
  await server.close();
  await backing.close();
  await rm(dir, { recursive: true, force: true });
});

/** Lets through only requests bearing `Bearer <valid()>`; others get `status`. */
function requireToken(valid: () => string, status = 401): void {
  proxy.setRule((r) =>
    r.headers.authorization === `Bearer ${valid()}`
      ? undefined
      : { kind: 'respond', status, contentType: 'application/json', body: JSON.stringify({ error: { message: 'bad token', type: 'NotAuthorizedException', code: status } }) },
  );
}

describe('bearer and OAuth2', () => {
  it('sends a static bearer token, and reports a rejected one as an auth error', async () => {
    requireToken(() => 'static-token');
    const ok = new RestCatalog({ uri: proxy.url, auth: { type: 'bearer', token: 'static-token' } });
    assert.ok(Array.isArray(await ok.listNamespaces()));
    const wrong = new RestCatalog({ uri: proxy.url, auth: new BearerAuth('other') });
    await assert.rejects(wrong.listNamespaces(), (e: unknown) => e instanceof FloeError && e.code === 'AUTH' && /not authorized/.test(e.message));
    assert.throws(() => new BearerAuth(''), ValidationError);
  });

  it('fetches one client-credentials token, reuses it, and refreshes it after a 401 or 419', async () => {
    const auth = new OAuth2ClientCredentialsAuth({ tokenEndpoint: tokenUrl, clientId: 'client-1', clientSecret: 's3cret', scope: 'catalog' });
    const c = new RestCatalog({ uri: proxy.url, auth });
    let valid = '';
    requireToken(() => valid);
    const before = tokenRequests.length;
    valid = `tok-${before + 1}`;
    await Promise.all([c.listNamespaces(), c.listNamespaces(), c.namespaceExists(['x'])]);
    assert.equal(tokenRequests.length - before, 1, 'concurrent requests share one token request');
    const req = tokenRequests.at(-1)!;
    assert.equal(req.form.get('grant_type'), 'client_credentials');
    assert.equal(req.form.get('scope'), 'catalog');
    assert.equal(req.form.get('client_id'), 'client-1');

    // The server revokes the token: the next calls are answered 401, and the client gets one new
    // token for all of them.
    valid = `tok-${before + 2}`;
    await Promise.all([c.listNamespaces(), c.listNamespaces(), c.namespaceExists(['y'])]);
    assert.equal(auth.tokensFetched, 2);
    // Expired credentials answered 419 work the same way.
    valid = `tok-${before + 3}`;
    requireToken(() => valid, 419);
    await c.listNamespaces();
    assert.equal(auth.tokensFetched, 3);
  });

  it('refreshes a token shortly before it expires, without waiting for a 401', async () => {
    let clock = 1_000_000;
    const auth = new OAuth2ClientCredentialsAuth({ tokenEndpoint: tokenUrl, clientId: 'client-1', clientSecret: 's3cret', now: () => clock, refreshMarginMs: 60_000 });
    const headers = async () => {
      const r: RestRequest = { method: 'GET', url: new URL('http://x/v1/config'), headers: {} };
      await auth.apply(r);
      return r.headers.authorization;
    };
    const first = await headers();
    clock += 3_500_000; // 3500 s of 3600: outside the 60 s margin
    assert.equal(await headers(), first);
    clock += 50_000; // 10 s before expiry: inside the margin
    const second = await headers();
    assert.notEqual(second, first);
    assert.equal(auth.tokensFetched, 2);
  });

  it('authenticates with HTTP Basic when asked, and explains a refused client', async () => {
    const basic = new OAuth2ClientCredentialsAuth({ tokenEndpoint: tokenUrl, clientId: 'client-1', clientSecret: 's3cret', clientAuthentication: 'basic' });
    await basic.accessToken();
    const req = tokenRequests.at(-1)!;
    assert.equal(req.form.get('client_secret'), null, 'the secret is not also in the body');
    assert.match(req.authorization ?? '', /^Basic /);
    const refused = new OAuth2ClientCredentialsAuth({ tokenEndpoint: tokenUrl, clientId: 'client-1', clientSecret: 'wrong' });
    await assert.rejects(refused.accessToken(), /catalog: rest: oauth2 token request to .* was refused \(HTTP 401\): invalid_client: unknown client or wrong secret/);
  });

  it('defaults the token endpoint to <uri>/v1/oauth/tokens', async () => {
    const auth = restAuthFrom({ type: 'oauth2', clientId: 'a', clientSecret: 'b' }, 'https://catalog.example.com/api/');
    assert.ok(auth instanceof OAuth2ClientCredentialsAuth);
    // floe's own server has no OAuth endpoint: a clear refusal rather than a hang.
    const c = new RestCatalog({ uri: server.url, auth: { type: 'oauth2', clientId: 'a', clientSecret: 'b' } });
    await assert.rejects(c.listNamespaces(), /oauth2 token request to http:\/\/127\.0\.0\.1:\d+\/v1\/oauth\/tokens was refused \(HTTP 406\)/);
  });
});

describe('AWS SigV4', () => {
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token-1' };
  const now = () => new Date(Date.UTC(2025, 2, 14, 9, 26, 53));

  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
  const sha256Hex = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
  /** RFC 3986 encoding as SigV4 wants it (unreserved: A-Z a-z 0-9 - _ . ~). */
  const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

  /** The signature of a signed request, computed from the SigV4 specification (not the SDK). */
  function expectedSignature(req: RestRequest, region: string, service: string, secret: string): string {
    const auth = req.headers.authorization!;
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)![1]!.split(';');
    const amzDate = req.headers['x-amz-date']!;
    const date = amzDate.slice(0, 8);
    // Non-S3 services: the path as sent, each segment URI-encoded once more.
    const canonicalUri = req.url.pathname.split('/').map(uriEncode).join('/');
    const query = [...req.url.searchParams].map(([k, v]) => [uriEncode(k), uriEncode(v)]).sort(([a, av], [b, bv]) => (a! < b! ? -1 : a! > b! ? 1 : av! < bv! ? -1 : 1));
    const headers = { ...req.headers, host: req.url.host };
    const canonicalHeaders = signedHeaders.map((h) => `${h}:${String(headers[h as keyof typeof headers]).trim().replace(/\s+/g, ' ')}\n`).join('');
    const canonicalRequest = [req.method, canonicalUri, query.map(([k, v]) => `${k}=${v}`).join('&'), canonicalHeaders, signedHeaders.join(';'), sha256Hex(req.body ?? '')].join('\n');
    const scope = `${date}/${region}/${service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const kSigning = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    return createHmac('sha256', kSigning).update(stringToSign, 'utf8').digest('hex');
  }

  it('signs REST requests as the SigV4 specification computes them (S3 Tables)', async () => {
    const auth = new SigV4Auth({ signingName: 's3tables', region: 'eu-central-1', credentials: creds, now });
    const prefix = encodeURIComponent('arn:aws:s3tables:eu-central-1:111122223333:bucket/lake');
    const body = '{"requirements":[],"updates":[{"action":"set-properties","updates":{"a":"b c"}}]}';
    const req: RestRequest = {
      method: 'POST',
      url: new URL(`https://s3tables.eu-central-1.amazonaws.com/iceberg/v1/${prefix}/namespaces/sales%1Feu/tables/orders?purge=false&a=b%20c`),
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer from-config' },
      body,
    };
    await auth.apply(req);
    const header = req.headers.authorization!;
    assert.match(header, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250314\/eu-central-1\/s3tables\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/);
    const signed = /SignedHeaders=([^,]+)/.exec(header)![1]!.split(';');
    for (const h of ['content-type', 'host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']) assert.ok(signed.includes(h), `${h} is signed`);
    assert.equal(req.headers['x-amz-date'], '20250314T092653Z');
    assert.equal(req.headers['x-amz-security-token'], 'session-token-1');
    assert.equal(req.headers['x-amz-content-sha256'], sha256Hex(body));
    assert.equal(req.headers['original-authorization'], 'Bearer from-config', 'an existing Authorization header is kept aside');
    assert.equal(/Signature=([0-9a-f]+)/.exec(header)![1], expectedSignature(req, 'eu-central-1', 's3tables', creds.secretAccessKey));
  });

  it('signs with the configured name and region (Glue) and needs a region', async () => {
    const auth = restAuthFrom({ type: 'sigv4', signingName: 'glue', region: 'us-west-2', credentials: creds }, 'https://glue.us-west-2.amazonaws.com/iceberg');
    assert.ok(auth instanceof SigV4Auth);
    const req: RestRequest = { method: 'GET', url: new URL('https://glue.us-west-2.amazonaws.com/iceberg/v1/config?warehouse=111122223333'), headers: {} };
    await auth.apply(req);
    assert.match(req.headers.authorization!, /\/us-west-2\/glue\/aws4_request/);
    assert.throws(() => new SigV4Auth({ signingName: 'glue', env: {} }), /needs a region/);
    const fromEnv = new SigV4Auth({ signingName: 's3tables', env: { AWS_REGION: 'ap-south-1', AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's' } });
    assert.equal(fromEnv.region, 'ap-south-1');
    const r2: RestRequest = { method: 'GET', url: new URL('https://x.example/v1/config'), headers: {} };
    await fromEnv.apply(r2);
    assert.match(r2.headers.authorization!, /Credential=k\/\d{8}\/ap-south-1\/s3tables\/aws4_request/);
  });

  it('takes credentials from the AWS default chain when none are given', async () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'CHAINKEY';
    process.env.AWS_SECRET_ACCESS_KEY = 'chain-secret';
    try {
      const provider = awsCredentialProvider(undefined);
      assert.deepEqual(await provider(), { accessKeyId: 'CHAINKEY', secretAccessKey: 'chain-secret' });
      const auth = new SigV4Auth({ signingName: 'glue', region: 'us-east-1', now });
      const req: RestRequest = { method: 'GET', url: new URL('https://glue.us-east-1.amazonaws.com/iceberg/v1/config'), headers: {} };
      await auth.apply(req);
      assert.match(req.headers.authorization!, /Credential=CHAINKEY\/20250314\/us-east-1\/glue\/aws4_request/);
      assert.equal(/Signature=([0-9a-f]+)/.exec(req.headers.authorization!)![1], expectedSignature(req, 'us-east-1', 'glue', 'chain-secret'));
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it('signs every request of a RestCatalog', async () => {
    proxy.setRule((r) =>
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/s3tables\//.test(r.headers.authorization ?? '')
        ? undefined
        : { kind: 'respond', status: 403, contentType: 'application/json', body: JSON.stringify({ error: { message: 'unsigned', type: 'ForbiddenException', code: 403 } }) },
    );
    const c = new RestCatalog({ uri: proxy.url, auth: { type: 'sigv4', signingName: 's3tables', region: 'us-east-1', credentials: creds } });
    await c.createNamespace(['signed_ns']);
    assert.equal(await c.namespaceExists(['signed_ns']), true);
    await c.dropNamespace(['signed_ns']);
  });
});
