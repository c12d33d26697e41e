/**
 * Building the S3 client behind the S3 FileIO, following the SDK conventions (AWS_REGION,
 * AWS_ENDPOINT_URL_S3, the default credential chain) with floe's choices for S3-compatible stores.
 *
 * - HTTP/1.1 keep-alive handler with connection and socket timeouts that throw (the handler's
 *   default only warns, and a stalled socket would hang a commit forever).
 * - SDK retries off (`maxAttempts: 1`): the FileIO retries itself, because a retried conditional
 *   write needs floe's own check of whether the first attempt landed.
 * - Path-style addressing for custom endpoints (s3rver, MinIO, …), where `bucket.host` does not
 *   resolve; virtual-hosted style on AWS.
 * - `followRegionRedirects`: a bucket in another region than the configured one still works.
 * - Checksums only when S3 requires them: third-party stores reject the newer default CRC32 trailers.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { awsRegionUnconfigured, resolveAwsClientConfig, type AwsClientSettings, type AwsEnv } from '../aws/client-config.js';

/** Options of {@link s3ClientFromEnv}; anything unset follows the SDK's conventions. */
export interface S3ClientOptions extends AwsClientSettings {
  /** Path-style addressing (`host/bucket/key`). Default: true for a custom endpoint, else false. */
  forcePathStyle?: boolean;
  /** Socket idle timeout of one request, ms. Default 60 s. */
  requestTimeoutMs?: number;
  /** TCP connect timeout, ms. Default 5 s. */
  connectionTimeoutMs?: number;
  /** Concurrent sockets per host. Default 32. */
  maxSockets?: number;
}

/** The settings {@link s3ClientFromEnv} used, for logs and tests. */
export interface ResolvedS3ClientConfig {
  region: string | undefined;
  endpoint: string | undefined;
  forcePathStyle: boolean;
  dummyCredentials: boolean;
}

/** Resolves the S3 client settings as {@link s3ClientFromEnv} will. */
export function resolveS3ClientConfig(options: S3ClientOptions = {}): ResolvedS3ClientConfig & { credentials: AwsClientSettings['credentials'] } {
  const env: AwsEnv = options.env ?? process.env;
  const resolved = resolveAwsClientConfig('S3', options);
  // S3 needs some region to sign with; with followRegionRedirects any region reaches the bucket.
  const region = resolved.region ?? (awsRegionUnconfigured(resolved, env) ? 'us-east-1' : undefined);
  return {
    region,
    endpoint: resolved.endpoint,
    forcePathStyle: options.forcePathStyle ?? resolved.customEndpoint,
    dummyCredentials: resolved.dummyCredentials,
    credentials: resolved.credentials,
  };
}

/** Builds an S3Client as described in the file comment. The caller owns it (`destroy()`). */
export function s3ClientFromEnv(options: S3ClientOptions = {}): S3Client {
  const r = resolveS3ClientConfig(options);
  const maxSockets = options.maxSockets ?? 32;
  return new S3Client({
    ...(r.region !== undefined ? { region: r.region } : {}),
    ...(r.endpoint !== undefined ? { endpoint: r.endpoint } : {}),
    ...(r.credentials !== undefined ? { credentials: r.credentials } : {}),
    forcePathStyle: r.forcePathStyle,
    followRegionRedirects: true,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    }),
  });
}
