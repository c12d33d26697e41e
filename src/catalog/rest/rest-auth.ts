/**
 * Authentication of REST catalog requests, pluggable: the client calls {@link RestAuth.apply} on
 * every request just before sending it (so an implementation may sign the final request), and
 * {@link RestAuth.refresh} once after a 401/419 answer.
 *
 * Built in: no auth, a static bearer token, OAuth2 client credentials (token fetched from the
 * token endpoint and refreshed before it expires), and AWS SigV4 (`rest-sigv4.ts`, for the AWS
 * Glue and S3 Tables Iceberg REST endpoints). {@link restAuthFrom} builds one from plain options.
 */
import { FloeError, ValidationError } from '../../errors.js';
import type { AwsCredentialProvider, AwsCredentials, AwsEnv } from '../../aws/client-config.js';
import { SigV4Auth } from './rest-sigv4.js';

/** A request about to be sent; `apply` may add or change headers. */
export interface RestRequest {
  method: string;
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: string;
}

/** An authentication scheme for REST catalog requests. */
export interface RestAuth {
  /** Short name for messages: `none`, `bearer`, `oauth2`, `sigv4`, … */
  readonly kind: string;
  /** Adds credentials to the request (an Authorization header, a signature). */
  apply(request: RestRequest): Promise<void>;
  /**
   * Called once after the server answered 401 or 419 (expired credentials) to `rejected` (the
   * request as sent): obtain fresh credentials and return true to have the request sent again
   * (re-authenticated with `apply`), or false to fail it.
   */
  refresh?(rejected: RestRequest): Promise<boolean>;
}

/** Sends no credentials. */
export class NoAuth implements RestAuth {
  readonly kind = 'none';
  async apply(): Promise<void> {}
}

/** A static bearer token (`Authorization: Bearer <token>`). */
export class BearerAuth implements RestAuth {
  readonly kind = 'bearer';
  constructor(private readonly token: string) {
    if (!token) throw new ValidationError('catalog: rest: bearer auth needs a non-empty token');
  }
  async apply(request: RestRequest): Promise<void> {
    request.headers.authorization = `Bearer ${this.token}`;
  }
}

/** Options of {@link OAuth2ClientCredentialsAuth}. */
export interface OAuth2ClientCredentialsOptions {
  /** The token endpoint (the catalog's `oauth2-server-uri`, or `<catalog uri>/v1/oauth/tokens`). */
  tokenEndpoint: string;
  clientId: string;
  clientSecret: string;
  /** Requested scope. Default `catalog` (what Iceberg's clients request). */
  scope?: string;
  /** Further form fields of the token request (e.g. `audience`, `resource`). */
  extraParams?: Record<string, string>;
  /**
   * How the client authenticates to the token endpoint: form fields `client_id`/`client_secret`
   * (default; what Iceberg's Java and Python clients send) or HTTP Basic.
   */
  clientAuthentication?: 'body' | 'basic';
  /** Refresh this long before the token expires. Default 60 s. */
  refreshMarginMs?: number;
  /** Lifetime assumed when the response has no `expires_in`. Default 1 h. */
  defaultLifetimeMs?: number;
  /** Timeout of a token request. Default 30 s. */
  timeoutMs?: number;
  /** fetch implementation (tests). */
  fetch?: typeof fetch;
  /** Clock (tests). */
  now?: () => number;
}

/**
 * OAuth2 client credentials grant (RFC 6749 §4.4): exchanges a client id and secret for an access
 * token, sends it as a bearer token, and fetches a new one shortly before it expires or when the
 * server rejects it (401/419). Concurrent requests share one token request.
 */
export class OAuth2ClientCredentialsAuth implements RestAuth {
  readonly kind = 'oauth2';
  private token: { value: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: OAuth2ClientCredentialsOptions) {
    if (!options.clientId || !options.clientSecret) throw new ValidationError('catalog: rest: oauth2 needs a client id and a client secret');
    try {
      new URL(options.tokenEndpoint);
    } catch {
      throw new ValidationError(`catalog: rest: oauth2 token endpoint "${options.tokenEndpoint}" is not a URL`);
    }
    this.now = options.now ?? Date.now;
  }

  /** Number of tokens fetched so far (diagnostics and tests). */
  tokensFetched = 0;

