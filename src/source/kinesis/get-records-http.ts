/**
 * GetRecords without the SDK's per-call machinery: the hot call of a shard reader, sent by floe
 * itself. With many shards the SDK's work per command (a middleware stack built per command,
 * endpoint rules, user agent, retry bookkeeping, signing through its auth scheme resolution) was
 * 14–21% of the reader's CPU, more than the records it brought (bench/notes.md items 28 and 29).
 *
 * What is the SDK's still: everything resolved once per source, by the SDK itself, from a
 * template command that runs the client's own middleware up to the signature and is stopped
 * there (nothing is sent): the endpoint (the client's config, `AWS_ENDPOINT_URL_KINESIS`, endpoint
 * rules with the stream's ARN, FIPS, dual stack), the constant headers (host, content type,
 * target, user agent), the signing region and service, and the signer (the client's own
 * `SignatureV4`, from `@smithy/signature-v4`, over the client's credential provider chain, which
 * memoizes and refreshes credentials; the signing key is the signer's own derivation, kept for
 * the day). Per call floe writes the body (`{"ShardIterator":…,"Limit":…}` + the stream's
 * ARN, the SDK's member order), signs it at the SDK's clock-skew-corrected time (SigV4 computed
 * by floe over the SDK's credentials and key where that is exact, `get-records-sign.ts`: the
 * SDK's `signRequest` cost ~44 µs a call; else by the SDK's signer), and sends it
 * with the client's connection and request timeouts and the reader's abort signal: by default
 * over floe's own keep-alive connections (`wire-http.ts`: each response read into one buffer
 * reused by its connection, bench/notes.md item 31), with `FLOE_KINESIS_HTTP=node` over Node's
 * client and the client's own agents (same sockets, same `maxSockets`).
 *
 * Responses: a 200 JSON body is read as bytes into a `RecordsPage`, as the SDK path does. Any
 * other response (an error, a 200 in another protocol) is handed, as received, to the SDK's own
 * deserializer through a command whose HTTP handler is replaced by that response, so errors are
 * the SDK's errors exactly (names, `$fault`, `$metadata`, clock-skew correction). Network
 * failures, timeouts and aborts are shaped as the SDK's HTTP handler shapes them (`TimeoutError`
 * for ECONNRESET/EPIPE/ETIMEDOUT and timeouts, `AbortError`), so `classifyKinesisError` and
 * `isUnreachableError` read both paths alike.
 *
 * Used only where it is exactly equivalent: a client built by `kinesisClientFromEnv` (its agents
 * are known) with `maxAttempts: 1` (floe's readers retry; with SDK retries the SDK path is kept).
 * Any other client goes through the SDK (`getRecordsCommand`).
 */
