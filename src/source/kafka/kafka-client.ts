/**
 * The connection settings of the Kafka source (`source.brokers`, `source.ssl`, `source.sasl` in
 * the config) and their translation into a kafkajs client configuration: TLS with an optional CA
 * file, SASL PLAIN, SCRAM-SHA-256/512, and Amazon MSK IAM (SASL OAUTHBEARER with the token the
 * MSK IAM signer libraries make: a SigV4-presigned `kafka-cluster:Connect` URL, base64url).
 *
 * kafkajs is pure JavaScript: it installs anywhere Node does. The librdkafka-based client
 * (`@confluentinc/kafka-javascript`) downloads native libraries while installing, which a machine
 * without that network access cannot do (see the README's Kafka section).
 */
import { readFileSync } from 'node:fs';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { KafkaConfig, SASLOptions } from 'kafkajs';
import { awsCredentialProvider, type AwsCredentialSource } from '../../aws/credentials.js';
import type { AwsEnv } from '../../aws/client-config.js';
import { FloeError, ValidationError } from '../../errors.js';

/** TLS settings (`source.ssl`). */
export interface KafkaTlsSettings {
  /** PEM file of the certificate authorities to trust instead of Node's (`ca_file`). */
  caFile?: string;
  /** Verify the brokers' certificates (default true; false only for tests). */
  verify: boolean;
}

/** SASL settings (`source.sasl`). */
export type KafkaSaslSettings =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'aws-msk-iam'; region?: string };

/** How to reach the cluster. */
export interface KafkaConnectionSettings {
  /** `host:port` of one or more brokers. */
  brokers: string[];
  /** `source.ssl`; undefined: plaintext (TLS is turned on by `aws-msk-iam`). */
  tls?: KafkaTlsSettings;
  sasl?: KafkaSaslSettings;
  /** The client id brokers log; default `floe`. */
  clientId?: string;
}

/** The MSK IAM signer's user agent, which MSK expects in the token's URL. */
const MSK_USER_AGENT = 'floe-msk-iam-sasl-signer/1.0.0';

/**
 * An Amazon MSK IAM token for `region`: the URL
 * `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect` presigned with SigV4
 * (service `kafka-cluster`, 15 minutes), `User-Agent` appended, base64url without padding: what
 * `aws-msk-iam-sasl-signer-js` generates for OAUTHBEARER. Returns the token and its expiry.
 */
export async function mskIamToken(
  region: string,
  credentials: AwsCredentialSource,
  options: { env?: AwsEnv; now?: Date } = {},
): Promise<{ value: string; expiresAtMs: number }> {
  const now = options.now ?? new Date();
  const signer = new SignatureV4({ service: 'kafka-cluster', region, credentials: awsCredentialProvider(credentials, options.env), sha256: Sha256 });
  const hostname = `kafka.${region}.amazonaws.com`;
  const signed = await signer.presign(
    { method: 'GET', protocol: 'https:', hostname, path: '/', query: { Action: 'kafka-cluster:Connect' }, headers: { host: hostname } },
    { expiresIn: 900, signingDate: now },
  );
  const url = new URL(`https://${hostname}/`);
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== null && one !== undefined) url.searchParams.append(k, one);
  }
  url.searchParams.append('User-Agent', MSK_USER_AGENT);
  const value = Buffer.from(url.toString(), 'utf8').toString('base64url');
  return { value, expiresAtMs: now.getTime() + 900_000 };
}

/** The SASL options kafkajs takes for `sasl`. */
function saslOptions(sasl: KafkaSaslSettings, env: AwsEnv): SASLOptions {
  switch (sasl.mechanism) {
    case 'plain':
    case 'scram-sha-256':
    case 'scram-sha-512':
      return { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as SASLOptions;
    case 'aws-msk-iam': {
      const region = sasl.region ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined);
      if (!region) throw new ValidationError('config: source.sasl.region: aws-msk-iam needs a region (source.sasl.region or AWS_REGION)');
      // One provider for every token: the SDK's chain memoizes what it resolves, so each
      // connection and KIP-368 re-authentication signs a fresh token without fetching the
      // credentials again (a container, instance metadata or STS call per connection otherwise).
      const credentials = awsCredentialProvider(undefined, env);
      return {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => ({ value: (await mskIamToken(region, credentials, { env })).value }),
      };
    }
  }
}