  private async fetchToken(): Promise<string> {
    const o = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: o.scope ?? 'catalog', ...o.extraParams });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (o.clientAuthentication === 'basic') {
      const enc = (s: string) => encodeURIComponent(s);
      headers.authorization = `Basic ${Buffer.from(`${enc(o.clientId)}:${enc(o.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', o.clientId);
      form.set('client_secret', o.clientSecret);
    }
    const doFetch = o.fetch ?? fetch;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(o.tokenEndpoint, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(o.timeoutMs ?? 30_000) });
      text = await res.text();
    } catch (e) {
      throw new FloeError('AUTH', `catalog: rest: oauth2 token request to ${o.tokenEndpoint} failed: ${(e as Error).message}`, { cause: e, retriable: true });
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // reported below
    }
    if (!res.ok) {
      const why = typeof body.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}` : text.slice(0, 200);
      throw new FloeError('AUTH', `catalog: rest: oauth2 token request to ${o.tokenEndpoint} was refused (HTTP ${res.status}): ${why}`, {
        retriable: res.status >= 500,
      });
    }
    const token = body.access_token;
    if (typeof token !== 'string' || token.length === 0) {
      throw new FloeError('AUTH', `catalog: rest: oauth2 token response from ${o.tokenEndpoint} has no access_token`);
    }
    const lifetimeMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : (o.defaultLifetimeMs ?? 3_600_000);
    this.token = { value: token, expiresAt: this.now() + lifetimeMs };
    this.tokensFetched++;
    return token;
  }

  /** A valid token, fetching a new one when none is held or it expires within the margin. */
  async accessToken(): Promise<string> {
    const margin = this.options.refreshMarginMs ?? 60_000;
    if (this.token && this.now() < this.token.expiresAt - margin) return this.token.value;
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  async apply(request: RestRequest): Promise<void> {
    request.headers.authorization = `Bearer ${await this.accessToken()}`;
  }

  async refresh(rejected: RestRequest): Promise<boolean> {
    // Several requests rejected together refresh once: if the rejected request did not carry the
    // current token, another request already fetched a new one (or is fetching it).
    if (this.pending) {
      await this.pending;
      return true;
    }
    if (this.token && rejected.headers.authorization !== `Bearer ${this.token.value}`) return true;
    this.token = undefined;
    await this.accessToken();
    return true;
  }
}

/** Plain-data auth settings, as configs and the CLI give them. */
export type RestAuthConfig =
  | { type: 'none' }
  | { type: 'bearer'; token: string }
  | ({ type: 'oauth2'; tokenEndpoint?: string } & Omit<OAuth2ClientCredentialsOptions, 'tokenEndpoint'>)
  | {
      type: 'sigv4';
      /** The signing name: `glue` for the AWS Glue Iceberg REST endpoint, `s3tables` for S3 Tables. */
      signingName: string;
      /** Region; default AWS_REGION / AWS_DEFAULT_REGION. */
      region?: string;
      /** Credentials; default the AWS default credential chain. */
      credentials?: AwsCredentials | AwsCredentialProvider;
      env?: AwsEnv;
    };

/**
 * Builds the auth for a config. An OAuth2 token endpoint defaults to `<catalog uri>/v1/oauth/tokens`
 * (the REST spec's deprecated endpoint; prefer setting the catalog's `oauth2-server-uri`).
 */
export function restAuthFrom(config: RestAuthConfig | RestAuth | undefined, catalogUri: string): RestAuth {
  if (config === undefined) return new NoAuth();
  if ('apply' in config) return config;
  switch (config.type) {
    case 'none':
      return new NoAuth();
    case 'bearer':
      return new BearerAuth(config.token);
    case 'oauth2': {
      const { type: _t, tokenEndpoint, ...rest } = config;
      return new OAuth2ClientCredentialsAuth({ ...rest, tokenEndpoint: tokenEndpoint ?? `${catalogUri.replace(/\/+$/, '')}/v1/oauth/tokens` });
    }
    case 'sigv4':
      return new SigV4Auth({
        signingName: config.signingName,
        ...(config.region !== undefined ? { region: config.region } : {}),
        ...(config.credentials !== undefined ? { credentials: config.credentials } : {}),
        ...(config.env !== undefined ? { env: config.env } : {}),
      });
    default:
      throw new ValidationError(`catalog: rest: unknown auth type '${(config as { type?: unknown }).type}'`);
  }
}
