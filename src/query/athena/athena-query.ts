/**
 * Running SQL on Amazon Athena, the reference system's query engine (`floe query --engine
 * athena`): StartQueryExecution, polling GetQueryExecution with backoff until the query
 * finishes, then reading every page of GetQueryResults.
 *
 * Client conventions as every floe AWS client: AWS_REGION, AWS_ENDPOINT_URL_ATHENA, the default
 * credential chain. SDK retries stay on: reads are idempotent, and StartQueryExecution carries a
 * ClientRequestToken (filled in by the SDK, the same on every retry), so a retried start never
 * runs the query twice.
 */
import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand, StopQueryExecutionCommand } from '@aws-sdk/client-athena';
import type { ColumnInfo, QueryExecution } from '@aws-sdk/client-athena';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { awsRegionUnconfigured, resolveAwsClientConfig, type AwsClientSettings } from '../../aws/client-config.js';
import { FloeError, ValidationError } from '../../errors.js';
import { sleep as abortableSleep } from '../../retry.js';
import type { JsonOut } from '../result-values.js';
import { athenaValueToJson } from './athena-values.js';

/** Where and how a query runs. Unset fields are Athena's defaults (workgroup `primary`). */
export interface AthenaQueryOptions {
  /** Workgroup; Athena's default is `primary`. */
  workGroup?: string;
  /** `s3://…/` for result files; required unless the workgroup configures one. */
  outputLocation?: string;
  /** Database that unqualified table names resolve in. */
  database?: string;
  /** Data catalog; Athena's default is `AwsDataCatalog`. */
  catalog?: string;
  /** First wait between GetQueryExecution polls, ms. Default 200. */
  pollInitialMs?: number;
  /** Longest wait between polls, ms. Default 2000. */
  pollMaxMs?: number;
  /** Give up (and stop the query) after this long, ms. Default: wait as long as it runs. */
  timeoutMs?: number;
  /** Stops the query (StopQueryExecution) and rejects when aborted. */
  signal?: AbortSignal;
  /** Rows per GetQueryResults page (1–1000). Default 1000. */
  pageSize?: number;
  /** Sleep implementation (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/** A column of an Athena result. */
export interface AthenaColumn {
  name: string;
  /** Athena's type name (`varchar`, `bigint`, `timestamp with time zone`, `decimal`, …). */
  type: string;
  precision?: number;
  scale?: number;
}

/** A finished query's result, values still as Athena's text (undefined = SQL NULL). */
export interface AthenaResult {
  queryExecutionId: string;
  columns: AthenaColumn[];
  rows: (string | undefined)[][];
  /** `DML`, `DDL` or `UTILITY`. */
  statementType?: string;
  /** Bytes scanned (what Athena bills), when reported. */
  dataScannedBytes?: number;
  /** Where Athena wrote the result file. */
  outputLocation?: string;
}

/** A query that Athena reports FAILED or CANCELLED. */
export class AthenaQueryError extends FloeError {
  constructor(
    message: string,
    /** The query execution id. */
    readonly queryExecutionId: string,
    /** FAILED or CANCELLED. */
    readonly state: string,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super('ATHENA_QUERY_FAILED', message, options);
  }
}

/** Options of {@link athenaClientFromEnv}. */
export interface AthenaClientOptions extends AwsClientSettings {
  /** Socket idle timeout of one request, ms. Default 30 s. */
  requestTimeoutMs?: number;
}

/**
 * Builds an AthenaClient. The caller owns it (`destroy()`).
 * @throws ValidationError when no region is configured anywhere the SDK looks
 */
export function athenaClientFromEnv(options: AthenaClientOptions = {}): AthenaClient {
  const resolved = resolveAwsClientConfig('Athena', options);
  if (awsRegionUnconfigured(resolved, options.env ?? process.env)) {
    throw new ValidationError('athena: no AWS region configured (set AWS_REGION)');
  }
  return new AthenaClient({
    ...(resolved.region !== undefined ? { region: resolved.region } : {}),
    ...(resolved.endpoint !== undefined ? { endpoint: resolved.endpoint } : {}),
    ...(resolved.credentials !== undefined ? { credentials: resolved.credentials } : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 5_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      throwOnRequestTimeout: true,
    }),
  });
}

function awsMessage(e: unknown): string {
  if (typeof e === 'object' && e !== null) {
    const err = e as { name?: unknown; message?: unknown };
    const name = typeof err.name === 'string' && err.name !== 'Error' ? `${err.name}: ` : '';
    return `${name}${typeof err.message === 'string' ? err.message : String(e)}`;
  }
  return String(e);
}

function wrap(action: string, e: unknown): FloeError {
  if (e instanceof FloeError) return e;
  return new FloeError('ATHENA', `athena: ${action} failed: ${awsMessage(e)}`, { cause: e });
}

function column(c: ColumnInfo): AthenaColumn {
  return {
    name: c.Name ?? c.Label ?? '',
    type: c.Type ?? 'varchar',
    ...(c.Precision !== undefined ? { precision: c.Precision } : {}),
    ...(c.Scale !== undefined ? { scale: c.Scale } : {}),
  };
}

