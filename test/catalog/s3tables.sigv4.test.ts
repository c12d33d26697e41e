/**
 * Requests of an S3 Tables catalog are SigV4-signed for the `s3tables` service in the bucket's
 * region, and send the bucket ARN as warehouse: a local HTTP server on 127.0.0.1 stands in for
 * `https://s3tables.<region>.amazonaws.com` (AWS_ENDPOINT_URL_S3TABLES), captures the headers and
 * verifies each signature by signing the request it received again.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { openS3TablesCatalog } from '../../src/catalog/s3tables.js';

const ACCESS_KEY = 'AKIDS3TABLESTEST';
const SECRET = 's3tables-test-secret';
const ARN = 'arn:aws:s3tables:ap-northeast-1:111122223333:bucket/floe-tables';

interface Captured {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
}

/** Signs the request as received with `service`, returning its Authorization header. */
async function resign(c: Captured, service: string): Promise<string> {
  const auth = c.headers.authorization ?? '';
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const headers: Record<string, string> = {};
  for (const h of signedHeaders) headers[h] = c.headers[h] ?? '';
  const amzDate = c.headers['x-amz-date']!;
  const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const query: Record<string, string> = {};
  for (const [k, v] of c.query) query[k] = v;
  const host = c.headers.host!;
  const signer = new SignatureV4({
    service,
    region: 'ap-northeast-1',
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: true,
  });
  const signed = await signer.sign(
    {
      method: c.method,
      protocol: 'http:',
      hostname: host.split(':')[0]!,
      port: Number(host.split(':')[1]),
      path: c.path,
      query,
      headers,
      ...(c.body ? { body: c.body } : {}),
    },
    { signingDate: date },
  );
  return String(signed.headers.authorization);
}

describe('S3 Tables requests', () => {
  let server: Server;
  let endpoint: string;
  const captured: Captured[] = [];

  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        captured.push({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers, body: Buffer.concat(chunks).toString('utf8') });
        const json = (status: number, body: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (url.pathname === '/iceberg/v1/config') return json(200, { defaults: {}, overrides: { prefix: encodeURIComponent(ARN) } });
        if (url.pathname === `/iceberg/v1/${encodeURIComponent(ARN)}/namespaces` && req.method === 'GET') {
          return json(200, { namespaces: [['glue_streaming_iceberg_db']] });
        }
        if (url.pathname === `/iceberg/v1/${encodeURIComponent(ARN)}/namespaces` && req.method === 'POST') {
          return json(200, { namespace: ['new_ns'], properties: {} });
        }
        json(404, { error: { message: `no route ${url.pathname}`, type: 'NoSuchNamespaceException', code: 404 } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('are signed for s3tables in the bucket region, with the bucket ARN as warehouse', async () => {
    const env = { AWS_ENDPOINT_URL_S3TABLES: endpoint, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET };
    const catalog = openS3TablesCatalog(ARN, { env });
    try {
      assert.deepEqual(await catalog.listNamespaces(), [['glue_streaming_iceberg_db']]);
      await catalog.createNamespace(['new_ns']);
    } finally {
      await catalog.close();
    }
    assert.equal(captured.length, 3);
    const [config, list, create] = captured as [Captured, Captured, Captured];
    assert.equal(config.path, '/iceberg/v1/config');
    assert.equal(config.query.get('warehouse'), ARN);
    assert.equal(list.path, `/iceberg/v1/${encodeURIComponent(ARN)}/namespaces`);
    assert.equal(create.method, 'POST');
    for (const c of captured) {
      const auth = c.headers.authorization ?? '';
      assert.match(auth, new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/\\d{8}/ap-northeast-1/s3tables/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`));
      assert.match(c.headers['x-amz-date'] ?? '', /^\d{8}T\d{6}Z$/);
      assert.equal(await resign(c, 's3tables'), auth, `${c.method} ${c.path}: the signature matches the request as received`);
      assert.notEqual(await resign(c, 'glue'), auth, 'and would not for another service');
    }
    assert.match(create.headers.authorization!, /SignedHeaders=[^,]*x-amz-content-sha256/, 'the body hash is signed');
  });
});
