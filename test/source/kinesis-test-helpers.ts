/**
 * Helpers for the Kinesis source tests: a real kinesalite on 127.0.0.1, a client for it, a loop
 * that polls a source until a condition holds, and a fault-injecting HTTP proxy placed between the
 * SDK and kinesalite (kinesalite never throttles nor expires iterators on demand, so the proxy
 * answers some calls with the errors real Kinesis sends; the SDK and the wire stay real).
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { kinesisClientFromEnv } from '../../src/source/kinesis/client.js';
import { ensureStream } from '../../src/source/kinesis/admin.js';
import { startLocalKinesis, type LocalKinesis } from '../../src/source/local-kinesis.js';
import type { Source, SourceBatch, SourceRecord } from '../../src/source/source.js';

// The SDK warns once per process that Node 20 support ends in 2027; keep test output readable.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning')) console.warn(w);
});

/** A running kinesalite plus a client for it. */
export interface LocalEnv {
  kinesis: LocalKinesis;
  /** The endpoint URL (same as `kinesis.url`). */
  url: string;
  client: KinesisClient;
  close(): Promise<void>;
}

/** A client for `url` with dummy credentials; `maxAttempts: 1` so floe's own retries are measured. */
export function clientFor(url: string, maxAttempts = 1): KinesisClient {
  return kinesisClientFromEnv({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' }, maxAttempts });
}

/** Starts kinesalite and a client for it. */
export async function startLocal(): Promise<LocalEnv> {
  const kinesis = await startLocalKinesis();
  const client = clientFor(kinesis.url);
  return {
    kinesis,
    url: kinesis.url,
    client,
    async close() {
      client.destroy();
      await kinesis.close();
    },
  };
}

/** Creates a provisioned stream and waits until it is ACTIVE. */
export async function createStream(client: KinesisClient, streamName: string, shardCount = 1): Promise<void> {
  await ensureStream(client, { streamName, shardCount });
}

/** UTF-8 helpers. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** What {@link pollUntil} collected. */
export interface Collected {
  records: SourceRecord[];
  batches: SourceBatch[];
  /** Last position per partition over all batches. */
  positions: Map<string, string>;
}

/**
 * Polls until `done(collected)` holds, failing after `timeoutMs`. `onBatch` runs after every
 * batch (e.g. to commit).
 */
export async function pollUntil(
  source: Source,
  done: (c: Collected) => boolean,
  options: { timeoutMs?: number; maxRecords?: number; maxBytes?: number; onBatch?: (b: SourceBatch, c: Collected) => void | Promise<void> } = {},
): Promise<Collected> {
  const c: Collected = { records: [], batches: [], positions: new Map() };
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (!done(c)) {
    if (Date.now() > deadline) {
      throw new Error(`test: condition not met after ${options.timeoutMs ?? 10_000} ms; ${c.records.length} records, positions ${JSON.stringify([...c.positions])}`);
    }
    const b = await source.poll({ maxRecords: options.maxRecords ?? 1000, maxBytes: options.maxBytes ?? 1 << 24, waitMs: 200 });
    if (b.records.length === 0 && b.positions.size === 0) continue;
    c.batches.push(b);
    c.records.push(...b.records);
    for (const [k, v] of b.positions) c.positions.set(k, v);
    await options.onBatch?.(b, c);
  }
  return c;
}

/** Waits (without polling) until `cond()` holds. */
export async function waitFor(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`test: ${what} not met after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Polls for `ms` and returns whatever arrived. */
export async function pollFor(source: Source, ms: number): Promise<Collected> {
  const end = Date.now() + ms;
  return pollUntil(source, () => Date.now() >= end, { timeoutMs: ms + 5_000 });
}

/** One call seen by the proxy. */
export interface ProxyCall {
  /** Operation, e.g. `GetRecords`. */
  op: string;
  body: Record<string, unknown>;
  at: number;
}

/** What a fault rule may do with a call. */
export type FaultAction =
  /** Answer with an error instead of forwarding. */
  | { error: { status: number; type: string; message?: string } }
  /** Forward a changed request body and/or transform the JSON response. */
  | { body?: Record<string, unknown>; response?: (json: Record<string, unknown>) => Record<string, unknown> };

/** A rule deciding, per call, whether to interfere. `n` counts calls of that operation (from 1). */
export type FaultRule = (op: string, body: Record<string, unknown>, n: number) => FaultAction | undefined;

/** A fault-injecting proxy in front of a Kinesis endpoint. */
export interface FaultProxy {
  url: string;
  calls: ProxyCall[];
  rule: FaultRule;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts a proxy on 127.0.0.1 forwarding to `upstream` (a kinesalite URL). */
export async function startFaultProxy(upstream: string, rule: FaultRule = () => undefined): Promise<FaultProxy> {
  const up = new URL(upstream);
  const counts = new Map<string, number>();
  const proxy: FaultProxy = { url: '', calls: [], rule, close: async () => {} };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const raw = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const op = target.split('.')[1] ?? target;
      const body = raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      const n = (counts.get(op) ?? 0) + 1;
      counts.set(op, n);
      proxy.calls.push({ op, body, at: Date.now() });
      const action = proxy.rule(op, body, n);
      if (action && 'error' in action) {
        const payload = JSON.stringify({ __type: action.error.type, message: action.error.message ?? action.error.type });
        res.writeHead(action.error.status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(payload) });
        res.end(payload);
        return;
      }
      const outBody = action?.body ? Buffer.from(JSON.stringify(action.body)) : raw;
      const headers = { ...req.headers, host: up.host, 'content-length': String(outBody.length) };
      const upReq = request({ hostname: up.hostname, port: up.port, path: req.url, method: req.method, headers }, (upRes) => {
        void (async () => {
          const upRaw = await readBody(upRes);
          let out = upRaw;
          if (action?.response && (upRes.statusCode ?? 500) < 300) {
            out = Buffer.from(JSON.stringify(action.response(JSON.parse(upRaw.toString('utf8')) as Record<string, unknown>)));
          }
          const h = { ...upRes.headers, 'content-length': String(out.length) };
          delete h['transfer-encoding'];
          res.writeHead(upRes.statusCode ?? 500, h);
          res.end(out);
        })();
      });
      upReq.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upReq.end(outBody);
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return proxy;
}
