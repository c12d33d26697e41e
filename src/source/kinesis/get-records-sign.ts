/**
 * The SigV4 signature of the lean GetRecords request (`get-records-http.ts`), computed by floe.
 *
 * Why floe signs this one call itself: a reader sends the same request shape thousands of times
 * (POST, one path, no query, the same headers but for the body's length, the date and the token),
 * and the SDK's `SignatureV4.signRequest` redoes everything per call: clones the request, sorts
 * and canonicalizes every header, formats the date through `toISOString` and two regular
 * expressions, hashes through its async `Hash` wrapper, and looks its key up by an HMAC of the
 * credentials. In `floe run` reading 64 shards (2M events of 150 bytes, 2,400 calls of ~977
 * records) that was 389 ms of CPU, ~160 µs a call, ~0.19 µs an event, ~5% of floe's CPU. Signing
 * 100,000 calls on one core (3 alternating rounds, 2026-12-07): 41–48 µs a call through the SDK's
 * signer (its key already kept for the day), 7.3–9.7 µs here (bench/notes.md item 35). Real Kinesis returns at most ~1,000 records
 * a call at a shard's full write rate, so the cost per call is not spread over bigger calls.
 *
 * What stays the SDK's: the credentials (the signer's `credentialProvider`, the client's chain,
 * memoized and refreshed by the SDK, asked at every call as the SDK does), the signing key (the
 * signer's own `getSigningKey` derivation, kept for the day by the caller), the region and
 * service (the template's, else the signer's), and the request itself (the template the SDK
 * built). What is floe's: the canonical request of this one shape, with everything constant
 * precomputed once per template (the canonical names and values of the constant headers, in
 * order, the signed-header list, the canonical path), the date formatted from a per-day prefix,
 * and the hashes and HMAC with `node:crypto`. The payload hash header (`x-amz-content-sha256`)
 * is sent when the signer's `applyChecksum` says so, as the SDK does (Kinesis's signer: yes).
 * Nothing here is shared across awaits but what is read before them: calls of many shards sign
 * at once.
 *
 * Used only where it is exact: the signer must have the members read here, the template's
 * headers must be of the expected shapes (string values, names unique ignoring case, no `date`,
 * which the SDK drops), and a probe signed both ways with made-up credentials (with and without
 * a session token) must give the same headers, byte for byte and in order. Otherwise the SDK's
 * signer signs every call, as before. The choice is made once per template.
 */
import * as crypto from 'node:crypto';
import { ALWAYS_UNSIGNABLE_HEADERS, PROXY_HEADER_PATTERN, SEC_HEADER_PATTERN } from '@smithy/signature-v4';

/** Credentials as the signer's provider returns them. */
export interface SigningCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A request as `SignatureV4` reads it. */
export interface SignableRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Uint8Array;
}

/** The signer surface of a request signer (the SDK's `SignatureV4`). */
export interface RequestSigner {
  sign(request: SignableRequest, options: { signingDate: Date; signingRegion?: string; signingService?: string }): Promise<{ headers: Record<string, string> }>;
}

/** The members of the SDK's `SignatureV4` the lean signer reads (checked, not assumed). */
interface SdkSignerMembers extends RequestSigner {
  credentialProvider: () => Promise<SigningCredentials>;
  regionProvider: () => Promise<string>;
  validateResolvedCredentials: (credentials: unknown) => void;
  getSigningKey: (credentials: SigningCredentials, region: string, shortDate: string, service?: string) => Promise<Uint8Array>;
  service: string;
  applyChecksum: boolean;
  uriEscapePath: boolean;
}

/** The request shape every call of one template shares. */
export interface SignedShape {
  protocol: 'http:' | 'https:';
  hostname: string;
  port: number | undefined;
  path: string;
  /** Headers every call sends unchanged (the per-call ones are not among them). */
  headers: Record<string, string>;
  signingRegion: string | undefined;
  signingService: string | undefined;
}

/** Signs one call: the headers to send (the template's, content length, date, token, payload hash, authorization). */
export type GetRecordsSign = (body: Uint8Array, date: Date) => Promise<Record<string, string>>;

