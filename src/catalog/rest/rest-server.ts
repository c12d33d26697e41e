/**
 * An Iceberg REST catalog server (`open-api/rest-catalog-open-api.yaml`) over any floe Catalog,
 * typically the embedded SQLite catalog, so that Spark, Trino, DuckDB, PyIceberg or floe itself can
 * share floe's tables through the REST protocol (`floe catalog serve`).
 *
 * Safe by default (the security model, documented in the README under `floe catalog serve`):
 * - binds 127.0.0.1 unless told otherwise, and refuses to start on any other address without a
 *   bearer token unless `allowUnauthenticated` says so;
 * - every request passes `rest-server-guard.ts` before its body is read: `Host` must name the
 *   server (DNS rebinding), no foreign `Origin`, the token if there is one, a JSON content type;
 * - bodies are capped per request and over all requests in flight (`rest-server-body.ts`);
 * - namespace and table names are single plain path segments (`rest-server-names.ts`);
 * - every location a client names lies inside the warehouse unless `allowExternalLocations`, and
 *   a purge deletes only inside the table's own directories (`rest-server-locations.ts`,
 *   `rest-server-purge.ts`).
 *
 * Every answer to a bad request is the spec's error body `{ "error": { message, type, code } }`
 * with the status the spec gives (400 malformed JSON or invalid request, 401 no or wrong token,
 * 403 foreign Host or Origin, 404 unknown namespace / table / route, 405 wrong method, 406
 * unsupported operation, 409 conflicts, 413 body too large, 415 not JSON, 422 a property both
 * removed and updated, 429 too many bodies in flight, 500 unknown commit state); a handler failure
 * never takes the server down. Routes are in `rest-server-routes.ts`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '../../errors.js';
import { stringifyJson } from '../../iceberg/json.js';
import type { Catalog } from '../catalog.js';
import { errorToRest } from './rest-errors.js';
import { BodyBudget } from './rest-server-body.js';
import { isLoopbackHost, RequestGuard } from './rest-server-guard.js';
import { LocationPolicy } from './rest-server-locations.js';
import { handleRoute, HttpError, type RouteContext } from './rest-server-routes.js';

/** Options of {@link startRestCatalogServer}. */
export interface RestCatalogServerOptions {
  /** The catalog to serve. The server does not close it. */
  catalog: Catalog;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Interface to bind. Default 127.0.0.1. */
  host?: string;
  /** Path segment after `/v1/` for catalog routes, advertised as the `prefix` override. Default none. */
  prefix?: string;
  /** Warehouse root for staged creates (`stage-create`) without a location; default the catalog's `warehouse`. */
  warehouse?: string;
  /** Extra `defaults` / `overrides` of `GET /v1/config`. */
  defaults?: Record<string, string>;
  overrides?: Record<string, string>;
  /**
   * The `config` of every LoadTableResult: storage settings for clients, e.g. `s3.endpoint`,
   * `s3.path-style-access`, `client.region` for tables on an S3-compatible store. Default none.
   */
  tableConfig?: Record<string, string>;
  /** Largest accepted request body. Default 32 MiB. */
  maxBodyBytes?: number;
  /** Largest sum of the request bodies held at once (429 beyond). Default 64 MiB. */
  maxInFlightBodyBytes?: number;
  /**
   * Bearer token every request must carry (`Authorization: Bearer <token>`). Default none, which
   * is refused on a non-loopback `host` unless {@link allowUnauthenticated}.
   */
  token?: string;
  /** Serve a non-loopback `host` without a token (e.g. behind an authenticating proxy). */
  allowUnauthenticated?: boolean;
  /** Further accepted `Host` header values: `name`, `name:port`, or `*` for any (see `rest-server-guard.ts`). */
  allowedHosts?: readonly string[];
  /** Accept table, namespace and file locations outside the warehouse. Default false. */
  allowExternalLocations?: boolean;
  /**
   * Receives one line per failed request answered with a 5xx (level `error`), and per purge that
   * left foreign files (no level: a warning) (default: nothing).
   */
  log?: (line: string, level?: 'error') => void;
}

