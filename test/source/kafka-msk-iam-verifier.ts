/**
 * The broker side of Amazon MSK IAM authentication, for the test proxy: checks an OAUTHBEARER
 * token the way MSK does, written from the SigV4 specification with node:crypto only (floe signs
 * with `@smithy/signature-v4`; this file shares no code with it), so a token floe makes passes
 * here only if its signature is right.
 *
 * The token (what `aws-msk-iam-sasl-signer-js`, -python and -go make): base64url without padding
 * of the URL `https://kafka.<region>.amazonaws.com/?Action=kafka-cluster%3AConnect&X-Amz-…`,
 * presigned with SigV4 (service `kafka-cluster`, only the `host` header signed, at most 900 s),
 * with a `User-Agent` parameter added AFTER signing (so it is not part of the signature). The
 * signers differ in one detail of the canonical request, its payload hash: the JS signer
 * (`SignatureV4.presign` of a request without body) and the Go signer (`calculateSHA256Hash("")`)
 * use the SHA-256 of the empty string, the Python signer (botocore's `SigV4QueryAuth`) uses
 * `UNSIGNED-PAYLOAD`. MSK accepts tokens of all three, so this verifier accepts either and says
 * which one matched.
 *
 * Checked, each with its own reason (MSK itself answers only `[<request id>]: Access denied`; the
 * reasons are for the tests): canonical base64url, the URL's scheme, host (the configured region),
 * path, no duplicate parameter, `Action` = `kafka-cluster:Connect`, the algorithm, the credential
 * scope (`<access key id>/<date>/<region>/kafka-cluster/aws4_request`, the date that of
 * `X-Amz-Date`), `X-Amz-SignedHeaders` = `host`, `X-Amz-Expires` at most 900, the time window
 * (not before `X-Amz-Date` and not after its expiry, with a clock skew allowance), a known access
 * key id and its session token (required when the key has one, refused when it has none), then
 * the signature recomputed with that key's secret.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { SaslFailure, type OAuthBearerVerifier } from './kafka-sasl-server.js';

/** A key the "IAM" of the test knows: its secret, its session token (temporary credentials), its principal. */
export interface MskIamKey {
  secretAccessKey: string;
  sessionToken?: string;
  /** The principal the broker logs and authorizes (default: the access key id). */
  principal?: string;
}

/** What {@link verifyMskIamToken} checks against. */
export interface MskIamVerifierOptions {
  /** The cluster's region: the token's host and credential scope must name it. */
  region: string;
  /** Access key id → key. */
  keys: Readonly<Record<string, MskIamKey>>;
  /** The broker's clock (default: now). */
  now?: () => Date;
  /** Allowed clock difference each way, ms (default 60 s). */
  clockSkewMs?: number;
}

/** An accepted token. */
export interface MskIamIdentity {
  principal: string;
  accessKeyId: string;
  /** Which canonical payload hash the signature used (see the file comment). */
  payload: 'empty-sha256' | 'UNSIGNED-PAYLOAD';
  /** When the token expires (`X-Amz-Date` + `X-Amz-Expires`), ms since the epoch. */
  expiresAtMs: number;
  userAgent: string | undefined;
  sessionToken: string | undefined;
}

/** The token was refused; `reason` says why (a test asserts it). */
export class MskIamTokenError extends Error {
  constructor(readonly reason: string) {
    super(`MSK IAM token refused: ${reason}`);
  }
}

/** MSK's longest token lifetime (the signers' default). */
export const MSK_MAX_EXPIRES_S = 900;
const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');
const PARAM = {
  action: 'Action',
  algorithm: 'X-Amz-Algorithm',
  credential: 'X-Amz-Credential',
  date: 'X-Amz-Date',
  expires: 'X-Amz-Expires',
  signedHeaders: 'X-Amz-SignedHeaders',
  signature: 'X-Amz-Signature',
  securityToken: 'X-Amz-Security-Token',
  userAgent: 'User-Agent',
} as const;

/** RFC 3986 encoding as SigV4 canonicalizes: unreserved characters kept, every other byte %XX (upper case). */
export function sigv4Encode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();
const sha256Hex = (data: string): string => createHash('sha256').update(data, 'utf8').digest('hex');

/**
 * The SigV4 signature (hex) of a presigned GET with only `host` signed: canonical request, string
 * to sign, signing key, as the SigV4 documentation spells them. `params` are the query parameters
 * that are signed (all but `X-Amz-Signature` and what was added after signing).
 */
export function sigv4PresignedSignature(input: {
  host: string;
  path: string;
  params: ReadonlyArray<readonly [string, string]>;
  payloadHash: string;
  secretAccessKey: string;
  amzDate: string;
  region: string;
  service: string;
}): string {
  const query = input.params
    .map(([k, v]) => [sigv4Encode(k), sigv4Encode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const canonicalRequest = ['GET', input.path, query, `host:${input.host}\n`, 'host', input.payloadHash].join('\n');
  const day = input.amzDate.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, day), input.region), input.service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** Form-style query decoding (`+` is a space), refusing malformed escapes. */
function decodeComponent(s: string, what: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw new MskIamTokenError(`malformed percent-encoding in ${what}`);
  }
}

