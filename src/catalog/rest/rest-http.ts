/**
 * The HTTP layer of the REST catalog client: JSON in and out (lossless: snapshot ids beyond 2^53
 * survive), authentication on every request, a timeout per request, retries with backoff for
 * reads (GET, HEAD) only, one resend after the server rejected expired credentials (401/419, which
 * it answers before doing anything), and errors mapped to floe's (`rest-errors.ts`).
 *
 * Mutations are retried only when the request provably never left (connection refused, DNS:
 * CatalogUnreachableError): a create or commit whose answer was lost may have been applied, and
 * only a reload can tell (a commit then fails with CommitStateUnknownError).
 */
import { CatalogUnreachableError, FloeError } from '../../errors.js';
import { parseJson, stringifyJson, type JsonValue } from '../../iceberg/json.js';
import { retry, type RetryPolicy } from '../../retry.js';
import type { RestAuth, RestRequest } from './rest-auth.js';
import { restError, restTransportError, type RestOperation } from './rest-errors.js';

/** One call of the REST API. */
export interface RestCall {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** Path below the catalog URI, already encoded, e.g. `/v1/wh/namespaces/db`. */
  path: string;
  query?: Record<string, string | undefined>;
  /** JSON body (serialized with lossless JSON). */
  body?: unknown;
  op: RestOperation;
  /** Names the thing operated on in errors (`table db.events`). */
  what: string;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
}

/** A successful answer. */
export interface RestAnswer {
  status: number;
  headers: Headers;
  /** The parsed body; undefined when empty. */
  json: JsonValue | undefined;
}

/** Settings of {@link RestHttp}. */
export interface RestHttpOptions {
  /** The catalog's base URI, e.g. `http://127.0.0.1:8181` or `https://glue.us-east-1.amazonaws.com/iceberg`. */
  uri: string;
  auth: RestAuth;
  retry: RetryPolicy;
  timeoutMs: number;
  /** Headers sent with every request. */
  headers: Record<string, string>;
  fetch: typeof fetch;
}

/** Thrown inside the retry loop for answers that a retry may fix. */
class RetriableAnswer extends Error {
  constructor(readonly error: FloeError) {
    super(error.message);
  }
}

/** Sends REST calls (see the file comment). */
export class RestHttp {
  private readonly base: string;

  constructor(private readonly options: RestHttpOptions) {
    this.base = options.uri.replace(/\/+$/, '');
  }

  /** The URL of a call. */
  url(path: string, query?: Record<string, string | undefined>): URL {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.append(k, v);
    return url;
  }

  /** Sends the call; answers with status >= 300 (other than 304) become floe errors. */
  async send(call: RestCall): Promise<RestAnswer> {
    const idempotent = call.method === 'GET' || call.method === 'HEAD';
    // A mutation that never left may be sent again as it is; any other failure of one may not.
    const retriable = idempotent
      ? (e: unknown) => e instanceof RetriableAnswer || (e instanceof FloeError && e.retriable)
      : (e: unknown) => e instanceof CatalogUnreachableError;
    try {
      return await retry(() => this.attempt(call), this.options.retry, { isRetriable: retriable });
    } catch (e) {
      throw e instanceof RetriableAnswer ? e.error : e;
    }
  }

  private async attempt(call: RestCall): Promise<RestAnswer> {
    let refreshed = false;
    for (;;) {
      const res = await this.exchange(call);
      if ((res.status === 401 || res.status === 419) && !refreshed && this.options.auth.refresh) {
        refreshed = true;
        if (await this.options.auth.refresh(res.request)) continue;
      }
      if (res.status < 300 || res.status === 304) return { status: res.status, headers: res.headers, json: res.json };
      const error = restError(call.op, call.what, res.status, res.json);
      // A read answered 429/5xx may simply be tried again.
      if ((call.method === 'GET' || call.method === 'HEAD') && (res.status === 429 || res.status >= 500)) throw new RetriableAnswer(error);
      throw error;
    }
  }

  private async exchange(call: RestCall): Promise<{ status: number; headers: Headers; json: JsonValue | undefined; request: RestRequest }> {
    const body = call.body === undefined ? undefined : stringifyJson(call.body);
    const request: RestRequest = {
      method: call.method,
      url: this.url(call.path, call.query),
      headers: {
        accept: 'application/json',
        ...lowerKeys(this.options.headers),
        ...lowerKeys(call.headers ?? {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    };
    await this.options.auth.apply(request);
    let res: Response;
    let text: string;
    try {
      res = await this.options.fetch(request.url, {
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      text = call.method === 'HEAD' ? '' : await res.text();
    } catch (e) {
      throw restTransportError(call.op, call.what, e);
    }
    let json: JsonValue | undefined;
    if (text.trim().length > 0) {
      try {
        json = parseJson(text, `${call.method} ${request.url.pathname}`);
      } catch (e) {
        if (res.status < 300) {
          const error = new FloeError('CATALOG', `catalog: rest: ${call.what}: the server answered with invalid JSON (HTTP ${res.status})`, { cause: e });
          if (call.op === 'commit') throw restTransportError('commit', call.what, error);
          throw error;
        }
        json = undefined; // an error page in HTML or text: the status still tells what happened
      }
    }
    return { status: res.status, headers: res.headers, json, request };
  }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