import { request as httpRequest, type Agent as HttpAgent, type IncomingMessage, type ClientRequest, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type Agent as HttpsAgent } from 'node:https';
import { GetRecordsCommand, type GetRecordsCommandInput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { getRecordsCommand, isJson, joinChunks, pageOutput, type GetRecordsPageOutput } from './get-records.js';
import { parseRecordsPage } from './records-page.js';
import { abortError, type WireEndpoint, type WirePool } from './wire-http.js';
import { leanGetRecordsSigner, type GetRecordsSign, type RequestSigner, type SignableRequest, type SignedShape, type SigningCredentials } from './get-records-sign.js';

/** The agents and timeouts of a client built by `kinesisClientFromEnv`. */
export interface LeanTransport {
  httpAgent: HttpAgent;
  httpsAgent: HttpsAgent;
  /** Time allowed to establish a connection (the SDK handler's `connectionTimeout`). */
  connectionTimeoutMs: number;
  /** Time allowed for a whole call (the SDK handler's `requestTimeout`). */
  requestTimeoutMs: number;
  /**
   * floe's own HTTP/1.1 connections (`wire-http.ts`: responses read into one reused buffer per
   * connection); absent: Node's HTTP client over the agents above (a proxy, or
   * `FLOE_KINESIS_HTTP=node`, the A/B switch of bench/notes.md item 31).
   */
  wire?: WirePool;
}

const transports = new WeakMap<KinesisClient, LeanTransport>();

/** Records the agents a client's HTTP handler uses, making its GetRecords eligible for the lean path. */
export function registerLeanTransport(client: KinesisClient, transport: LeanTransport): void {
  transports.set(client, transport);
}

/**
 * How the readers' GetRecords of `client` are sent: floe's own connections (`wire`), Node's
 * client over the client's agents (`node-http`), or undefined (not a `kinesisClientFromEnv`
 * client: the SDK sends them). Also their open connections and waiting calls, for the read stats.
 */
export function leanTransportOf(client: unknown): { kind: 'wire' | 'node-http'; counts: () => { sockets: number; queued: number } | undefined } | undefined {
  const t = transports.get(client as KinesisClient);
  if (t === undefined) return undefined;
  const wire = t.wire;
  return wire !== undefined ? { kind: 'wire', counts: () => wire.counts() } : { kind: 'node-http', counts: () => undefined };
}

/** One GetRecords call: the input, a callback told the JSON body's size, the reader's signal. */
export type GetRecordsCaller = (input: GetRecordsCommandInput, onBody: (bytes: number) => void, signal: AbortSignal) => Promise<GetRecordsPageOutput>;


/** What a template command resolved (once per source). */
export interface GetRecordsTemplate {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number | undefined;
  path: string;
  /** Headers every call sends unchanged (host, content type, target, user agent). */
  headers: Record<string, string>;
  /** The SDK's signer (its signing key kept for the day): the fallback of `lean`. */
  signer: RequestSigner;
  /**
   * floe's own SigV4 of this request shape (`get-records-sign.ts`), chosen once per template;
   * undefined where it could not be exact (then `signer` signs every call).
   */
  lean: GetRecordsSign | undefined;
  signingRegion: string | undefined;
  signingService: string | undefined;
  /** `,"StreamARN":"…"}` or `}`: the end of every body. */
  bodySuffix: string;
  /** False when the client disables clock-skew correction (then signed at the local time). */
  skewCorrection: boolean;
}

/** Headers the SDK adds per call (or per signature) that floe does not send or sets itself. */
const PER_CALL_HEADERS = new Set(['amz-sdk-invocation-id', 'amz-sdk-request', 'content-length', 'x-amz-date', 'authorization', 'x-amz-security-token', 'x-amz-content-sha256']);

/** Loose view of the client's resolved config (members of `KinesisClientResolvedConfig`). */
interface SigningConfig {
  maxAttempts: () => Promise<number>;
  signer: (authScheme?: unknown) => Promise<RequestSigner>;
  systemClockOffset?: number;
  disableClockSkewCorrection?: () => Promise<boolean>;
}

/** Thrown by the template's middleware to stop the command before anything is signed or sent. */
class TemplateCaptured extends Error {}

/**
 * Resolves what every lean GetRecords of `client` on `stream` shares, through the SDK's own
 * middleware (see the module comment); undefined when the client is not eligible.
 * @throws what the SDK would throw for a GetRecords before sending it (no region, no credentials)
 */
export async function resolveGetRecordsTemplate(client: KinesisClient, stream: { StreamName: string } | { StreamARN: string }): Promise<GetRecordsTemplate | undefined> {
  const config = client.config as unknown as SigningConfig;
  if (!transports.has(client) || typeof config.signer !== 'function') return undefined;
  if ((await config.maxAttempts()) !== 1) return undefined;
  const streamArn = 'StreamARN' in stream ? stream.StreamARN : undefined;
  const command = new GetRecordsCommand({ ShardIterator: 'floe-template', Limit: 1, ...(streamArn !== undefined ? { StreamARN: streamArn } : {}) });
  let captured: { request: SignableRequest; context: Record<string, unknown> } | undefined;
  type Middleware = Parameters<typeof command.middlewareStack.addRelativeTo>[0];
  const capture = (_next: unknown, context: Record<string, unknown>) => async (args: { request: unknown }) => {
    captured = { request: args.request as SignableRequest, context };
    throw new TemplateCaptured('kinesis: GetRecords template captured');
  };
  command.middlewareStack.addRelativeTo(capture as unknown as Middleware, { name: 'floeGetRecordsTemplate', relation: 'before', toMiddleware: 'httpSigningMiddleware' });
  try {
    await client.send(command);
  } catch (e) {
    if (!(e instanceof TemplateCaptured) || captured === undefined) throw e;
  }
  if (captured === undefined) return undefined;
  const { request, context } = captured;
  if (request.protocol !== 'http:' && request.protocol !== 'https:') return undefined;
  if (request.query !== undefined && Object.keys(request.query).length > 0) return undefined;
  const endpointV2 = context.endpointV2 as { properties?: { authSchemes?: { name?: string; signingName?: string; signingRegion?: string }[] } } | undefined;
  const authScheme = endpointV2?.properties?.authSchemes?.[0];
  if (authScheme !== undefined && authScheme.name !== undefined && authScheme.name !== 'sigv4') return undefined;
  const smithy = context.__smithy_context as { selectedHttpAuthScheme?: { httpAuthOption?: { schemeId?: string; signingProperties?: { signingRegion?: string; signingName?: string } } } } | undefined;
  const option = smithy?.selectedHttpAuthScheme?.httpAuthOption;
  if (option?.schemeId !== undefined && option.schemeId !== 'aws.auth#sigv4') return undefined;
  const headers: Record<string, string> = {};
  for (const k in request.headers) {
    if (!PER_CALL_HEADERS.has(k.toLowerCase())) headers[k] = request.headers[k]!;
  }
  // The client's own signer, as its signing middleware gets it for this endpoint.
  const sdkSigner = await config.signer(authScheme);
  const signer = withDailyKey(sdkSigner);
  const shape: SignedShape = {
    protocol: request.protocol,
    hostname: request.hostname,
    port: request.port,
    path: request.path,
    headers,
    signingRegion: option?.signingProperties?.signingRegion ?? authScheme?.signingRegion,
    signingService: option?.signingProperties?.signingName ?? authScheme?.signingName,
  };
  return {
    ...shape,
    signer,
    lean: await leanGetRecordsSigner(sdkSigner, signer, shape),
    bodySuffix: streamArn !== undefined ? `,"StreamARN":${JSON.stringify(streamArn)}}` : '}',
    skewCorrection: (await config.disableClockSkewCorrection?.()) !== true,
  };
}


/**
 * The SDK's signer with its signing key kept for the day: `SignatureV4` derives the key once per
 * day too, but finds it by an HMAC of the credentials, one more HMAC per call. The key is still
 * the package's own derivation (its `getSigningKey`), asked again whenever the day, region,
 * service or any part of the credentials changes (a refresh). The SDK's instance is not changed:
 * this is an object whose prototype it is.
 */
function withDailyKey(sdkSigner: RequestSigner): RequestSigner {
  type Derive = (credentials: SigningCredentials, region: string, shortDate: string, service?: string) => Promise<Uint8Array>;
  const derive = (sdkSigner as unknown as { getSigningKey?: Derive }).getSigningKey;
  if (typeof derive !== 'function') return sdkSigner;
  let cached: { accessKeyId: string; secretAccessKey: string; sessionToken: string | undefined; region: string; shortDate: string; service: string | undefined; key: Promise<Uint8Array> } | undefined;
  const signer = Object.create(sdkSigner) as RequestSigner & { getSigningKey: Derive };
  signer.getSigningKey = function (this: unknown, credentials, region, shortDate, service) {
    const c = cached;
    if (
      c !== undefined &&
      c.shortDate === shortDate &&
      c.region === region &&
      c.service === service &&
      c.accessKeyId === credentials.accessKeyId &&
      c.secretAccessKey === credentials.secretAccessKey &&
      c.sessionToken === credentials.sessionToken
    ) {
      return c.key;
    }
    const key = derive.call(sdkSigner, credentials, region, shortDate, service);
    cached = { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken, region, shortDate, service, key };
    key.catch(() => {
      if (cached?.key === key) cached = undefined;
    });
    return key;
  };
  return signer;
}

/** The JSON body of a call, in the SDK's member order (ShardIterator, Limit, StreamARN). */
export function getRecordsBody(template: GetRecordsTemplate, input: GetRecordsCommandInput): Buffer {
  const limit = input.Limit !== undefined ? `,"Limit":${input.Limit}` : '';
  return Buffer.from(`{"ShardIterator":${JSON.stringify(input.ShardIterator)}${limit}${template.bodySuffix}`, 'utf8');
}

/** The time the SDK would sign at: its clock corrected by the skew it measured from the service. */
function signingDate(client: KinesisClient, template: GetRecordsTemplate): Date {
  if (!template.skewCorrection) return new Date();
  const offset = (client.config as unknown as SigningConfig).systemClockOffset ?? 0;
  return new Date(Date.now() + offset);
}

/**
 * The signed headers of a call (what is sent): the template's constant headers, content length,
 * and the signer's date, payload hash, session token and authorization. Signed by floe
 * (`template.lean`) where that is exact, else by the SDK's signer ({@link sdkSignGetRecords}).
 */
export function signGetRecords(template: GetRecordsTemplate, body: Buffer, date: Date): Promise<Record<string, string>> {
  return template.lean !== undefined ? template.lean(body, date) : sdkSignGetRecords(template, body, date);
}

/** {@link signGetRecords} through the SDK's signer (the fallback; the reference of the tests). */
export async function sdkSignGetRecords(template: GetRecordsTemplate, body: Buffer, date: Date): Promise<Record<string, string>> {
  const headers: Record<string, string> = { ...template.headers, 'content-length': String(body.byteLength) };
  const signed = await template.signer.sign(
    { method: 'POST', protocol: template.protocol, hostname: template.hostname, ...(template.port !== undefined ? { port: template.port } : {}), path: template.path, query: {}, headers, body },
    { signingDate: date, ...(template.signingRegion !== undefined ? { signingRegion: template.signingRegion } : {}), ...(template.signingService !== undefined ? { signingService: template.signingService } : {}) },
  );
  return signed.headers;
}

/** Socket errors the SDK handler renames `TimeoutError` (its NODEJS_TIMEOUT_ERROR_CODES). */
const TIMEOUT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** A response as received: status, headers (lower case, repeated ones joined), body bytes. */
interface ReceivedResponse {
  statusCode: number;
  reason: string | undefined;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** Headers as the SDK handler gives them (`getTransformedHeaders`). */
function transformedHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in h) {
    const v = h[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}

/**
 * Hands a response the lean path does not read to the SDK's deserializer, through a GetRecords
 * command whose HTTP handler is replaced by that response: the output (a 200 in another
 * protocol, read by `getRecordsCommand`'s own middleware) or the error is the SDK's.
 */
async function throughSdk(client: KinesisClient, input: GetRecordsCommandInput, response: ReceivedResponse, onBody: (bytes: number) => void, signal: AbortSignal, native: boolean): Promise<GetRecordsPageOutput> {
  const command = getRecordsCommand(input, onBody, true, native);
  type Middleware = Parameters<typeof command.middlewareStack.addRelativeTo>[0];
  const replay = () => async () => ({ response: { ...response }, output: {} });
  // Innermost: after floe's body middleware, which sits after the deserializer.
  command.middlewareStack.addRelativeTo(replay as unknown as Middleware, { name: 'floeGetRecordsReplay', relation: 'after', toMiddleware: 'floeGetRecordsBody' });
  return (await client.send(command, { abortSignal: signal })) as GetRecordsPageOutput;
}

/** Sends one request and resolves with the response headers (timeouts and aborts as the SDK's). */
function send(template: GetRecordsTemplate, transport: LeanTransport, headers: OutgoingHttpHeaders, body: Buffer, signal: AbortSignal): Promise<{ req: ClientRequest; res: IncomingMessage; done: () => void; fail: (e: Error) => void; failed: Promise<never> }> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortError(signal));
      return;
    }
    const https = template.protocol === 'https:';
    let hostname = template.hostname;
    if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
    const req = (https ? httpsRequest : httpRequest)({
      host: hostname,
      ...(template.port !== undefined ? { port: template.port } : {}),
      method: 'POST',
      path: template.path,
      headers,
      agent: https ? transport.httpsAgent : transport.httpAgent,
    });
    // After the headers, errors (a body cut short, a timeout, an abort) reach the body reader.
    let onLateError: ((e: Error) => void) | undefined;
    let settled = false;
    const fail = (e: Error): void => {
      if (!settled) {
        settled = true;
        cleanup();
        reject(e);
      } else {
        onLateError?.(e);
      }
    };
    const onAbort = (): void => {
      req.destroy();
      fail(abortError(signal));
    };
    // The whole call, headers and body, within the request timeout (the SDK's covers the headers).
    const timer = setTimeout(() => {
      const e = Object.assign(new Error(`@smithy/node-http-handler - [ERROR] a request has exceeded the configured ${transport.requestTimeoutMs} ms requestTimeout.`), {
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
      });
      req.destroy(e);
      fail(e);
    }, transport.requestTimeoutMs);
    let connectTimer: NodeJS.Timeout | undefined;
    const cleanup = (): void => {
      clearTimeout(timer);
      if (connectTimer !== undefined) clearTimeout(connectTimer);
      signal.removeEventListener('abort', onAbort);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('socket', (socket) => {
      if (!socket.connecting || transport.connectionTimeoutMs <= 0) return;
      connectTimer = setTimeout(() => {
        req.destroy();
        fail(
          Object.assign(
            new Error(`@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of ${transport.connectionTimeoutMs} ms.`),
            { name: 'TimeoutError' },
          ),
        );
      }, transport.connectionTimeoutMs);
      socket.once('connect', () => {
        if (connectTimer !== undefined) clearTimeout(connectTimer);
      });
    });
    req.on('error', (err: Error & { code?: string }) => {
      if (err.code !== undefined && TIMEOUT_CODES.has(err.code) && err.name !== 'TimeoutError') err.name = 'TimeoutError';
      fail(err);
    });
    const failed = new Promise<never>((_, rej) => {
      onLateError = rej;
    });
    failed.catch(() => {}); // observed by the body reader only when it waits
    req.once('response', (res) => {
      if (settled) {
        res.resume();
        return;
      }
      settled = true;
      resolve({
        req,
        res,
        done: cleanup,
        fail: (e) => {
          cleanup();
          onLateError?.(e);
        },
        failed,
      });
    });
    req.end(body);
  });
}

