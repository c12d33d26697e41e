/**
 * The Glue client behind GlueCatalog, built with the SDK's conventions (AWS_REGION,
 * AWS_ENDPOINT_URL_GLUE, the default credential chain), and the classification of its errors.
 *
 * SDK retries are off (`maxAttempts: 1`): a retried UpdateTable whose first attempt landed would
 * come back as ConcurrentModificationException, and a commit must know which attempt it is
 * looking at. GlueCatalog retries idempotent reads itself and never retries a write blindly.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { awsRegionUnconfigured, resolveAwsClientConfig, type AwsClientSettings } from '../../aws/client-config.js';
import { ValidationError } from '../../errors.js';

/** Options of {@link glueClientFromEnv}; anything unset follows the SDK's conventions. */
export interface GlueClientOptions extends AwsClientSettings {
  /** Socket idle timeout of one request, ms. Default 30 s. */
  requestTimeoutMs?: number;
  /** TCP connect timeout, ms. Default 5 s. */
  connectionTimeoutMs?: number;
}

/**
 * Builds a GlueClient. The caller owns it (`destroy()`).
 * @throws ValidationError when no region is configured anywhere the SDK looks
 */
export function glueClientFromEnv(options: GlueClientOptions = {}): GlueClient {
  const resolved = resolveAwsClientConfig('Glue', options);
  if (awsRegionUnconfigured(resolved, options.env ?? process.env)) {
    throw new ValidationError('catalog: glue: no AWS region configured (set AWS_REGION, or region= in the catalog URI)');
  }
  return new GlueClient({
    ...(resolved.region !== undefined ? { region: resolved.region } : {}),
    ...(resolved.endpoint !== undefined ? { endpoint: resolved.endpoint } : {}),
    ...(resolved.credentials !== undefined ? { credentials: resolved.credentials } : {}),
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 5_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 8 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 8 }),
    }),
  });
}

interface AwsErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** The service's error code (`EntityNotFoundException`, …) or the network error's name/code. */
export function awsErrorName(e: unknown): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const err = e as AwsErrorShape;
  if (typeof err.name === 'string' && err.name !== 'Error') return err.name;
  if (typeof err.code === 'string') return err.code;
  return 'Error';
}

/** The error's message. */
export function awsErrorMessage(e: unknown): string {
  if (typeof e === 'object' && e !== null && typeof (e as AwsErrorShape).message === 'string') return (e as { message: string }).message;
  return String(e);
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'RequestThrottled',
  'RequestThrottledException',
]);

/** True when the service answered "slow down": nothing was done, the same request may succeed later. */
export function isThrottling(e: unknown): boolean {
  return THROTTLING.has(awsErrorName(e));
}

/**
 * True when the service answered with a definite client error (4xx other than throttling): the
 * request was rejected and nothing was changed.
 */
export function isDefiniteRejection(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as AwsErrorShape;
  if (isThrottling(e)) return false;
  const status = err.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 400 && status < 500;
  return err.$fault === 'client';
}

/**
 * True when the same request may succeed if simply sent again: throttling, a 5xx, a timeout or a
 * dropped connection. For writes this also means "the outcome is unknown".
 */
export function isTransient(e: unknown): boolean {
  if (isThrottling(e)) return true;
  return !isDefiniteRejection(e);
}
