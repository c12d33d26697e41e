/**
 * AWS Signature Version 4 for REST catalog requests: the auth of the AWS Glue Iceberg REST
 * endpoint (signing name `glue`, `https://glue.<region>.amazonaws.com/iceberg`) and of S3 Tables'
 * Iceberg REST endpoint (signing name `s3tables`, `https://s3tables.<region>.amazonaws.com/iceberg`).
 *
 * The request is signed as sent: its encoded path (which SigV4 encodes once more for every service
 * but S3), its query, the host, content type and date headers, and the SHA-256 of the body (also
 * sent as `x-amz-content-sha256`). An Authorization header already on the request (a bearer
 * token from the catalog config) is moved to `Original-Authorization`, as Iceberg's Java signer does,
 * so that the signature can take its place.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { ValidationError } from '../../errors.js';
import type { AwsCredentialProvider, AwsCredentials, AwsEnv } from '../../aws/client-config.js';
import { awsCredentialProvider } from '../../aws/credentials.js';
import type { RestAuth, RestRequest } from './rest-auth.js';

/** Options of {@link SigV4Auth}. */
export interface SigV4AuthOptions {
  /** The service signing name, e.g. `glue` or `s3tables`. */
  signingName: string;
  /** Signing region; default AWS_REGION, then AWS_DEFAULT_REGION. */
  region?: string;
  /** Fixed credentials or a provider; default the AWS default credential chain. */
  credentials?: AwsCredentials | AwsCredentialProvider;
  /** Environment to read instead of `process.env` (tests). */
  env?: AwsEnv;
  /** Signing time (tests). */
  now?: () => Date;
}

/** Signs every request with AWS SigV4 (see the file comment). */
export class SigV4Auth implements RestAuth {
  readonly kind = 'sigv4';
  /** The signing name and region in use. */
  readonly signingName: string;
  readonly region: string;
  private readonly signer: SignatureV4;
  private readonly now: () => Date;

  constructor(options: SigV4AuthOptions) {
    const env = options.env ?? process.env;
    if (!options.signingName || !/^[a-z0-9-]+$/i.test(options.signingName)) {
      throw new ValidationError(`catalog: rest: sigv4 signing name "${options.signingName}" is invalid (e.g. glue, s3tables)`);
    }
    const region = options.region ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined);
    if (!region) throw new ValidationError(`catalog: rest: sigv4 (${options.signingName}) needs a region: set it in the catalog config or AWS_REGION`);
    this.signingName = options.signingName;
    this.region = region;
    this.now = options.now ?? (() => new Date());
    this.signer = new SignatureV4({
      service: options.signingName,
      region,
      credentials: awsCredentialProvider(options.credentials, options.env),
      sha256: Sha256,
      uriEscapePath: true,
      applyChecksum: true,
    });
  }

  async apply(request: RestRequest): Promise<void> {
    const url = request.url;
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) {
      if (k === 'authorization') headers['original-authorization'] = v;
      else headers[k] = v;
    }
    headers.host = url.host;
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const prev = query[k];
      query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
    }
    const signed = await this.signer.sign(
      {
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query,
        headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
      },
      { signingDate: this.now() },
    );
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(signed.headers)) if (k.toLowerCase() !== 'host') out[k.toLowerCase()] = String(v);
    request.headers = out;
  }
}