/** Why a query ended, from its status: Athena's StateChangeReason and error details. */
function failureReason(q: QueryExecution | undefined): string {
  const st = q?.Status;
  const parts: string[] = [];
  if (st?.StateChangeReason) parts.push(st.StateChangeReason);
  const err = st?.AthenaError;
  if (err?.ErrorMessage && err.ErrorMessage !== st?.StateChangeReason) parts.push(err.ErrorMessage);
  return parts.join(' — ') || 'no reason given';
}

/**
 * Runs one statement on Athena and returns its whole result.
 * @throws AthenaQueryError when the query FAILED or was CANCELLED (message has Athena's reason);
 *   FloeError `athena: …` for API errors (bad workgroup, missing output location, …) and timeouts
 */
export async function runAthenaQuery(client: AthenaClient, sql: string, options: AthenaQueryOptions = {}): Promise<AthenaResult> {
  if (sql.trim().length === 0) throw new ValidationError('athena: empty query');
  const pageSize = options.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new ValidationError(`athena: page size must be 1-1000, got ${pageSize}`);
  }
  if (options.outputLocation !== undefined && !/^s3:\/\/[^/]+/.test(options.outputLocation)) {
    throw new ValidationError(`athena: output location must be an s3:// URI, got '${options.outputLocation}'`);
  }
  const signal = options.signal;
  // An abort ends the wait; the loop then stops the query.
  const sleep = options.sleep ?? (async (ms: number) => void (await abortableSleep(ms, signal)));
  const context = {
    ...(options.database ? { Database: options.database } : {}),
    ...(options.catalog ? { Catalog: options.catalog } : {}),
  };

  let id: string;
  try {
    const started = await client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        ...(Object.keys(context).length > 0 ? { QueryExecutionContext: context } : {}),
        ...(options.workGroup ? { WorkGroup: options.workGroup } : {}),
        ...(options.outputLocation ? { ResultConfiguration: { OutputLocation: options.outputLocation } } : {}),
      }),
      // Not aborted mid-request: a start whose answer is lost leaves a running query with no id to
      // stop. It returns at once; an abort meanwhile is honoured right after (the query is stopped).
    );
    if (!started.QueryExecutionId) throw new FloeError('ATHENA', 'athena: StartQueryExecution returned no QueryExecutionId');
    id = started.QueryExecutionId;
  } catch (e) {
    throw wrap('starting the query', e);
  }

  const stop = async () => {
    await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id })).catch(() => undefined);
  };
  const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : undefined;
  let wait = options.pollInitialMs ?? 200;
  const maxWait = options.pollMaxMs ?? 2_000;
  let execution: QueryExecution | undefined;
  for (;;) {
    if (signal?.aborted) {
      await stop();
      throw new FloeError('ATHENA_ABORTED', `athena: query ${id} was stopped before it finished`);
    }
    try {
      execution = (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution;
    } catch (e) {
      throw wrap(`checking query ${id}`, e);
    }
    const state = execution?.Status?.State;
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      const retriable = execution?.Status?.AthenaError?.Retryable === true;
      throw new AthenaQueryError(`athena: query ${id} ${state}: ${failureReason(execution)}`, id, state, { retriable });
    }
    if (deadline !== undefined && Date.now() + wait > deadline) {
      await stop();
      throw new FloeError('ATHENA_TIMEOUT', `athena: query ${id} did not finish within ${options.timeoutMs} ms (last state ${state ?? 'unknown'}); it was stopped`);
    }
    await sleep(wait);
    wait = Math.min(maxWait, Math.round(wait * 1.5));
  }

  const statementType = execution?.StatementType;
  const columns: AthenaColumn[] = [];
  const rows: (string | undefined)[][] = [];
  let token: string | undefined;
  let first = true;
  do {
    let page;
    try {
      page = await client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, MaxResults: pageSize, ...(token ? { NextToken: token } : {}) }),
        { abortSignal: signal },
      );
    } catch (e) {
      throw wrap(`reading the results of query ${id}`, e);
    }
    if (first) for (const c of page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []) columns.push(column(c));
    let pageRows = page.ResultSet?.Rows ?? [];
    // A SELECT's first row (first page only) repeats the column names; DDL/utility results do not.
    if (first && (statementType === undefined || statementType === 'DML') && pageRows.length > 0) pageRows = pageRows.slice(1);
    for (const r of pageRows) rows.push((r.Data ?? []).map((d) => d.VarCharValue));
    first = false;
    token = page.NextToken || undefined;
  } while (token);

  return {
    queryExecutionId: id,
    columns,
    rows,
    ...(statementType ? { statementType } : {}),
    ...(execution?.Statistics?.DataScannedInBytes !== undefined ? { dataScannedBytes: execution.Statistics.DataScannedInBytes } : {}),
    ...(execution?.ResultConfiguration?.OutputLocation ? { outputLocation: execution.ResultConfiguration.OutputLocation } : {}),
  };
}

/** An Athena result as column names and JSON values (the input of the CLI's `formatPlain`). */
export function athenaResultToPlainRows(result: AthenaResult): { columns: string[]; rows: JsonOut[][] } {
  return {
    columns: result.columns.map((c) => c.name),
    rows: result.rows.map((r) => result.columns.map((c, i) => athenaValueToJson(c.type, r[i]))),
  };
}