/** A running server. */
export interface RestCatalogServer {
  /** `http://host:port`, the catalog URI for clients. */
  url: string;
  port: number;
  host: string;
  /** Bytes of request bodies held right now (diagnostics, tests). */
  readonly bodyBytesInFlight: number;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

/** Sends the spec's error body. */
function sendError(res: ServerResponse, method: string, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = method === 'HEAD' ? undefined : JSON.stringify({ error: { message, type, code: status } });
  res.writeHead(status, {
    ...headers,
    ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
  });
  res.end(body);
}

/**
 * Starts the server (see the file comment) and resolves once it listens.
 * @returns its URL and `close()`
 */
export async function startRestCatalogServer(options: RestCatalogServerOptions): Promise<RestCatalogServer> {
  const host = options.host ?? '127.0.0.1';
  if (options.token !== undefined && !/^[\x21-\x7e]+$/.test(options.token)) {
    throw new ValidationError('catalog: rest server: the token must be non-empty printable ASCII without spaces');
  }
  if (options.token === undefined && !options.allowUnauthenticated && !isLoopbackHost(host)) {
    throw new ValidationError(`catalog: rest server: refusing to listen on ${host} without a token (anyone who can reach it could change and delete tables); give a token or allow unauthenticated access explicitly`);
  }
  const budget = new BodyBudget(options.maxBodyBytes ?? 32 * 1024 * 1024, options.maxInFlightBodyBytes ?? 64 * 1024 * 1024);
  const prefix = options.prefix?.replace(/^\/+|\/+$/g, '') || undefined;
  const catalogWarehouse = (options.catalog as { warehouse?: unknown }).warehouse;
  const warehouse = options.warehouse ?? (typeof catalogWarehouse === 'string' && catalogWarehouse ? catalogWarehouse : undefined);
  const log = options.log ?? (() => undefined);
  const ctx: RouteContext = {
    catalog: options.catalog,
    prefix,
    warehouse,
    defaults: options.defaults ?? {},
    overrides: options.overrides ?? {},
    tableConfig: options.tableConfig ?? {},
    locations: new LocationPolicy({ warehouse, allowExternal: options.allowExternalLocations ?? false }),
    log,
  };
  // Known once listening (the port may be 0 until then).
  let guard: RequestGuard | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, method, 400, 'BadRequestException', `malformed request target '${req.url}'`);
    }
    let release = () => {};
    try {
      guard!.check(method, url.pathname, req.headers);
      let text = '';
      if (method !== 'GET' && method !== 'HEAD') {
        const body = budget.read(req);
        release = body.release;
        text = await body.text;
      }
      const answer = await handleRoute(ctx, { method, url, headers: req.headers, text });
      const headers: Record<string, string> = { ...answer.headers };
      if (answer.body === undefined || method === 'HEAD') {
        res.writeHead(answer.status, headers);
        res.end();
        return;
      }
      const out = stringifyJson(answer.body);
      res.writeHead(answer.status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    } catch (e) {
      if (e instanceof HttpError) {
        // Refused before or while its body was read: do not read the rest of it.
        const declared = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
        const headers: Record<string, string> = declared && !req.complete ? { ...e.headers, connection: 'close' } : e.headers;
        return sendError(res, method, e.status, e.type, e.message, headers);
      }
      const mapped = errorToRest(e);
      if (mapped.status >= 500) log(`floe catalog: ${method} ${url.pathname}: ${mapped.status} ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 'error');
      sendError(res, method, mapped.status, mapped.type, mapped.message);
    } finally {
      release();
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // Only reachable if writing the answer itself failed.
      options.log?.(`floe catalog: failed to answer ${req.method} ${req.url}: ${String(e)}`);
      res.destroy();
    });
  });
  // Unparseable HTTP: answer 400 instead of dropping the socket silently.
  server.on('clientError', (err, socket) => {
    if (socket.writable) {
      const body = JSON.stringify({ error: { message: `malformed HTTP request: ${err.message}`, type: 'BadRequestException', code: 400 } });
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    } else {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    const code = (e as { code?: unknown }).code;
    throw new ValidationError(`catalog: rest server: cannot listen on ${host}:${options.port ?? 0}: ${code === 'EADDRINUSE' ? 'the port is in use' : (e as Error).message}`, {
      cause: e,
    });
  });
  const { port } = server.address() as AddressInfo;
  guard = new RequestGuard({ host, port, token: options.token, allowedHosts: options.allowedHosts ?? [] });
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    get bodyBytesInFlight() {
      return budget.inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
