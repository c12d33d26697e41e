/**
 * The REST catalog's error model (`IcebergErrorResponse`: `{ error: { message, type, code } }`)
 * mapped to floe's errors and back.
 *
 * Client side, the `type` decides when it is one floe knows (NoSuchTableException, …); otherwise
 * the status and the operation do, as the spec describes each route's answers:
 * - 404: NoSuchTable for table routes, NoSuchNamespace for namespace routes;
 * - 409: CommitConflict on a commit, NamespaceNotEmpty on a namespace drop, otherwise AlreadyExists;
 * - 400/422: ValidationError; 401/403/419: a clear `AUTH` error; 406/501: UnsupportedError;
 * - 5xx on a commit (and 503, which may have been partially processed): CommitStateUnknown, as is
 *   any commit whose answer never arrived (timeout, dropped connection). Never retried blindly.
 * - a request that provably never left (connection refused, DNS): CatalogUnreachable, retriable
 *   for every operation, a commit included (`requestNotSent`).
 */
import {
  AlreadyExistsError,
  CatalogUnreachableError,
  CommitConflictError,
  CommitStateUnknownError,
  FloeError,
  NamespaceNotEmptyError,
  NoSuchNamespaceError,
  NoSuchTableError,
  NotFoundError,
  UnsupportedError,
  ValidationError,
} from '../../errors.js';

/** The operations of the client, for error mapping. */
export type RestOperation =
  | 'config'
  | 'list-namespaces'
  | 'create-namespace'
  | 'load-namespace'
  | 'namespace-exists'
  | 'update-namespace'
  | 'drop-namespace'
  | 'list-tables'
  | 'create-table'
  | 'load-table'
  | 'table-exists'
  | 'drop-table'
  | 'rename-table'
  | 'register-table'
  | 'commit';

/** The spec's ErrorModel. */
export interface RestErrorModel {
  message: string;
  type: string;
  code: number;
  stack?: string[];
}

/** Extracts the ErrorModel from a response body, if it has one. */
export function parseErrorModel(body: unknown): RestErrorModel | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const e = (body as { error?: unknown }).error;
  if (typeof e !== 'object' || e === null) return undefined;
  const { message, type, code } = e as Record<string, unknown>;
  return {
    message: typeof message === 'string' ? message : '',
    type: typeof type === 'string' ? type : '',
    code: typeof code === 'number' ? code : 0,
  };
}

const TABLE_OPS: ReadonlySet<RestOperation> = new Set(['load-table', 'table-exists', 'drop-table', 'rename-table', 'commit']);

/**
 * The floe error for a failed REST call.
 * @param what names the thing operated on, e.g. `table db.events` or `namespace db`
 * @param status HTTP status of the answer
 * @param body the parsed JSON body, if any (an ErrorModel)
 */
export function restError(op: RestOperation, what: string, status: number, body: unknown): FloeError {
  const model = parseErrorModel(body);
  const type = model?.type ?? '';
  const detail = model?.message ? `: ${model.message}` : '';
  const typed = type ? ` ${type}` : '';
  const msg = (text: string) => `catalog: rest: ${what}: ${text} (HTTP ${status}${typed})${detail}`;
  if (op === 'commit') {
    if (status === 409 || type === 'CommitFailedException') return new CommitConflictError(msg('commit conflicted; reload and retry'));
    if (type === 'CommitStateUnknownException' || status >= 500) {
      return new CommitStateUnknownError(msg('commit outcome unknown; reload the table to see whether it was applied'));
    }
  }
  switch (type) {
    case 'NoSuchTableException':
      return new NoSuchTableError(msg('table does not exist'));
    case 'NoSuchNamespaceException':
      return new NoSuchNamespaceError(msg('namespace does not exist'));
    case 'AlreadyExistsException':
      return new AlreadyExistsError(msg('already exists'));
    case 'NamespaceNotEmptyException':
      return new NamespaceNotEmptyError(msg('namespace is not empty'));
    case 'NotFoundException':
      if (status === 404 && op !== 'config') return new NotFoundError(msg('not found'));
      break;
    default:
      break;
  }
  if (status === 404) {
    if (op === 'config') return new FloeError('CATALOG', msg('not an Iceberg REST catalog endpoint (GET /v1/config not found)'));
    if (TABLE_OPS.has(op)) return new NoSuchTableError(msg('table does not exist'));
    return new NoSuchNamespaceError(msg('namespace does not exist'));
  }
  if (status === 409) {
    if (op === 'drop-namespace') return new NamespaceNotEmptyError(msg('namespace is not empty'));
    return new AlreadyExistsError(msg('already exists'));
  }
  if (status === 400 || status === 422) return new ValidationError(msg('request rejected'));
  if (status === 401) return new FloeError('AUTH', msg('not authorized; check the catalog token or credentials'));
  if (status === 403) return new FloeError('AUTH', msg('forbidden; the credentials lack permission for this'));
  if (status === 419) return new FloeError('AUTH', msg('credentials expired and could not be refreshed'));
  if (status === 406 || status === 501) return new UnsupportedError(msg('not supported by this catalog server'));
  return new FloeError('CATALOG', msg('request failed'), { retriable: status === 429 || status >= 500 });
}

