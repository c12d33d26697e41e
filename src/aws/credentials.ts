/**
 * AWS credential providers for code that signs requests itself (SigV4 for the Iceberg REST
 * endpoints of Glue and S3 Tables) rather than through an SDK client.
 *
 * The default chain is the SDK's own (environment, profiles and SSO, web identity, containers,
 * EC2 instance metadata), taken from an SDK client's resolved configuration so that floe depends
 * only on the client packages it declares; the SDK memoizes and refreshes what it resolves.
 */
import { FloeError } from '../errors.js';
import type { AwsCredentialProvider, AwsCredentials, AwsEnv } from './client-config.js';

/** Where credentials come from: fixed ones, a provider, or (undefined) the default chain. */
export type AwsCredentialSource = AwsCredentials | AwsCredentialProvider | undefined;

/** Reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN from `env`. */
function fromEnv(env: AwsEnv): AwsCredentials | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/**
 * A credential provider for `source`: fixed credentials as given, a provider unchanged, otherwise
 * the SDK's default chain (with `env`'s static keys first when an `env` other than `process.env`
 * is passed, as tests do).
 */
export function awsCredentialProvider(source: AwsCredentialSource, env?: AwsEnv): AwsCredentialProvider {
  if (typeof source === 'function') return source;
  if (source !== undefined) {
    const fixed = { ...source };
    return async () => fixed;
  }
  const injected = env !== undefined && env !== process.env ? fromEnv(env) : undefined;
  if (injected) return async () => injected;
  let chain: Promise<AwsCredentialProvider> | undefined;
  return async () => {
    chain ??= import('@aws-sdk/client-s3').then((m) => {
      const client = new m.S3Client({ region: 'us-east-1' });
      return client.config.credentials as AwsCredentialProvider;
    });
    try {
      const c = await (await chain)();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) };
    } catch (e) {
      throw new FloeError('AUTH', `aws: no credentials found in the default chain (environment, profile, web identity, container, instance metadata): ${(e as Error).message}`, {
        cause: e,
      });
    }
  };
}
