/**
 * The HTTP endpoint of `floe run` (config `metrics`, `--metrics-port`): `GET /metrics` (Prometheus
 * text), `GET /healthz` (liveness) and `GET /readyz` (readiness), each answering 200 or 503 with
 * one line saying why. Nothing else: other paths 404, other methods 405, no request body is read.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FloeError } from '../errors.js';
import type { RunMetrics } from './run-metrics.js';

/** A listening metrics endpoint. */
export interface MetricsServer {
  /** `http://host:port` (the port the OS chose for port 0). */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}

function answer(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function handle(metrics: RunMetrics, req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') {
    answer(res, 404, 'not found: /metrics, /healthz, /readyz\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    answer(res, 405, 'method not allowed\n');
    return;
  }
  if (path === '/metrics') {
    metrics.metrics().then(
      (text) => answer(res, 200, text, metrics.contentType),
      (e: unknown) => answer(res, 500, `metrics: ${(e as Error).message}\n`),
    );
    return;
  }
  const h = path === '/healthz' ? metrics.liveness() : metrics.readiness();
  answer(res, h.ok ? 200 : 503, h.reason + '\n');
}

/**
 * Listens on `host:port` (port 0: any free port). Fails with code `IO` naming the
 * address when it cannot listen (port taken, address not local), before the pipeline starts.
 */
export async function startMetricsServer(metrics: RunMetrics, options: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => handle(metrics, req, res));
  // Scrapers and health checks keep connections alive; none may hold the process at exit.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) =>
      reject(new FloeError('IO', `metrics: cannot listen on ${options.host}:${options.port}: ${e.code ?? e.message}`, { cause: e }));
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
