/**
 * A stand-in for the Amazon Athena operations `floe query --engine athena` uses, as a real HTTP
 * server on 127.0.0.1 speaking Athena's wire protocol, so the unmodified `@aws-sdk/client-athena`
 * talks to it (AWS_ENDPOINT_URL_ATHENA or the client's endpoint). Test-only code.
 *
 * It does not run SQL: tests register what a statement returns (column metadata and rows as the
 * text Athena prints), and how many polls it stays QUEUED/RUNNING, or how it fails.
 *
 * Shapes checked against the SDK's service model (`@aws-sdk/client-athena` 3.1143 schemas) and the
 * Athena API reference (ColumnInfo, Datum); behaviour as documented by AWS and relied on by Athena
 * clients such as PyAthena (header row, NULL datums); exact error messages are illustrative:
 * - awsJson1_1: `POST /`, `X-Amz-Target: AmazonAthena.<Operation>`, JSON errors
 *   `{"__type": "InvalidRequestException", "Message": "…", "AthenaErrorCode": "…"}`;
 *   timestamps epoch seconds.
 * - StartQueryExecution{QueryString, ClientRequestToken, QueryExecutionContext{Database, Catalog},
 *   ResultConfiguration{OutputLocation}, WorkGroup} → {QueryExecutionId}; the same
 *   ClientRequestToken returns the same execution (idempotency). Without an output location in
 *   the request or the workgroup Athena refuses the query.
 * - GetQueryExecution → QueryExecution{…, StatementType, Status{State: QUEUED | RUNNING |
 *   SUCCEEDED | FAILED | CANCELLED, StateChangeReason, AthenaError{ErrorCategory, ErrorType,
 *   Retryable, ErrorMessage}}, Statistics{DataScannedInBytes}}.
 * - GetQueryResults{QueryExecutionId, NextToken, MaxResults ≤ 1000} → {ResultSet{Rows[{Data:
 *   [{VarCharValue}]}], ResultSetMetadata{ColumnInfo[{Name, Label, Type, Precision, Scale, …}]}},
 *   NextToken}; a DML result's first row (first page only) holds the column labels; a NULL is a
 *   Datum without VarCharValue; asking before SUCCEEDED is InvalidRequestException.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A result column as Athena describes it. */
export interface FakeColumn {
  Name: string;
  Type: string;
  Precision?: number;
  Scale?: number;
}

/** What a registered statement does. */
export interface FakeQuery {
  /** The SQL it answers (exact text, or a pattern). */
  match: string | RegExp;
  columns?: FakeColumn[];
  /** Values as Athena prints them; null is SQL NULL. */
  rows?: (string | null)[][];
  /** GetQueryExecution calls that see QUEUED, then RUNNING, before it ends. Default 1 and 2. */
  queuedPolls?: number;
  runningPolls?: number;
  /** End FAILED with this reason instead of SUCCEEDED. */
  fail?: { reason: string; errorType?: number; category?: number; retryable?: boolean };
  /** End CANCELLED. */
  cancel?: boolean;
  statementType?: 'DML' | 'DDL' | 'UTILITY';
  /** Never finishes (until stopped). */
  hang?: boolean;
}

interface Execution {
  id: string;
  sql: string;
  query: FakeQuery | undefined;
  database?: string;
  catalog?: string;
  workGroup: string;
  outputLocation: string;
  polls: number;
  state: string;
  submitted: number;
  completed?: number;
  token?: string;
}

class AthenaApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;

/** Options of {@link startAthenaFake}. */
export interface AthenaFakeOptions {
  /** Workgroups and their configured result locations. Default `{ primary: undefined }`. */
  workGroups?: Record<string, string | undefined>;
}

/** The running fake. */
export class AthenaFake {
  /** Every request received: operation and body. */
  readonly requests: { operation: string; body: Obj; signingService?: string }[] = [];
  private readonly queries: FakeQuery[] = [];
  private readonly executions = new Map<string, Execution>();
  private readonly workGroups: Record<string, string | undefined>;
  private server: Server | undefined;
  endpoint = '';