/** `yyyymmddThhmmssZ` → ms since the epoch, or undefined when it is not a real UTC time. */
function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, se);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== se) return undefined;
  return t;
}

/** Verifies an MSK IAM token (see the file comment); throws {@link MskIamTokenError}. */
export function verifyMskIamToken(token: string, options: MskIamVerifierOptions): MskIamIdentity {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new MskIamTokenError('not base64url without padding');
  const raw = Buffer.from(token, 'base64url');
  if (raw.toString('base64url') !== token) throw new MskIamTokenError('not canonical base64url');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new MskIamTokenError('the decoded token is not UTF-8');
  }
  const host = `kafka.${options.region}.amazonaws.com`;
  const m = /^https:\/\/([^/?#]+)(\/[^?#]*)\?([^#]*)$/.exec(text);
  if (!m) throw new MskIamTokenError('not an https URL with a query');
  if (m[1] !== host) throw new MskIamTokenError(`host ${JSON.stringify(m[1])} is not ${host}`);
  if (m[2] !== '/') throw new MskIamTokenError(`path ${JSON.stringify(m[2])} is not /`);

  const params = new Map<string, string>();
  for (const part of m[3]!.split('&')) {
    const eq = part.indexOf('=');
    if (part === '' || eq <= 0) throw new MskIamTokenError(`malformed query parameter ${JSON.stringify(part)}`);
    const key = decodeComponent(part.slice(0, eq), 'a parameter name');
    const value = decodeComponent(part.slice(eq + 1), key);
    if (params.has(key)) throw new MskIamTokenError(`duplicate parameter ${key}`);
    params.set(key, value);
  }
  const need = (k: string): string => {
    const v = params.get(k);
    if (v === undefined || v === '') throw new MskIamTokenError(`missing ${k}`);
    return v;
  };

  const action = need(PARAM.action);
  if (action !== 'kafka-cluster:Connect') throw new MskIamTokenError(`Action ${JSON.stringify(action)} is not kafka-cluster:Connect`);
  if (need(PARAM.algorithm) !== 'AWS4-HMAC-SHA256') throw new MskIamTokenError(`algorithm ${JSON.stringify(params.get(PARAM.algorithm))} is not AWS4-HMAC-SHA256`);
  const amzDate = need(PARAM.date);
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) throw new MskIamTokenError(`X-Amz-Date ${JSON.stringify(amzDate)} is not yyyymmddThhmmssZ`);
  const scope = need(PARAM.credential).split('/');
  if (scope.length !== 5) throw new MskIamTokenError('X-Amz-Credential is not <key>/<date>/<region>/<service>/aws4_request');
  const [accessKeyId, day, region, service, terminator] = scope as [string, string, string, string, string];
  if (day !== amzDate.slice(0, 8)) throw new MskIamTokenError(`credential date ${day} is not the day of X-Amz-Date ${amzDate}`);
  if (region !== options.region) throw new MskIamTokenError(`credential region ${region} is not ${options.region}`);
  if (service !== 'kafka-cluster') throw new MskIamTokenError(`credential service ${service} is not kafka-cluster`);
  if (terminator !== 'aws4_request') throw new MskIamTokenError(`credential scope ends with ${terminator}, not aws4_request`);
  const signedHeaders = need(PARAM.signedHeaders);
  if (signedHeaders !== 'host') throw new MskIamTokenError(`X-Amz-SignedHeaders ${JSON.stringify(signedHeaders)} is not host`);
  const expiresText = need(PARAM.expires);
  if (!/^[1-9]\d{0,5}$/.test(expiresText)) throw new MskIamTokenError(`X-Amz-Expires ${JSON.stringify(expiresText)} is not a number of seconds`);
  const expires = Number(expiresText);
  if (expires > MSK_MAX_EXPIRES_S) throw new MskIamTokenError(`X-Amz-Expires ${expires} is over ${MSK_MAX_EXPIRES_S} s`);

  const now = (options.now?.() ?? new Date()).getTime();
  const skew = options.clockSkewMs ?? 60_000;
  const expiresAtMs = signedAt + expires * 1000;
  if (signedAt > now + skew) throw new MskIamTokenError(`signed in the future (X-Amz-Date ${amzDate})`);
  if (now > expiresAtMs + skew) throw new MskIamTokenError(`expired at ${new Date(expiresAtMs).toISOString()} (X-Amz-Date ${amzDate}, ${expires} s)`);

  const key = Object.hasOwn(options.keys, accessKeyId) ? options.keys[accessKeyId] : undefined;
  if (!key) throw new MskIamTokenError(`unknown access key id ${accessKeyId}`);
  const sessionToken = params.get(PARAM.securityToken);
  if (key.sessionToken !== undefined && sessionToken !== key.sessionToken) {
    throw new MskIamTokenError(sessionToken === undefined ? 'missing X-Amz-Security-Token (temporary credentials)' : 'X-Amz-Security-Token does not match the key');
  }
  if (key.sessionToken === undefined && sessionToken !== undefined) throw new MskIamTokenError('X-Amz-Security-Token given for a long-term key');

  const signature = need(PARAM.signature);
  if (!/^[0-9a-f]{64}$/.test(signature)) throw new MskIamTokenError('X-Amz-Signature is not 64 lower-case hex digits');
  const signed = [...params].filter(([k]) => k !== PARAM.signature && k !== PARAM.userAgent);
  const given = Buffer.from(signature, 'hex');
  for (const [payload, payloadHash] of [['empty-sha256', EMPTY_SHA256], ['UNSIGNED-PAYLOAD', 'UNSIGNED-PAYLOAD']] as const) {
    const expected = sigv4PresignedSignature({ host, path: '/', params: signed, payloadHash, secretAccessKey: key.secretAccessKey, amzDate, region, service });
    if (timingSafeEqual(Buffer.from(expected, 'hex'), given)) {
      return { principal: key.principal ?? accessKeyId, accessKeyId, payload, expiresAtMs, userAgent: params.get(PARAM.userAgent), sessionToken };
    }
  }
  throw new MskIamTokenError('the signature does not match (wrong secret access key, or the URL was changed after signing)');
}