const ALGORITHM = 'AWS4-HMAC-SHA256';

/**
 * SHA-256 in hex: Node's one-shot `crypto.hash` where it exists (20.12+; no hash object per
 * call, about 1 µs less per hash here), else a `Hash` object.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: 'hex') => string }).hash;
const sha256Hex: (data: string | Uint8Array) => string =
  typeof oneShot === 'function' ? (data) => oneShot('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');
const DAY_MS = 86_400_000;

/** The value slots of the canonical headers that change per call. */
const enum Slot {
  ContentLength,
  Date,
  Token,
  PayloadHash,
}

/** Canonical header text with the per-call values' places: `parts[0] + v(slots[0]) + parts[1] + …`. */
interface CanonicalLayout {
  parts: string[];
  slots: Slot[];
  signedHeaders: string;
}

/** What is constant per template, computed once. */
interface LeanPlan {
  canonicalPath: string;
  withToken: CanonicalLayout;
  withoutToken: CanonicalLayout;
  headers: Record<string, string>;
  applyChecksum: boolean;
  signingRegion: string | undefined;
  signingService: string | undefined;
  service: string;
}

/** SigV4's canonical header value, as `@smithy/signature-v4` writes it. */
function canonicalValue(v: string): string {
  return v.replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/** True when the SDK would leave this (lower-case) header out of the signature. */
function unsignable(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(ALWAYS_UNSIGNABLE_HEADERS, name) || PROXY_HEADER_PATTERN.test(name) || SEC_HEADER_PATTERN.test(name);
}

/** The SDK's canonical path (its `HttpRequest` default and prefix, then `getCanonicalPath`). */
function canonicalPath(rawPath: string, uriEscapePath: boolean): string {
  const path = rawPath ? (rawPath.charAt(0) !== '/' ? `/${rawPath}` : rawPath) : '/';
  if (!uriEscapePath) return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  const escaped = encodeURIComponent(normalized).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return escaped.replace(/%2F/g, '/');
}

const TOKEN_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function layout(constant: Map<string, string>, perCall: [string, Slot][]): CanonicalLayout {
  const entries: [string, string | Slot][] = [...constant.entries(), ...perCall];
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts: string[] = [];
  const slots: Slot[] = [];
  let text = '';
  entries.forEach(([name, value], i) => {
    text += `${i > 0 ? '\n' : ''}${name}:`;
    if (typeof value === 'string') {
      text += value;
    } else {
      parts.push(text);
      slots.push(value);
      text = '';
    }
  });
  parts.push(text);
  return { parts, slots, signedHeaders: entries.map((e) => e[0]).join(';') };
}

/** The constant parts of the shape's signature, or undefined when the shape is not one signed here exactly. */
function plan(signer: SdkSignerMembers, shape: SignedShape): LeanPlan | undefined {
  const constant = new Map<string, string>();
  const seen = new Set<string>();
  for (const name of Object.keys(shape.headers)) {
    const value = shape.headers[name];
    if (typeof value !== 'string' || !TOKEN_NAME.test(name)) return undefined;
    const lower = name.toLowerCase();
    // A repeated name, a header the SDK drops (`date`) or one floe sets per call: not this shape.
    if (seen.has(lower) || lower === '__proto__' || lower === 'date' || lower === 'authorization' || lower === 'content-length' || lower === 'x-amz-date' || lower === 'x-amz-security-token' || lower === 'x-amz-content-sha256') return undefined;
    seen.add(lower);
    if (!unsignable(lower)) constant.set(lower, canonicalValue(value));
  }
  const perCall: [string, Slot][] = [
    ['content-length', Slot.ContentLength],
    ['x-amz-date', Slot.Date],
  ];
  if (signer.applyChecksum) perCall.push(['x-amz-content-sha256', Slot.PayloadHash]);
  return {
    canonicalPath: canonicalPath(shape.path, signer.uriEscapePath),
    withToken: layout(constant, [...perCall, ['x-amz-security-token', Slot.Token]]),
    withoutToken: layout(constant, perCall),
    headers: { ...shape.headers },
    applyChecksum: signer.applyChecksum,
    signingRegion: shape.signingRegion,
    signingService: shape.signingService,
    service: signer.service,
  };
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/**
 * SigV4's dates (`yyyymmddThhmmssZ` and `yyyymmdd`) as the SDK formats them (`toISOString`
 * without the milliseconds and separators), with the day's part kept while the day lasts.
 */
export class AmzDates {
  private dayStart = Number.NaN;
  private day = '';
  /** The short date of the last {@link AmzDates.long}. */
  short = '';

  /** The long date of `date`; sets {@link AmzDates.short}. @throws RangeError for an invalid date (as the SDK). */
  long(date: Date): string {
    const ms = date.getTime();
    if (!(ms >= this.dayStart && ms < this.dayStart + DAY_MS)) {
      const start = Math.floor(ms / DAY_MS) * DAY_MS;
      const iso = new Date(start).toISOString(); // RangeError when invalid, as the SDK's
      if (iso.length !== 24) {
        // Years outside 0000–9999 (`+010000-…`): the SDK's formula itself, uncached.
        const long = date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
        this.dayStart = Number.NaN;
        this.short = long.slice(0, 8);
        return long;
      }
      this.dayStart = start;
      this.day = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}`;
    }
    this.short = this.day;
    const s = Math.floor((ms - this.dayStart) / 1000);
    return `${this.day}T${TWO_DIGITS[Math.floor(s / 3600)]!}${TWO_DIGITS[Math.floor(s / 60) % 60]!}${TWO_DIGITS[s % 60]!}Z`;
  }
}

/** Where the lean signer gets credentials and keys (the SDK's, or a probe's). */
export interface KeySource {
  credentials: () => Promise<SigningCredentials>;
  signingKey: (credentials: SigningCredentials, region: string, shortDate: string, service?: string) => Promise<Uint8Array>;
}

function leanSign(p: LeanPlan, signer: SdkSignerMembers, source: KeySource): GetRecordsSign {
  const dates = new AmzDates();
  let scopeOf = { shortDate: '', region: '', scope: '' };
  let tokenOf = { token: '', canonical: '' };
  const values: string[] = ['', '', '', ''];
  // The key as a `KeyObject`, made once per key (the source hands out the same bytes all day).
  let keyOf: { bytes: Uint8Array | undefined; key: crypto.KeyObject | undefined } = { bytes: undefined, key: undefined };
  return async (body, date) => {
    // The SDK's order: credentials, region, date, payload hash, key.
    const credentials = await source.credentials();
    signer.validateResolvedCredentials(credentials);
    const region = p.signingRegion ?? (await signer.regionProvider());
    const longDate = dates.long(date);
    const shortDate = dates.short;
    if (scopeOf.shortDate !== shortDate || scopeOf.region !== region) {
      scopeOf = { shortDate, region, scope: `${shortDate}/${region}/${p.signingService ?? p.service}/aws4_request` };
    }
    const scope = scopeOf.scope; // this call's, whatever calls signing meanwhile store
    const payloadHash = sha256Hex(body);
    const token = credentials.sessionToken;
    const l = token ? p.withToken : p.withoutToken;
    const contentLength = String(body.byteLength);
    // `values` is shared by the calls in flight: read only before the next await.
    values[Slot.ContentLength] = contentLength;
    values[Slot.Date] = longDate;
    values[Slot.PayloadHash] = payloadHash;
    if (token) {
      if (tokenOf.token !== token) tokenOf = { token, canonical: canonicalValue(token) };
      values[Slot.Token] = tokenOf.canonical;
    }
    let canonicalHeaders = l.parts[0]!;
    for (let i = 0; i < l.slots.length; i++) canonicalHeaders += values[l.slots[i]!]! + l.parts[i + 1]!;
    const canonicalRequest = `POST\n${p.canonicalPath}\n\n${canonicalHeaders}\n\n${l.signedHeaders}\n${payloadHash}`;
    const key = await source.signingKey(credentials, region, shortDate, p.signingService);
    const stringToSign = `${ALGORITHM}\n${longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    if (keyOf.bytes !== key) keyOf = { bytes: key, key: crypto.createSecretKey(key) };
    const signature = crypto.createHmac('sha256', keyOf.key!).update(stringToSign).digest('hex');
    // The SDK's order of keys: the request's, then date, token, payload hash, authorization.
    // (`Object.assign`, not a spread with more keys: 0.2 µs against 8.5 in V8 here.)
    const headers: Record<string, string> = Object.assign({}, p.headers);
    headers['content-length'] = contentLength;
    headers['x-amz-date'] = longDate;
    if (token) headers['x-amz-security-token'] = token;
    if (p.applyChecksum) headers['x-amz-content-sha256'] = payloadHash;
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${l.signedHeaders}, Signature=${signature}`;
    return headers;
  };
}

/** True when `s` has the members of `SignatureV4` read here. */
function hasSdkMembers(s: unknown): s is SdkSignerMembers {
  const m = s as Partial<Record<keyof SdkSignerMembers, unknown>>;
  return (
    typeof m.sign === 'function' &&
    typeof m.credentialProvider === 'function' &&
    typeof m.regionProvider === 'function' &&
    typeof m.validateResolvedCredentials === 'function' &&
    typeof m.getSigningKey === 'function' &&
    typeof m.service === 'string' &&
    typeof m.applyChecksum === 'boolean' &&
    typeof m.uriEscapePath === 'boolean'
  );
}

/** Made-up credentials of the probe (a token with spaces the canonical form collapses). */
const PROBES: SigningCredentials[] = [
  { accessKeyId: 'AKIDFLOEPROBE', secretAccessKey: 'floe/probe+secret', sessionToken: ' floe  probe\ttoken ' },
  { accessKeyId: 'AKIDFLOEPROBE', secretAccessKey: 'floe/probe+secret' },
];

/**
 * floe's signer of `shape`'s calls, or undefined when it cannot be exact (see the module
 * comment): then `sdkSigner` signs. `keyed` is the signer whose `getSigningKey` gives the key
 * (the SDK's derivation, kept for the day); `sdkSigner` is the SDK's instance itself.
 */
export async function leanGetRecordsSigner(sdkSigner: RequestSigner, keyed: RequestSigner, shape: SignedShape): Promise<GetRecordsSign | undefined> {
  if (!hasSdkMembers(sdkSigner) || !hasSdkMembers(keyed)) return undefined;
  const p = plan(sdkSigner, shape);
  if (p === undefined) return undefined;
  // The probe: both signers on the same made-up credentials, a fixed date and body.
  const date = new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999));
  const body = Buffer.from('{"ShardIterator":"floe-probe","Limit":1}', 'utf8');
  try {
    for (const credentials of PROBES) {
      const sdk = Object.create(sdkSigner) as SdkSignerMembers;
      sdk.credentialProvider = async () => credentials;
      const expected = await sdk.sign(
        { method: 'POST', protocol: shape.protocol, hostname: shape.hostname, ...(shape.port !== undefined ? { port: shape.port } : {}), path: shape.path, query: {}, headers: { ...shape.headers, 'content-length': String(body.byteLength) }, body },
        { signingDate: date, ...(shape.signingRegion !== undefined ? { signingRegion: shape.signingRegion } : {}), ...(shape.signingService !== undefined ? { signingService: shape.signingService } : {}) },
      );
      const ours = await leanSign(p, sdkSigner, { credentials: async () => credentials, signingKey: (c, r, d, s) => sdk.getSigningKey(c, r, d, s) })(body, date);
      if (JSON.stringify(Object.entries(ours)) !== JSON.stringify(Object.entries(expected.headers))) return undefined;
    }
  } catch {
    return undefined;
  }
  return leanSign(p, sdkSigner, { credentials: () => sdkSigner.credentialProvider(), signingKey: (c, r, d, s) => keyed.getSigningKey(c, r, d, s) });
}

/** For tests: floe's signer of `shape` over given credentials and key derivation, without the probe. */
export function leanSignerFor(sdkSigner: RequestSigner, shape: SignedShape, source: KeySource): GetRecordsSign | undefined {
  if (!hasSdkMembers(sdkSigner)) return undefined;
  const p = plan(sdkSigner, shape);
  return p === undefined ? undefined : leanSign(p, sdkSigner, source);
}
