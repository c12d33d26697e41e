/**
 * floe's error model: one base class with a stable `code`, a `retriable` flag and a `cause`.
 * Subclasses exist only where callers branch on them.
 *
 * Messages start with the subsystem that raised them, e.g. `avro: invalid magic bytes`.
 */

/**
 * Every code a {@link FloeError} may carry, one list (README "Error codes" says what each means
 * and whether it is retriable; `test/errors.codes.test.ts` checks every code raised in src/ is
 * here). A code never changes meaning between releases; new ones are added here first.
 */
export const ErrorCode = {
  // Input and features.
  VALIDATION: 'VALIDATION',
  UNSUPPORTED: 'UNSUPPORTED',
  INTERNAL: 'INTERNAL',
  ROW_REFUSED: 'ROW_REFUSED',
  // Catalogs and tables.
  NO_SUCH_NAMESPACE: 'NO_SUCH_NAMESPACE',
  NO_SUCH_TABLE: 'NO_SUCH_TABLE',
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  NAMESPACE_NOT_EMPTY: 'NAMESPACE_NOT_EMPTY',
  COMMIT_CONFLICT: 'COMMIT_CONFLICT',
  COMMIT_STATE_UNKNOWN: 'COMMIT_STATE_UNKNOWN',
  CATALOG_UNREACHABLE: 'CATALOG_UNREACHABLE',
  CATALOG_UNAVAILABLE: 'CATALOG_UNAVAILABLE',
  CATALOG: 'CATALOG',
  CATALOG_CLOSED: 'CATALOG_CLOSED',
  AUTH: 'AUTH',
  FENCED: 'FENCED',
  ABORTED: 'ABORTED',
  PURGE_INCOMPLETE: 'PURGE_INCOMPLETE',
  PURGE_REFUSED: 'PURGE_REFUSED',
  // Storage and data files.
  NOT_FOUND: 'NOT_FOUND',
  IO: 'IO',
  PARQUET_WRITE: 'PARQUET_WRITE',
  PARQUET_FOOTER: 'PARQUET_FOOTER',
  // Query engines.
  DUCKDB_CONFIG: 'DUCKDB_CONFIG',
  DUCKDB_QUERY: 'DUCKDB_QUERY',
  DUCKDB_CLOSED: 'DUCKDB_CLOSED',
  ATHENA: 'ATHENA',
  ATHENA_QUERY_FAILED: 'ATHENA_QUERY_FAILED',
  ATHENA_TIMEOUT: 'ATHENA_TIMEOUT',
  ATHENA_ABORTED: 'ATHENA_ABORTED',
  // Maintenance.
  COMPACT_WRITE: 'COMPACT_WRITE',
  LOCATION_OVERLAP: 'LOCATION_OVERLAP',
  // Sources.
  SOURCE_READ_FAILED: 'SOURCE_READ_FAILED',
  SOURCE_STATE: 'SOURCE_STATE',
  KINESIS_ADMIN_FAILED: 'KINESIS_ADMIN_FAILED',
  KINESIS_PUT_FAILED: 'KINESIS_PUT_FAILED',
  LOCAL_KINESIS_FAILED: 'LOCAL_KINESIS_FAILED',
  LEASE_TABLE: 'LEASE_TABLE',
  LEASE_STATE: 'LEASE_STATE',
  // Deployment (floe deploy / destroy).
  DEPLOY_FAILED: 'DEPLOY_FAILED',
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options accepted by every floe error. */
export interface FloeErrorOptions {
  /** The underlying error, kept for diagnostics. */
  cause?: unknown;
  /** Whether the same operation may succeed if simply tried again. */
  retriable?: boolean;
}

/** Base class of every error floe raises on purpose. */
export class FloeError extends Error {
  /** Stable, machine-readable code (e.g. `COMMIT_CONFLICT`), one of {@link ErrorCode}. Never changes between releases. */
  readonly code: ErrorCode;
  /** True when retrying the same operation unchanged may succeed. */
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: FloeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Input (config, metadata, a record, a request) is invalid. Never retriable. */
export class ValidationError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('VALIDATION', message, { ...options, retriable: false });
  }
}

/** A feature the input needs is not supported (e.g. a v3-only feature). */
export class UnsupportedError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('UNSUPPORTED', message, { ...options, retriable: false });
  }
}

/** A namespace does not exist. */
export class NoSuchNamespaceError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('NO_SUCH_NAMESPACE', message, options);
  }
}

/** A table does not exist. */
export class NoSuchTableError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('NO_SUCH_TABLE', message, options);
  }
}

/** A file does not exist. */
export class NotFoundError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('NOT_FOUND', message, options);
  }
}

/** Something (namespace, table, file) already exists. */
export class AlreadyExistsError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('ALREADY_EXISTS', message, options);
  }
}

/** A namespace cannot be dropped because it still holds tables. */
export class NamespaceNotEmptyError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('NAMESPACE_NOT_EMPTY', message, options);
  }
}

/**
 * A commit's requirements no longer hold: another writer committed first.
 * Reload the table, re-validate, and retry.
 */
export class CommitConflictError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('COMMIT_CONFLICT', message, { ...options, retriable: true });
  }
}

/**
 * The outcome of a commit is unknown (timeout, 5xx, crash of the catalog mid-write).
 * Never retry blindly: reload and check whether the commit landed.
 */
export class CommitStateUnknownError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('COMMIT_STATE_UNKNOWN', message, { ...options, retriable: false });
  }
}

/**
 * The catalog could not be reached and the request provably never reached it (connection refused,
 * DNS failure, connect timeout): nothing was applied, so the same request may be sent again
 * unchanged, a commit included (unlike {@link CommitStateUnknownError}).
 */
export class CatalogUnreachableError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('CATALOG_UNREACHABLE', message, { ...options, retriable: true });
  }
}

/** A writer found that the table's recorded stream positions are not the ones it started from. */
export class FencedError extends FloeError {
  constructor(message: string, options: FloeErrorOptions = {}) {
    super('FENCED', message, { ...options, retriable: false });
  }
}

/** Returns true when `e` is a floe error with the given code. */
export function hasCode(e: unknown, code: ErrorCode): boolean {
  return e instanceof FloeError && e.code === code;
}