/** Reads a response body into chunks; the caller joins them. */
function readBody(res: IncomingMessage, failed: Promise<never>): Promise<{ chunks: Buffer[]; total: number }> {
  const read = new Promise<{ chunks: Buffer[]; total: number }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (c: Buffer) => {
      chunks.push(c);
      total += c.byteLength;
    });
    res.once('end', () => resolve({ chunks, total }));
    res.once('error', reject);
    // A response whose socket closed before its end (Node then says `aborted`, code ECONNRESET).
    res.once('aborted', () => reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
  });
  return Promise.race([read, failed]);
}

/**
 * The GetRecords function of a source's readers: the lean path when the client is eligible
 * (resolved at the first call, again after a failure to resolve), the SDK's otherwise. Bodies
 * are read by the native reader first unless `native` is false (`parseRecordsPage`).
 */
export function getRecordsCaller(client: KinesisClient, stream: { StreamName: string } | { StreamARN: string }, native = true): GetRecordsCaller {
  const transport = transports.get(client);
  const sdk: GetRecordsCaller = async (input, onBody, signal) => (await client.send(getRecordsCommand(input, onBody, true, native), { abortSignal: signal })) as GetRecordsPageOutput;
  if (transport === undefined) return sdk;
  let template: Promise<GetRecordsTemplate | undefined> | undefined;
  return async (input, onBody, signal) => {
    template ??= resolveGetRecordsTemplate(client, stream);
    let t: GetRecordsTemplate | undefined;
    try {
      t = await template;
    } catch (e) {
      template = undefined; // resolved again at the next call (credentials may come later)
      throw e;
    }
    if (t === undefined) return sdk(input, onBody, signal);
    const body = getRecordsBody(t, input);
    const headers = await signGetRecords(t, body, signingDate(client, t));
    if (transport.wire !== undefined) return overWire(client, transport.wire, t, input, headers, body, onBody, signal, native);
    const call = await send(t, transport, headers, body, signal);
    const { res } = call;
    let received: { chunks: Buffer[]; total: number };
    try {
      received = await readBody(res, call.failed);
    } catch (e) {
      call.fail(e as Error);
      res.destroy();
      if (signal.aborted) throw abortError(signal);
      throw e;
    }
    call.done();
    const status = res.statusCode ?? -1;
    const responseHeaders = transformedHeaders(res.headers);
    if (t.skewCorrection) observeClock(client, responseHeaders);
    if (status !== 200 || !isJson(responseHeaders)) {
      const bytes = joinChunks(received.chunks, received.total, false);
      return throughSdk(client, input, { statusCode: status, reason: res.statusMessage, headers: responseHeaders, body: bytes }, onBody, signal, native);
    }
    // No await from here until the parse is done: the bytes may be the shared scratch buffer.
    const bytes = joinChunks(received.chunks, received.total, true);
    onBody(bytes.byteLength);
    const output = pageOutput(parseRecordsPage(bytes, native)) as GetRecordsPageOutput;
    output.$metadata = { httpStatusCode: 200, requestId: responseHeaders['x-amzn-requestid'], attempts: 1, totalRetryDelay: 0 };
    return output;
  };
}