/**
 * The kafkajs client configuration for `settings`. Reads the CA file now, so a missing file fails
 * before any connection; connection and request timeouts are those of a local network plus
 * margin, and kafkajs retries a failed connection a few times before the source reports it.
 */
export function kafkaClientConfig(settings: KafkaConnectionSettings, env: AwsEnv = process.env): KafkaConfig {
  let ssl: KafkaConfig['ssl'];
  const tls = settings.tls ?? (settings.sasl?.mechanism === 'aws-msk-iam' ? { verify: true } : undefined);
  if (tls) {
    let ca: string | undefined;
    if (tls.caFile !== undefined) {
      try {
        ca = readFileSync(tls.caFile, 'utf8');
      } catch (e) {
        throw new ValidationError(`config: source.ssl.ca_file: cannot read ${tls.caFile}: ${(e as Error).message}`, { cause: e });
      }
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ValidationError(`config: source.ssl.ca_file: ${tls.caFile} holds no PEM certificate`);
    }
    ssl = { rejectUnauthorized: tls.verify, ...(ca !== undefined ? { ca: [ca] } : {}) };
  }
  return {
    clientId: settings.clientId ?? 'floe',
    brokers: settings.brokers,
    ...(ssl !== undefined ? { ssl } : {}),
    ...(settings.sasl ? { sasl: saslOptions(settings.sasl, env) } : {}),
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
  };
}

/** kafkajs protocol error types of a refused SASL authentication. */
const SASL_ERROR_TYPES = new Set(['SASL_AUTHENTICATION_FAILED', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE']);

/** Node's codes of a failed TLS handshake or certificate check (OpenSSL verify results, `ERR_TLS_*`, `ERR_SSL_*`). */
const TLS_CODE_RE = /^(ERR_TLS_|ERR_SSL_)|CERT|^UNABLE_TO_|SELF_SIGNED|HOSTNAME_MISMATCH/;

/**
 * The floe error for a failure of the Kafka client (kafkajs): a refused SASL authentication is
 * `AUTH`, a certificate check or TLS protocol failure `SOURCE_READ_FAILED` naming TLS, both never
 * retriable (the same settings fail the same way); a connection closed during the TLS handshake
 * is named TLS too but keeps `retriable` (a broker going down looks the same), as does anything
 * else. `prefix` says what failed (`kafka: cannot start the consumer …`).
 */
export function kafkaClientError(e: unknown, prefix: string, retriable: boolean): FloeError {
  if (e instanceof FloeError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const chain: { name?: unknown; type?: unknown; code?: unknown }[] = [];
  for (let cur: unknown = e; typeof cur === 'object' && cur !== null && chain.length < 8; cur = (cur as { cause?: unknown }).cause) {
    chain.push(cur as { name?: unknown; type?: unknown; code?: unknown });
  }
  if (chain.some((c) => c.name === 'KafkaJSSASLAuthenticationError' || (typeof c.type === 'string' && SASL_ERROR_TYPES.has(c.type)))) {
    return new FloeError('AUTH', `${prefix}: the brokers refused SASL authentication (check source.sasl): ${message}`, { cause: e, retriable: false });
  }
  const tls = chain.map((c) => c.code).find((c): c is string => typeof c === 'string' && TLS_CODE_RE.test(c));
  if (tls !== undefined) {
    return new FloeError('SOURCE_READ_FAILED', `${prefix}: TLS failed (${tls}; check source.ssl: ca_file, verify): ${message}`, { cause: e, retriable: false });
  }
  // Node's words for a TLS connection closed during the handshake (a plaintext listener hangs up).
  if (/before secure TLS connection was established/.test(message)) {
    return new FloeError('SOURCE_READ_FAILED', `${prefix}: TLS failed (the brokers closed the connection during the TLS handshake: are they TLS listeners? check source.ssl): ${message}`, { cause: e, retriable });
  }
  return new FloeError('SOURCE_READ_FAILED', `${prefix}: ${message}`, { cause: e, retriable });
}