/**
 * Signs an MSK IAM token with this file's SigV4 (for tests that need a token floe would not make:
 * another action, region or lifetime, a Python-style `UNSIGNED-PAYLOAD` signature). `params`
 * replace or add query parameters before signing (a `null` value removes one).
 */
export function signMskIamTokenForTest(input: {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  date: Date;
  expires?: number;
  payload?: 'empty-sha256' | 'UNSIGNED-PAYLOAD';
  host?: string;
  /** The credential scope's region and service (default: `region`, kafka-cluster). */
  scopeRegion?: string;
  service?: string;
  params?: Readonly<Record<string, string | null>>;
  userAgent?: string;
}): string {
  const amzDate = input.date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const scopeRegion = input.scopeRegion ?? input.region;
  const service = input.service ?? 'kafka-cluster';
  const host = input.host ?? `kafka.${input.region}.amazonaws.com`;
  const p = new Map<string, string>([
    [PARAM.action, 'kafka-cluster:Connect'],
    [PARAM.algorithm, 'AWS4-HMAC-SHA256'],
    [PARAM.credential, `${input.accessKeyId}/${amzDate.slice(0, 8)}/${scopeRegion}/${service}/aws4_request`],
    [PARAM.date, amzDate],
    [PARAM.expires, String(input.expires ?? MSK_MAX_EXPIRES_S)],
    [PARAM.signedHeaders, 'host'],
  ]);
  if (input.sessionToken !== undefined) p.set(PARAM.securityToken, input.sessionToken);
  for (const [k, v] of Object.entries(input.params ?? {})) {
    if (v === null) p.delete(k);
    else p.set(k, v);
  }
  const payloadHash = input.payload === 'UNSIGNED-PAYLOAD' ? 'UNSIGNED-PAYLOAD' : EMPTY_SHA256;
  const signature = sigv4PresignedSignature({ host, path: '/', params: [...p], payloadHash, secretAccessKey: input.secretAccessKey, amzDate, region: scopeRegion, service });
  p.set(PARAM.signature, signature);
  if (input.userAgent !== undefined) p.set(PARAM.userAgent, input.userAgent);
  const url = `https://${host}/?${[...p].map(([k, v]) => `${sigv4Encode(k)}=${sigv4Encode(v)}`).join('&')}`;
  return Buffer.from(url, 'utf8').toString('base64url');
}

/**
 * The OAUTHBEARER verifier of an MSK IAM listener (for `kafka-auth-proxy.ts`): a refused token is
 * a {@link SaslFailure} shaped like MSK's answer, `[<request id>]: Access denied`, with this
 * verifier's reason appended in parentheses; `onAccepted` sees every accepted token.
 */
export function mskIamOAuthBearer(options: MskIamVerifierOptions, onAccepted?: (identity: MskIamIdentity) => void): OAuthBearerVerifier {
  return (token) => {
    let identity: MskIamIdentity;
    try {
      identity = verifyMskIamToken(token, options);
    } catch (e) {
      if (e instanceof MskIamTokenError) throw new SaslFailure(`[${randomUUID()}]: Access denied (${e.reason})`);
      throw e;
    }
    onAccepted?.(identity);
    return { principal: identity.principal, expiresAtMs: identity.expiresAtMs };
  };
}