  constructor(options: AthenaFakeOptions = {}) {
    this.workGroups = options.workGroups ?? { primary: undefined };
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Registers what a statement returns. Later registrations win. */
  on(query: FakeQuery): void {
    this.queries.unshift(query);
  }

  requestsOf(operation: string): Obj[] {
    return this.requests.filter((r) => r.operation === operation).map((r) => r.body);
  }

  /** The state of an execution (for assertions). */
  stateOf(id: string): string | undefined {
    return this.executions.get(id)?.state;
  }

  private find(sql: string): FakeQuery | undefined {
    return this.queries.find((q) => (typeof q.match === 'string' ? q.match === sql : q.match.test(sql)));
  }

  private advance(e: Execution): void {
    if (e.state === 'SUCCEEDED' || e.state === 'FAILED' || e.state === 'CANCELLED') return;
    e.polls++;
    const q = e.query;
    const queued = q?.queuedPolls ?? 1;
    const running = q?.runningPolls ?? 2;
    if (q?.hang) {
      e.state = e.polls <= queued ? 'QUEUED' : 'RUNNING';
      return;
    }
    if (e.polls <= queued) e.state = 'QUEUED';
    else if (e.polls <= queued + running) e.state = 'RUNNING';
    else {
      e.state = !q || q.fail ? 'FAILED' : q.cancel ? 'CANCELLED' : 'SUCCEEDED';
      e.completed = Date.now() / 1000;
    }
  }

  private render(e: Execution): Obj {
    const q = e.query;
    const status: Obj = { State: e.state, SubmissionDateTime: e.submitted };
    if (e.completed !== undefined) status.CompletionDateTime = e.completed;
    if (e.state === 'FAILED') {
      const reason = q?.fail?.reason ?? `TABLE_NOT_FOUND: line 1:15: Table '${e.sql.slice(0, 40)}' does not exist`;
      status.StateChangeReason = reason;
      status.AthenaError = { ErrorCategory: q?.fail?.category ?? 2, ErrorType: q?.fail?.errorType ?? 1301, Retryable: q?.fail?.retryable ?? false, ErrorMessage: reason };
    }
    if (e.state === 'CANCELLED') status.StateChangeReason = 'Query cancelled by user';
    return {
      QueryExecutionId: e.id,
      Query: e.sql,
      StatementType: q?.statementType ?? 'DML',
      ResultConfiguration: { OutputLocation: `${e.outputLocation.replace(/\/?$/, '/')}${e.id}.csv` },
      QueryExecutionContext: { ...(e.database ? { Database: e.database } : {}), Catalog: e.catalog ?? 'awsdatacatalog' },
      Status: status,
      Statistics: { DataScannedInBytes: 1234, EngineExecutionTimeInMillis: 42, TotalExecutionTimeInMillis: 99 },
      WorkGroup: e.workGroup,
      EngineVersion: { SelectedEngineVersion: 'AUTO', EffectiveEngineVersion: 'Athena engine version 3' },
    };
  }

  private apply(op: string, body: Obj): Obj {
    switch (op) {
      case 'StartQueryExecution': {
        const sql = body.QueryString;
        if (typeof sql !== 'string' || sql.length < 1 || sql.length > 262_144) {
          throw new AthenaApiError('InvalidRequestException', 'QueryString must be 1-262144 characters');
        }
        const token = typeof body.ClientRequestToken === 'string' ? body.ClientRequestToken : undefined;
        if (token) {
          const prior = [...this.executions.values()].find((x) => x.token === token);
          if (prior) return { QueryExecutionId: prior.id };
        }
        const workGroup = typeof body.WorkGroup === 'string' ? body.WorkGroup : 'primary';
        if (!Object.hasOwn(this.workGroups, workGroup)) throw new AthenaApiError('InvalidRequestException', `WorkGroup ${workGroup} is not found.`);
        const rc = body.ResultConfiguration as Obj | undefined;
        const output = (typeof rc?.OutputLocation === 'string' ? rc.OutputLocation : undefined) ?? this.workGroups[workGroup];
        if (!output) {
          throw new AthenaApiError(
            'InvalidRequestException',
            'No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.',
          );
        }
        const ctx = body.QueryExecutionContext as Obj | undefined;
        const id = randomUUID();
        this.executions.set(id, {
          id,
          sql,
          query: this.find(sql),
          ...(typeof ctx?.Database === 'string' ? { database: ctx.Database } : {}),
          ...(typeof ctx?.Catalog === 'string' ? { catalog: ctx.Catalog } : {}),
          workGroup,
          outputLocation: output,
          polls: 0,
          state: 'QUEUED',
          submitted: Date.now() / 1000,
          ...(token ? { token } : {}),
        });
        return { QueryExecutionId: id };
      }
      case 'GetQueryExecution': {
        const e = this.execution(body.QueryExecutionId);
        this.advance(e);
        return { QueryExecution: this.render(e) };
      }
      case 'StopQueryExecution': {
        const e = this.execution(body.QueryExecutionId);
        if (e.state === 'QUEUED' || e.state === 'RUNNING') {
          e.state = 'CANCELLED';
          e.completed = Date.now() / 1000;
        }
        return {};
      }
      case 'GetQueryResults': {
        const e = this.execution(body.QueryExecutionId);
        if (e.state !== 'SUCCEEDED') throw new AthenaApiError('InvalidRequestException', `Query has not yet finished. Current state: ${e.state}`);
        const max = body.MaxResults === undefined ? 1000 : Number(body.MaxResults);
        if (!Number.isInteger(max) || max < 1 || max > 1000) {
          throw new AthenaApiError('InvalidRequestException', 'MaxResults must be between 1 and 1000');
        }
        const q = e.query!;
        const columns = q.columns ?? [];
        const dml = (q.statementType ?? 'DML') === 'DML';
        const all: (string | null)[][] = [...(dml ? [columns.map((c) => c.Name)] : []), ...(q.rows ?? [])];
        let start = 0;
        if (body.NextToken !== undefined) {
          const parsed = /^page:(\d+):(.+)$/.exec(String(body.NextToken));
          if (!parsed || parsed[2] !== e.id) throw new AthenaApiError('InvalidRequestException', 'Invalid NextToken');
          start = Number(parsed[1]);
        }
        const page = all.slice(start, start + max);
        const next = start + max < all.length ? { NextToken: `page:${start + max}:${e.id}` } : {};
        return {
          ResultSet: {
            Rows: page.map((r) => ({ Data: r.map((v) => (v === null ? {} : { VarCharValue: v })) })),
            ResultSetMetadata: {
              ColumnInfo: columns.map((c) => ({
                CatalogName: 'hive',
                SchemaName: '',
                TableName: '',
                Name: c.Name,
                Label: c.Name,
                Type: c.Type,
                Precision: c.Precision ?? 0,
                Scale: c.Scale ?? 0,
                Nullable: 'UNKNOWN',
                CaseSensitive: c.Type === 'varchar',
              })),
            },
          },
          ...(dml ? { UpdateCount: 0 } : {}),
          ...next,
        };
      }
    }
    throw new AthenaApiError('UnknownOperationException', `fake athena: operation ${op} is not implemented`);
  }

  private execution(id: unknown): Execution {
    const e = typeof id === 'string' ? this.executions.get(id) : undefined;
    if (!e) throw new AthenaApiError('InvalidRequestException', `QueryExecution ${String(id)} was not found`);
    return e;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: Obj, type?: string) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/x-amz-json-1.1',
        'Content-Length': Buffer.byteLength(text),
        'x-amzn-RequestId': randomUUID(),
        ...(type ? { 'x-amzn-ErrorType': type } : {}),
      });
      res.end(text);
    };
    try {
      const target = req.headers['x-amz-target'];
      const m = typeof target === 'string' ? /^AmazonAthena\.(\w+)$/.exec(target) : null;
      if (req.method !== 'POST' || !m) throw new AthenaApiError('UnknownOperationException', `bad target ${String(target)}`);
      const auth = String(req.headers.authorization ?? '');
      const scope = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request,/.exec(auth);
      if (!scope) throw new AthenaApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      if (scope[1] !== 'athena') throw new AthenaApiError('InvalidSignatureException', `Credential should be scoped to correct service: 'athena'`, 403);
      let body: Obj;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Obj;
      } catch {
        throw new AthenaApiError('SerializationException', 'request body is not JSON');
      }
      this.requests.push({ operation: m[1]!, body, signingService: scope[1] });
      send(200, this.apply(m[1]!, body));
    } catch (e) {
      const err = e instanceof AthenaApiError ? e : new AthenaApiError('InternalServerException', e instanceof Error ? e.message : String(e), 500);
      send(err.status, { __type: err.type, Message: err.message, ...(err.type === 'InvalidRequestException' ? { AthenaErrorCode: 'INVALID_INPUT' } : {}) }, err.type);
    }
  }
}

/** Starts a fake on 127.0.0.1 (stop it with `stop()`). */
export async function startAthenaFake(options: AthenaFakeOptions = {}): Promise<AthenaFake> {
  return new AthenaFake(options).start();
}
