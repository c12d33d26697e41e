/**
 * Building a Kinesis client the way the AWS SDK conventions expect, and classifying its errors.
 *
 * Always uses the HTTP/1.1 handler: the SDK's default HTTP/2 handler fails against kinesalite and
 * on large responses from kinesis-local, and GetRecords/PutRecords gain nothing from HTTP/2.
 */
import { existsSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { ValidationError } from '../../errors.js';
import { registerLeanTransport } from './get-records-http.js';
import { WirePool } from './wire-http.js';

/** Which stream to talk to: by name or by ARN (exactly one). */
export interface StreamTarget {
  streamName?: string;
  streamArn?: string;
}

/** Static credentials, for callers that have them at hand. */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link kinesisClientFromEnv}; anything unset follows the SDK's conventions. */
export interface KinesisClientOptions {
  /** Region; default AWS_REGION, AWS_DEFAULT_REGION, then `us-east-1` for a custom endpoint. */
  region?: string;
  /**
   * Endpoint URL; default AWS_ENDPOINT_URL_KINESIS, then AWS_ENDPOINT_URL (unless
   * AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true), as the SDK itself resolves them.
   */
  endpoint?: string;
  /** Credentials; default the SDK's default chain (dummy ones for an unconfigured custom endpoint). */
  credentials?: StaticCredentials;
  /** SDK attempts per call (1 = no SDK retries; floe's own loops retry). Default: the SDK's (3). */
  maxAttempts?: number;
  /** Time allowed for one request (to its response's headers; the readers' GetRecords: to its body's end). Default 30 s. */
  requestTimeoutMs?: number;
  /** Most sockets open to the endpoint at once. Default {@link KINESIS_MAX_SOCKETS}. */
  maxSockets?: number;
  /** Environment to read instead of `process.env` (tests). */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Default socket cap of a client: one GetRecords call per shard can be in flight, so the SDK's 50
 * queued the calls of a 256-shard stream behind each other (bench/notes.md item 26). Sockets open
 * only as calls need them; the source's byte budget bounds what the calls hold.
 */
export const KINESIS_MAX_SOCKETS = 256;

/** The settings {@link kinesisClientFromEnv} resolved, for logs and tests. */
export interface ResolvedKinesisClientConfig {
  region: string | undefined;
  endpoint: string | undefined;
  /** True when dummy credentials were supplied (custom endpoint, no credentials configured). */
  dummyCredentials: boolean;
}

/** True for an endpoint that is not AWS itself (kinesalite, kinesis-local, a proxy). */
export function isCustomEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    throw new ValidationError(`kinesis: endpoint "${endpoint}" is not a URL`);
  }
  return !/\.amazonaws\.com(\.cn)?$/i.test(host) && !/\.api\.aws$/i.test(host);
}

/** The shared AWS config file, where a profile may set the region. */
function awsConfigFile(env: Readonly<Record<string, string | undefined>>): string {
  return env.AWS_CONFIG_FILE ?? join(env.HOME ?? homedir(), '.aws', 'config');
}

/**
 * What to do when floe does not know which Kinesis to talk to: the two ways (AWS with a region, a
 * local endpoint) and how to start a local one.
 */
export const KINESIS_TARGET_HINT =
  'For a stream on AWS set AWS_REGION (or source.region in the config); for a local endpoint set ' +
  'AWS_ENDPOINT_URL_KINESIS=http://127.0.0.1:4567 (or source.endpoint), and start one with `floe local`';

/**
 * True when the environment configures credentials for the default chain in a way we can see
 * without contacting anything (environment variables, profile, web identity, container, or the
 * shared files). Only existence is checked; nothing is read.
 */
function credentialsConfigured(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE) return true;
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return true;
  const home = env.HOME ?? homedir();
  const files = [env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials'), awsConfigFile(env)];
  return files.some((f) => existsSync(f));
}

/** Resolves region, endpoint and credential mode as {@link kinesisClientFromEnv} will. */
export function resolveKinesisClientConfig(options: KinesisClientOptions = {}): ResolvedKinesisClientConfig {
  const env = options.env ?? process.env;
  // The SDK reads AWS_ENDPOINT_URL_KINESIS / AWS_ENDPOINT_URL itself (serviceId "Kinesis"); we
  // resolve them here too so we know whether the endpoint is local (credentials, region default).
  // AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true makes the SDK ignore both variables; so do we.
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  const fromEnv = ignoreEnv ? undefined : (env.AWS_ENDPOINT_URL_KINESIS || undefined) ?? (env.AWS_ENDPOINT_URL || undefined);
  const endpoint = options.endpoint ?? fromEnv;
  const custom = endpoint !== undefined && isCustomEndpoint(endpoint);
  const region = options.region ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined) ?? (custom ? 'us-east-1' : undefined);
  const dummyCredentials = options.credentials === undefined && custom && !credentialsConfigured(env);
  return { region, endpoint, dummyCredentials };
}