/** Where a template sends (host without IPv6 brackets, the scheme's port when none is given). */
function wireEndpoint(t: GetRecordsTemplate): WireEndpoint {
  let host = t.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { protocol: t.protocol, host, port: t.port ?? (t.protocol === 'https:' ? 443 : 80) };
}

/**
 * The request line and headers as bytes go out: the signed headers as they are, `Host` when the
 * signer's set lacks it (Node's client adds it too), keep-alive as Node's agents ask for it.
 */
export function wireRequestHead(t: GetRecordsTemplate, headers: Record<string, string>): string {
  let head = `POST ${t.path} HTTP/1.1\r\n`;
  let host = false;
  for (const k in headers) {
    const v = headers[k]!;
    // Values come from the template and the signer; a CR or LF would split the request.
    if (/[\r\n]/.test(v) || /[\r\n:]/.test(k)) throw new Error(`kinesis: GetRecords header ${JSON.stringify(k)} has a line break`);
    if (k.toLowerCase() === 'host') host = true;
    head += `${k}: ${v}\r\n`;
  }
  if (!host) head += `Host: ${t.hostname}${t.port !== undefined ? `:${t.port}` : ''}\r\n`;
  return `${head}Connection: keep-alive\r\n\r\n`;
}

/**
 * One call over floe's own connections (`wire-http.ts`): a 200 JSON body is parsed straight from
 * the connection's buffer, synchronously, before the connection is released (the page holds
 * copies only: `parseRecordsPage` builds its columns in an allocation of its own); any other
 * response is copied out first and handed to the SDK's deserializer, as on Node's client.
 */