/**
 * The floe error for a call whose answer never arrived (network failure, timeout). A failure that
 * provably never sent the request ({@link requestNotSent}) is a CatalogUnreachableError for every
 * operation, a commit included: nothing was applied and the same request may be sent again.
 */
export function restTransportError(op: RestOperation, what: string, e: unknown): FloeError {
  const why = describeTransport(e);
  if (requestNotSent(e)) {
    const text = op === 'commit' ? `catalog unreachable, commit not sent (${why})` : `request failed: ${why}`;
    return new CatalogUnreachableError(`catalog: rest: ${what}: ${text}`, { cause: e });
  }
  if (op === 'commit') {
    return new CommitStateUnknownError(`catalog: rest: ${what}: commit outcome unknown (${why}); reload the table to see whether it was applied`, {
      cause: e,
    });
  }
  return new FloeError('CATALOG', `catalog: rest: ${what}: request failed: ${why}`, { cause: e, retriable: true });
}

/**
 * Node's system-call errors that happen before a connection exists: the request's bytes cannot
 * have left this process. `connect` covers ECONNREFUSED, EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL
 * raised by connect(2); `getaddrinfo`/`query*` are DNS (ENOTFOUND, EAI_AGAIN).
 */
const NOT_SENT_SYSCALLS = /^(connect|getaddrinfo|query[A-Za-z]*)$/;

/**
 * True when a fetch failure provably happened before the request was written: the connection was
 * never established (refused, unreachable, DNS, undici's connect timeout). A reset, a socket closed
 * by the other side or our own timeout may come after the server read the request: not these.
 */
export function requestNotSent(e: unknown): boolean {
  if (!(e instanceof Error) || e.name === 'TimeoutError' || e.name === 'AbortError') return false;
  return notSentCause((e as { cause?: unknown }).cause, 0);
}

function notSentCause(c: unknown, depth: number): boolean {
  if (typeof c !== 'object' || c === null || depth > 3) return false;
  const { code, syscall, errors } = c as { code?: unknown; syscall?: unknown; errors?: unknown };
  // Happy eyeballs (several addresses): an AggregateError whose every attempt failed to connect.
  if (Array.isArray(errors) && errors.length > 0) return errors.every((x) => notSentCause(x, depth + 1));
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  return typeof syscall === 'string' && NOT_SENT_SYSCALLS.test(syscall) && typeof code === 'string';
}

function describeTransport(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'timed out';
    const cause = (e as { cause?: unknown }).cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    const causeMsg = cause instanceof Error ? cause.message : '';
    return [e.message, typeof code === 'string' ? code : '', causeMsg && causeMsg !== e.message ? causeMsg : ''].filter(Boolean).join(': ');
  }
  return String(e);
}

/** Server side: the HTTP status and ErrorModel type for a floe error (or anything thrown). */
export function errorToRest(e: unknown): { status: number; type: string; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof NoSuchTableError) return { status: 404, type: 'NoSuchTableException', message };
  if (e instanceof NoSuchNamespaceError) return { status: 404, type: 'NoSuchNamespaceException', message };
  if (e instanceof NotFoundError) return { status: 404, type: 'NotFoundException', message };
  if (e instanceof AlreadyExistsError) return { status: 409, type: 'AlreadyExistsException', message };
  if (e instanceof NamespaceNotEmptyError) return { status: 409, type: 'NamespaceNotEmptyException', message };
  if (e instanceof CommitConflictError) return { status: 409, type: 'CommitFailedException', message };
  if (e instanceof CommitStateUnknownError) return { status: 500, type: 'CommitStateUnknownException', message };
  if (e instanceof ValidationError) return { status: 400, type: 'BadRequestException', message };
  if (e instanceof UnsupportedError) return { status: 406, type: 'UnsupportedOperationException', message };
  if (e instanceof FloeError && e.retriable) return { status: 503, type: 'ServiceUnavailableException', message };
  if (e instanceof FloeError) return { status: 500, type: 'InternalServerError', message };
  return { status: 500, type: 'InternalServerError', message: 'internal server error' };
}