/**
 * Builds a KinesisClient following the SDK conventions (AWS_REGION, AWS_ENDPOINT_URL_KINESIS, the
 * default credential chain), with the HTTP/1.1 handler. For a custom endpoint without configured
 * credentials it supplies dummy ones, which local servers accept.
 * @throws ValidationError naming AWS_REGION, AWS_ENDPOINT_URL_KINESIS and `floe local` when no
 *   region can come from anywhere (options, environment, an endpoint, the shared config file)
 */
export function kinesisClientFromEnv(options: KinesisClientOptions = {}): KinesisClient {
  const resolved = resolveKinesisClientConfig(options);
  if (resolved.region === undefined && !existsSync(awsConfigFile(options.env ?? process.env))) {
    // The SDK would only say `Region is missing`, at the first call.
    throw new ValidationError(`kinesis: no AWS region. ${KINESIS_TARGET_HINT}`);
  }
  const credentials = options.credentials ?? (resolved.dummyCredentials ? { accessKeyId: 'floe-local', secretAccessKey: 'floe-local' } : undefined);
  // The agents are made here (keep-alive, the socket cap) so that the readers' lean GetRecords
  // (`get-records-http.ts`) sends over the same sockets as the SDK's calls.
  const maxSockets = options.maxSockets ?? KINESIS_MAX_SOCKETS;
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets });
  const connectionTimeoutMs = 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const client = new KinesisClient({
    ...(resolved.region !== undefined ? { region: resolved.region } : {}),
    ...(resolved.endpoint !== undefined ? { endpoint: resolved.endpoint } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: connectionTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Without this the handler only logs a warning and the call can hang forever (kinesalite
      // never answers AT_TIMESTAMP when no record is at or after the timestamp).
      throwOnRequestTimeout: true,
      httpAgent,
      httpsAgent,
    }),
  });
  // The readers' GetRecords go over floe's own connections (`wire-http.ts`), unless Node's
  // client is asked for: `FLOE_KINESIS_HTTP=node` (A/B measurements, bench/notes.md item 31), or
  // Node's own proxy support is on (NODE_USE_ENV_PROXY, newer Node), which only its agents follow.
  const env = options.env ?? process.env;
  const nodeHttp = env.FLOE_KINESIS_HTTP === 'node' || (env.NODE_USE_ENV_PROXY !== undefined && env.NODE_USE_ENV_PROXY !== '' && env.NODE_USE_ENV_PROXY !== '0');
  const wire = nodeHttp ? undefined : new WirePool({ maxSockets, connectionTimeoutMs, requestTimeoutMs });
  registerLeanTransport(client, { httpAgent, httpsAgent, connectionTimeoutMs, requestTimeoutMs, ...(wire !== undefined ? { wire } : {}) });
  // The handler destroys agents it was given only once it used them: destroy them in any case.
  const destroy = client.destroy.bind(client);
  client.destroy = () => {
    destroy();
    httpAgent.destroy();
    httpsAgent.destroy();
    wire?.destroy();
  };
  return client;
}

/** Validates a target and returns the request fields naming the stream. */
export function streamParams(target: StreamTarget): { StreamName: string } | { StreamARN: string } {
  if ((target.streamName === undefined) === (target.streamArn === undefined)) {
    throw new ValidationError('kinesis: exactly one of streamName and streamArn must be given');
  }
  if (target.streamName !== undefined) {
    if (!/^[a-zA-Z0-9_.-]{1,128}$/.test(target.streamName)) {
      throw new ValidationError(`kinesis: streamName "${target.streamName}" is not a valid stream name`);
    }
    return { StreamName: target.streamName };
  }
  streamNameFromArn(target.streamArn as string);
  return { StreamARN: target.streamArn as string };
}

/** The stream name inside a stream ARN (`arn:aws:kinesis:<region>:<account>:stream/<name>`). */
export function streamNameFromArn(arn: string): string {
  const m = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]*:\d*:stream\/([a-zA-Z0-9_.-]{1,128})$/.exec(arn);
  if (!m || m[1] === undefined) throw new ValidationError(`kinesis: streamArn "${arn}" is not a Kinesis stream ARN`);
  return m[1];
}