async function overWire(
  client: KinesisClient,
  wire: WirePool,
  t: GetRecordsTemplate,
  input: GetRecordsCommandInput,
  headers: Record<string, string>,
  body: Buffer,
  onBody: (bytes: number) => void,
  signal: AbortSignal,
  native: boolean,
): Promise<GetRecordsPageOutput> {
  const res = await wire.request(wireEndpoint(t), wireRequestHead(t, headers), body, signal);
  if (t.skewCorrection) observeClock(client, res.headers);
  if (res.statusCode !== 200 || !isJson(res.headers)) {
    const copy = Buffer.from(res.body); // the connection's buffer is reused once released
    res.release();
    return throughSdk(client, input, { statusCode: res.statusCode, reason: res.reason, headers: res.headers, body: copy }, onBody, signal, native);
  }
  try {
    onBody(res.body.byteLength);
    const output = pageOutput(parseRecordsPage(res.body, native)) as GetRecordsPageOutput;
    output.$metadata = { httpStatusCode: 200, requestId: res.headers['x-amzn-requestid'], attempts: 1, totalRetryDelay: 0 };
    return output;
  } finally {
    res.release();
  }
}

/**
 * What the SDK's signer does after each success: the clock offset from the response's `Date`
 * (unless an `Age` says it came from a cache), so that signatures stay valid on a skewed clock.
 */
function observeClock(client: KinesisClient, headers: Record<string, string>): void {
  const date = headers.date;
  if (date === undefined || headers.age !== undefined) return;
  const serverTime = Date.parse(date);
  if (Number.isNaN(serverTime)) return;
  (client.config as unknown as SigningConfig).systemClockOffset = serverTime - Date.now();
}
