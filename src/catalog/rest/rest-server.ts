/**
 * An Iceberg REST catalog server (`open-api/rest-catalog-open-api.yaml`) over any floe Catalog,
 * typically the embedded SQLite catalog, so that Spark, Trino, DuckDB, PyIceberg or floe itself can
 * share floe's tables through the REST protocol (`floe catalog serve`).
 *
 * Binds 127.0.0.1 unless told otherwise: the server has no authentication of its own.
 *
 * Every answer to a bad request is the spec's error body `{ "error": { message, type, code } }`
 * with the status the spec gives (400 malformed JSON or invalid request, 404 unknown namespace /
 * table / route, 405 wrong method, 406 unsupported operation, 409 conflicts, 413 body too large,
 * 422 a property both removed and updated, 500 unknown commit state); a handler failure never takes
 * the server down. Routes are in `rest-server-routes.ts`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ValidationError } from '../../errors.js';
import { stringifyJson } from '../../iceberg/json.js';
import type { Catalog } from '../catalog.js';
import { errorToRest } from './rest-errors.js';
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
  /** Receives one line per failed request answered with a 5xx (default: nothing). */
  log?: (line: string) => void;
}

/** A running server. */
export interface RestCatalogServer {
  /** `http://host:port`, the catalog URI for clients. */
  url: string;
  port: number;
  host: string;
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

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > max) throw new HttpError(413, 'RequestTooLargeException', `request body exceeds ${max} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Starts the server (see the file comment) and resolves once it listens.
 * @returns its URL and `close()`
 */
export async function startRestCatalogServer(options: RestCatalogServerOptions): Promise<RestCatalogServer> {
  const host = options.host ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const prefix = options.prefix?.replace(/^\/+|\/+$/g, '') || undefined;
  const catalogWarehouse = (options.catalog as { warehouse?: unknown }).warehouse;
  const ctx: RouteContext = {
    catalog: options.catalog,
    prefix,
    warehouse: options.warehouse ?? (typeof catalogWarehouse === 'string' && catalogWarehouse ? catalogWarehouse : undefined),
    defaults: options.defaults ?? {},
    overrides: options.overrides ?? {},
    tableConfig: options.tableConfig ?? {},
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return sendError(res, method, 400, 'BadRequestException', `malformed request target '${req.url}'`);
    }
    try {
      const text = method === 'GET' || method === 'HEAD' ? '' : await readBody(req, maxBody);
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
      if (e instanceof HttpError) return sendError(res, method, e.status, e.type, e.message, e.headers);
      const mapped = errorToRest(e);
      if (mapped.status >= 500) options.log?.(`floe catalog: ${method} ${url.pathname}: ${mapped.status} ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      sendError(res, method, mapped.status, mapped.type, mapped.message);
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
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
