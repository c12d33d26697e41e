/**
 * How floe builds AWS SDK clients, the same way for every service (S3, Glue, S3 Tables, …):
 * the SDK's own conventions (AWS_REGION, `AWS_ENDPOINT_URL_<SERVICE>`, the default credential
 * chain), plus one convenience for local stand-ins: a custom endpoint (s3rver, kinesalite, a
 * proxy) with no credentials configured anywhere gets dummy credentials, which such servers accept,
 * instead of failing in the credential chain.
 *
 * Nothing here contacts AWS or reads credential files; it only checks whether they exist.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ValidationError } from '../errors.js';

/** Static AWS credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A source of credentials, called before every signature (it caches and refreshes itself). */
export type AwsCredentialProvider = () => Promise<AwsCredentials>;

/** Environment as read by the resolvers (`process.env` unless a test passes its own). */
export type AwsEnv = Readonly<Record<string, string | undefined>>;

/** What a caller may set explicitly; anything unset follows the SDK's conventions. */
export interface AwsClientSettings {
  /** Region; default AWS_REGION, AWS_DEFAULT_REGION, then `us-east-1` for a custom endpoint. */
  region?: string;
  /** Endpoint URL; default `AWS_ENDPOINT_URL_<SERVICE>`, then AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** Credentials; default the SDK's default chain (dummy ones for an unconfigured custom endpoint). */
  credentials?: AwsCredentials;
  /** Environment to read instead of `process.env` (tests). */
  env?: AwsEnv;
}

/** The settings {@link resolveAwsClientConfig} resolved, for building a client and for logs. */
export interface ResolvedAwsClientConfig {
  region: string | undefined;
  endpoint: string | undefined;
  /** True when the endpoint is not AWS itself (a local stand-in or a proxy). */
  customEndpoint: boolean;
  /**
   * Explicit credentials, those in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, or the dummy ones;
   * undefined means "the SDK's default chain" (profiles, web identity, containers, IMDS).
   */
  credentials: AwsCredentials | undefined;
  /** True when dummy credentials were supplied (custom endpoint, no credentials configured). */
  dummyCredentials: boolean;
}

/** The credentials given to custom endpoints when none are configured. */
export const LOCAL_DUMMY_CREDENTIALS: AwsCredentials = Object.freeze({ accessKeyId: 'floe-local', secretAccessKey: 'floe-local' });

/**
 * True for an endpoint that is not AWS itself. AWS endpoints end in `.amazonaws.com`
 * (`.amazonaws.com.cn` in China) or `.api.aws` (dual-stack).
 * @throws ValidationError when `endpoint` is not a URL
 */
export function isCustomAwsEndpoint(endpoint: string): boolean {
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    throw new ValidationError(`aws: endpoint "${endpoint}" is not a URL`);
  }
  return !/\.amazonaws\.com(\.cn)?$/i.test(host) && !/\.api\.aws$/i.test(host);
}

function sharedConfigFiles(env: AwsEnv): string[] {
  const home = env.HOME ?? homedir();
  return [env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, '.aws', 'credentials'), env.AWS_CONFIG_FILE ?? join(home, '.aws', 'config')];
}

/**
 * True when the environment configures credentials for the default chain in a way visible without
 * contacting anything: environment variables, a profile, web identity, container credentials, or
 * the shared files. Only existence is checked; nothing is read.
 */
export function awsCredentialsConfigured(env: AwsEnv): boolean {
  if (env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE) return true;
  if (env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) return true;
  return sharedConfigFiles(env).some((f) => existsSync(f));
}

/**
 * Static credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN): the
 * first source of the SDK's default chain, resolved here so that an `env` passed in settings is
 * honoured too (the SDK itself only reads `process.env`).
 */
function credentialsFromEnv(env: AwsEnv): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/**
 * The environment variable naming a service's endpoint, as the SDK derives it from the service id:
 * `S3` → `AWS_ENDPOINT_URL_S3`, `Glue` → `AWS_ENDPOINT_URL_GLUE`, `S3Tables` → `AWS_ENDPOINT_URL_S3TABLES`.
 */
export function serviceEndpointEnvName(serviceId: string): string {
  return `AWS_ENDPOINT_URL_${serviceId.trim().replace(/\s+/g, '_').toUpperCase()}`;
}

/**
 * Resolves region, endpoint and credential mode for a client of `serviceId` (`S3`, `Glue`, …).
 *
 * The SDK reads `AWS_ENDPOINT_URL_<SERVICE>` / `AWS_ENDPOINT_URL` itself; they are resolved here
 * too so that floe knows whether the endpoint is local (dummy credentials, default region).
 * `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` makes the SDK ignore both variables, and so do we.
 */
export function resolveAwsClientConfig(serviceId: string, settings: AwsClientSettings = {}): ResolvedAwsClientConfig {
  const env = settings.env ?? process.env;
  const ignoreEnv = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === 'true';
  const fromEnv = ignoreEnv ? undefined : (env[serviceEndpointEnvName(serviceId)] || undefined) ?? (env.AWS_ENDPOINT_URL || undefined);
  const endpoint = settings.endpoint ?? fromEnv;
  const customEndpoint = endpoint !== undefined && isCustomAwsEndpoint(endpoint);
  const region =
    settings.region ?? (env.AWS_REGION || undefined) ?? (env.AWS_DEFAULT_REGION || undefined) ?? (customEndpoint ? 'us-east-1' : undefined);
  const dummyCredentials = settings.credentials === undefined && customEndpoint && !awsCredentialsConfigured(env);
  const credentials = settings.credentials ?? credentialsFromEnv(env) ?? (dummyCredentials ? { ...LOCAL_DUMMY_CREDENTIALS } : undefined);
  return { region, endpoint, customEndpoint, credentials, dummyCredentials };
}

/**
 * True when no region can come from anywhere the SDK looks (settings, environment, shared config
 * file), so the caller should pick a default rather than let the first request fail.
 */
export function awsRegionUnconfigured(resolved: ResolvedAwsClientConfig, env: AwsEnv = process.env): boolean {
  if (resolved.region !== undefined) return false;
  return !existsSync(env.AWS_CONFIG_FILE ?? join(env.HOME ?? homedir(), '.aws', 'config'));
}
