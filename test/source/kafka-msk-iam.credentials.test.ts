/**
 * Where floe's MSK IAM tokens get their credentials: the AWS SDK's default chain, here its
 * container-credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI, as on ECS/EKS Pod Identity)
 * served on 127.0.0.1 by the test. Every authentication (each connection, each KIP-368
 * re-authentication) asks for a token; the credentials behind them are resolved once and
 * reused by the SDK until they near expiry, not fetched again for every token, and the tokens
 * verify with the served key and session token. This file sets process.env (the default chain
 * reads it): node's test runner gives each test file its own process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SASLOptions } from 'kafkajs';
import { kafkaClientConfig } from '../../src/source/kafka/kafka-client.js';
import { verifyMskIamToken } from './kafka-msk-iam-verifier.js';

const AKID = 'ASIAFLOECONTAINER001';
const SECRET = 'container/secret+key';
const SESSION = 'container-session-token/+=';
let server: http.Server;
let requests = 0;
const saved = { ...process.env };

before(async () => {
  server = http.createServer((req, res) => {
    requests++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ AccessKeyId: AKID, SecretAccessKey: SECRET, Token: SESSION, Expiration: new Date(Date.now() + 6 * 3600_000).toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`;
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/floe-test-credentials';
  process.env.AWS_CONFIG_FILE = '/nonexistent/floe-test-config';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
after(async () => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('tokens from the default chain (container credentials): valid, and the credentials fetched once for many tokens', { timeout: 30_000 }, async () => {
  const config = kafkaClientConfig({ brokers: ['b-1.msk:9098'], sasl: { mechanism: 'aws-msk-iam', region: 'ap-southeast-2' } });
  const provider = (config.sasl as Extract<SASLOptions, { mechanism: 'oauthbearer' }>).oauthBearerProvider;
  const tokens: string[] = [];
  for (let i = 0; i < 5; i++) tokens.push((await provider()).value);
  for (const t of tokens) {
    const id = verifyMskIamToken(t, { region: 'ap-southeast-2', keys: { [AKID]: { secretAccessKey: SECRET, sessionToken: SESSION } } });
    assert.equal(id.accessKeyId, AKID);
  }
  assert.equal(requests, 1, `credential endpoint requests for ${tokens.length} tokens`);
});
