/**
 * A fault-injecting HTTP proxy on 127.0.0.1 for tests: forwards requests to a real upstream
 * (s3rver, a REST catalog) and, per request, can answer with an error instead, drop the connection
 * before or after forwarding, or delay. Every request is recorded, so tests can count calls.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One proxied request. */
export interface RecordedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** What to do with a request. */
export type FaultAction =
  | { kind: 'forward' }
  /** Answer with this status and body without forwarding. */
  | { kind: 'respond'; status: number; body?: string; contentType?: string; headers?: Record<string, string> }
  /** Close the connection without forwarding (the request never reached the upstream). */
  | { kind: 'drop-before' }
  /** Forward, wait for the upstream's answer, then close the connection (a lost response). */
  | { kind: 'drop-after'; beforeDrop?: () => Promise<void> }
  /** Forward after a delay. */
  | { kind: 'delay'; ms: number };

/** Decides per request; `index` counts from 0 over all requests. */
export type FaultRule = (req: RecordedRequest, index: number) => FaultAction | undefined;

/** A running proxy. */
export interface FaultProxy {
  url: string;
  requests: RecordedRequest[];
  /** Replaces the rule (undefined: forward everything). */
  setRule(rule: FaultRule | undefined): void;
  close(): Promise<void>;
}

/** An S3-style XML error body. */
export function s3ErrorXml(code: string, message = code): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
}

/** Starts a proxy in front of `upstream` (`http://127.0.0.1:port`). */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  let rule: FaultRule | undefined;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const forward = (rec: RecordedRequest, res: ServerResponse, onUpstreamDone?: (status: number, headers: IncomingMessage['headers'], body: Buffer) => void) => {
    const headers = { ...rec.headers, host: target.host };
    const up = httpRequest(
      { hostname: target.hostname, port: target.port, method: rec.method, path: rec.url, headers },
      (upRes) => {
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          const body = Buffer.concat(chunks);
          if (onUpstreamDone) return onUpstreamDone(upRes.statusCode ?? 502, upRes.headers, body);
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(body);
        });
      },
    );
    up.on('error', (e) => {
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`fault-proxy: upstream error: ${e.message}`);
    });
    up.end(rec.body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks) };
      const index = requests.length;
      requests.push(rec);
      const action = rule?.(rec, index) ?? { kind: 'forward' };
      switch (action.kind) {
        case 'forward':
          return forward(rec, res);
        case 'respond': {
          const body = action.body ?? '';
          res.writeHead(action.status, { 'content-type': action.contentType ?? 'application/xml', 'content-length': Buffer.byteLength(body), ...action.headers });
          res.end(req.method === 'HEAD' ? undefined : body);
          return;
        }
        case 'drop-before':
          req.socket.destroy();
          return;
        case 'drop-after':
          return forward(rec, res, () => {
            void (action.beforeDrop ?? (async () => undefined))().finally(() => req.socket.destroy());
          });
        case 'delay':
          setTimeout(() => {
            if (!req.socket.destroyed) forward(rec, res);
          }, action.ms);
          return;
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    setRule: (r) => {
      rule = r;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