/** How a failed call should be handled. */
export type ErrorKind =
  /** Throughput limits: back off and retry. */
  | 'throttle'
  /** Server or network trouble: back off and retry. */
  | 'transient'
  /** The shard iterator is older than 5 minutes: get a new one from the last position. */
  | 'expired-iterator'
  /** The call was aborted by us (closing). */
  | 'aborted'
  /** Anything else: retrying the same call cannot succeed. */
  | 'fatal';

const THROTTLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'KMSThrottlingException',
]);
const TRANSIENT_NAMES = new Set([
  'InternalFailure',
  'InternalFailureException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  // A stream that is being created or resharded refuses some calls for a moment.
  'ResourceInUseException',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNABORTED']);

/** Classifies an error thrown by a Kinesis client call. */
export function classifyKinesisError(e: unknown): ErrorKind {
  if (typeof e !== 'object' || e === null) return 'fatal';
  const err = e as { name?: unknown; code?: unknown; $fault?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof err.name === 'string' ? err.name : '';
  if (name === 'AbortError') return 'aborted';
  if (name === 'ExpiredIteratorException') return 'expired-iterator';
  if (THROTTLE_NAMES.has(name)) return 'throttle';
  const status = err.$metadata?.httpStatusCode;
  if (status === 429) return 'throttle';
  if (TRANSIENT_NAMES.has(name)) return 'transient';
  if (typeof err.code === 'string' && TRANSIENT_CODES.has(err.code)) return 'transient';
  if (err.$fault === 'server' || (typeof status === 'number' && status >= 500)) return 'transient';
  return 'fatal';
}

/**
 * A short description of an SDK error for messages: `Name: message`. The SDK's `Region is missing`
 * (a profile without a region) gets {@link KINESIS_TARGET_HINT}.
 */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    // A connection error of a dual-stack host is an AggregateError with an empty message.
    const message = e.message || ((e as { code?: unknown }).code !== undefined ? String((e as { code?: unknown }).code) : '');
    if (/^Region is missing$/i.test(message)) return `no AWS region (the SDK says "${message}"). ${KINESIS_TARGET_HINT}`;
    return e.name && e.name !== 'Error' ? `${e.name}: ${message}` : message;
  }
  return String(e);
}

/**
 * Connection failures meaning that nothing answers at the endpoint (no server on that port, a host
 * name that does not resolve, now or at all, no route), as opposed to the hiccups of a server that
 * does answer (a connection reset mid-request, a timeout, throttling, a 5xx), always retried.
 */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** True when `e` (an SDK error) says nothing answers at the endpoint; see {@link UNREACHABLE_CODES}. */
export function isUnreachableError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

/**
 * How long calls may keep failing to connect before the endpoint has answered once: long enough
 * for a local server that is still starting, short enough that a wrong or closed address is
 * reported in seconds rather than after half a minute of silent retries. Once the endpoint has
 * answered, connection failures are retried like any transient error (a restart mid-run).
 */
export const UNREACHABLE_GRACE_MS = 3_000;

/** The endpoint a client sends to, for messages: its URL, or AWS's endpoint of the region. */
export async function describeKinesisEndpoint(client: KinesisClient): Promise<string> {
  try {
    if (client.config.endpoint) {
      const ep = await client.config.endpoint();
      const port = ep.port !== undefined ? `:${ep.port}` : '';
      const path = ep.path && ep.path !== '/' ? ep.path : '';
      return `${ep.protocol}//${ep.hostname}${port}${path}`;
    }
    return `the AWS Kinesis endpoint of region ${await client.config.region()}`;
  } catch {
    return 'the Kinesis endpoint';
  }
}

/** The message of a call that found nothing answering at `endpoint` (see {@link isUnreachableError}). */
export function unreachableMessage(endpoint: string, what: string, e: unknown): string {
  return (
    `kinesis: ${what}: cannot connect to ${endpoint} (${describeError(e)}). Is the endpoint running and the address right? ` +
    `A local endpoint is started with \`floe local\` (it prints its URL for AWS_ENDPOINT_URL_KINESIS or source.endpoint); ` +
    'for AWS itself unset AWS_ENDPOINT_URL_KINESIS and AWS_ENDPOINT_URL and set AWS_REGION'
  );
}
