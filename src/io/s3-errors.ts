/**
 * Classifying S3 SDK errors: which ones a retry can fix, and which floe error each becomes.
 *
 * The SDK reports a service error by `name` (the S3 error code, e.g. `NoSuchKey`, `SlowDown`) and
 * `$metadata.httpStatusCode`; HEAD responses have no body, so a missing object is only `NotFound`
 * with status 404. Network failures carry a Node `code` (`ECONNRESET`, …).
 */
import { AlreadyExistsError, FloeError, NotFoundError } from '../errors.js';

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  cause?: unknown;
}

function shape(e: unknown): SdkErrorShape {
  return typeof e === 'object' && e !== null ? (e as SdkErrorShape) : {};
}

/** The S3 error code (`NoSuchKey`, `SlowDown`, …) or the JS error name. */
export function s3ErrorName(e: unknown): string {
  const n = shape(e).name;
  return typeof n === 'string' ? n : '';
}

/** The HTTP status of a failed S3 call, when a response was received. */
export function s3ErrorStatus(e: unknown): number | undefined {
  const s = shape(e).$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException']);
const TRANSIENT = new Set([
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  // Another conditional write to the same key is in flight; S3 asks to retry.
  'ConditionalRequestConflict',
  // The body stream ended early (connection dropped mid-response).
  'IncompleteBody',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

function networkCode(e: unknown, depth = 0): string | undefined {
  const s = shape(e);
  if (typeof s.code === 'string' && NETWORK_CODES.has(s.code)) return s.code;
  return depth < 3 && s.cause !== undefined ? networkCode(s.cause, depth + 1) : undefined;
}

/**
 * True when the same call may succeed if tried again: throttling, 5xx, timeouts, dropped
 * connections. Never true for 4xx answers (missing objects, access denied, failed preconditions).
 */
export function isRetriableS3Error(e: unknown): boolean {
  if (e instanceof FloeError) return e.retriable;
  const s = shape(e);
  const name = s3ErrorName(e);
  const status = s3ErrorStatus(e);
  if (THROTTLING.has(name) || TRANSIENT.has(name)) return true;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  if (status !== undefined && status >= 400) return false;
  if (networkCode(e) !== undefined) return true;
  if (s.$retryable !== undefined && s.$retryable !== null) return true;
  // No HTTP response at all and not an abort by the caller: a transport failure.
  return status === undefined && s.$fault === undefined && name !== 'AbortError' && /socket|network|connect|hang up|closed|timed? ?out/i.test(String(s.message ?? ''));
}

/** True for "the object (or its bucket) does not exist". */
export function isS3NotFound(e: unknown): boolean {
  const name = s3ErrorName(e);
  return name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchBucket' || s3ErrorStatus(e) === 404;
}

/** True for a failed `If-None-Match` / `If-Match` precondition (HTTP 412). */
export function isS3PreconditionFailed(e: unknown): boolean {
  return s3ErrorName(e) === 'PreconditionFailed' || s3ErrorStatus(e) === 412;
}

/** A short description of an SDK error: `Name (status): message`. */
export function describeS3Error(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const status = s3ErrorStatus(e);
  const name = e.name && e.name !== 'Error' ? e.name : '';
  const head = [name, status !== undefined ? `(HTTP ${status})` : ''].filter(Boolean).join(' ');
  const msg = e.message && e.message !== name && e.message !== 'UnknownError' ? e.message : '';
  return [head, msg].filter(Boolean).join(': ') || 'unknown error';
}

/**
 * Turns an S3 SDK error into a floe error naming the location: NotFoundError for a missing object,
 * AlreadyExistsError for a failed no-overwrite precondition, otherwise `FloeError('IO')` carrying
 * whether a retry may help, with a hint for access and region problems.
 */
export function s3Error(location: string, action: string, e: unknown): FloeError {
  if (e instanceof FloeError) return e;
  const name = s3ErrorName(e);
  const status = s3ErrorStatus(e);
  if (name === 'NoSuchBucket') {
    const bucket = /^[a-z0-9]+:\/\/([^/]+)/i.exec(location)?.[1] ?? '?';
    if (action === 'read' || action === 'stat') {
      return new NotFoundError(`io: ${location}: not found (bucket '${bucket}' does not exist)`, { cause: e });
    }
    return new FloeError('IO', `io: ${location}: ${action} failed: bucket '${bucket}' does not exist`, { cause: e });
  }
  if (isS3NotFound(e) && action !== 'write' && action !== 'list') return new NotFoundError(`io: ${location}: not found`, { cause: e });
  if (isS3PreconditionFailed(e) && action === 'write') return new AlreadyExistsError(`io: ${location}: already exists`, { cause: e });
  let hint = '';
  if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'ExpiredToken') {
    hint = '; the AWS credentials were rejected';
  } else if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    hint = '; check the AWS credentials (default chain or AWS_PROFILE) and the bucket policy';
  } else if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed') {
    hint = "; the bucket is in another region than the client's (set AWS_REGION)";
  } else if (/region is missing/i.test(String(shape(e).message ?? ''))) {
    hint = '; no AWS region is configured (set AWS_REGION)';
  }
  return new FloeError('IO', `io: ${location}: ${action} failed: ${describeS3Error(e)}${hint}`, {
    cause: e,
    retriable: isRetriableS3Error(e),
  });
}
