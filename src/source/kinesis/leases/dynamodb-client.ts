/**
 * The DynamoDB client behind the lease table, built with the SDK's conventions (AWS_REGION,
 * AWS_ENDPOINT_URL_DYNAMODB, the default credential chain; dummy credentials for a local endpoint
 * such as dynalite), and the classification of its errors.
 *
 * SDK retries stay on (throttling, 5xx): every lease write is conditional, and a write whose first
 * attempt landed comes back as ConditionalCheckFailedException on the retry; the lease table
 * resolves that case by reading the item again (see `lease-table.ts`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { awsRegionUnconfigured, resolveAwsClientConfig, type AwsClientSettings } from '../../../aws/client-config.js';
import { ValidationError } from '../../../errors.js';

/** Options of {@link dynamoDbClientFromEnv}; anything unset follows the SDK's conventions. */
export interface DynamoDbClientOptions extends AwsClientSettings {
  /** SDK attempts per call. Default the SDK's (3). */
  maxAttempts?: number;
  /** Socket idle timeout of one request, ms. Default 5 s: a lease call slower than that is a failed renewal anyway. */
  requestTimeoutMs?: number;
  /** TCP connect timeout, ms. Default 2 s. */
  connectionTimeoutMs?: number;
}

/**
 * Builds a DynamoDBClient for the lease table. The caller owns it (`destroy()`).
 * @throws ValidationError when no region is configured anywhere the SDK looks
 */
export function dynamoDbClientFromEnv(options: DynamoDbClientOptions = {}): DynamoDBClient {
  const resolved = resolveAwsClientConfig('DynamoDB', options);
  if (awsRegionUnconfigured(resolved, options.env ?? process.env)) {
    throw new ValidationError('leases: no AWS region configured for the DynamoDB lease table (set AWS_REGION or source.region)');
  }
  return new DynamoDBClient({
    ...(resolved.region !== undefined ? { region: resolved.region } : {}),
    ...(resolved.endpoint !== undefined ? { endpoint: resolved.endpoint } : {}),
    ...(resolved.credentials !== undefined ? { credentials: resolved.credentials } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs ?? 2_000,
      requestTimeout: options.requestTimeoutMs ?? 5_000,
      throwOnRequestTimeout: true,
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 16 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 16 }),
    }),
  });
}

const THROTTLE = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded', 'LimitExceededException']);
const TRANSIENT = new Set(['InternalServerError', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeout', 'TransactionInProgressException']);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);

/** True when a DynamoDB call failed in a way that trying again later may fix. */
export function isRetriableDynamoError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as { name?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof err.name === 'string' ? err.name : '';
  if (THROTTLE.has(name) || TRANSIENT.has(name)) return true;
  if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return true;
  const status = err.$metadata?.httpStatusCode;
  return err.$fault === 'server' || status === 429 || (typeof status === 'number' && status >= 500);
}

/** `Name: message` of an SDK error, for messages. */
export function describeDynamoError(e: unknown): string {
  if (e instanceof Error) {
    const message = e.message || String((e as { code?: unknown }).code ?? '');
    return e.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
  }
  return String(e);
}
