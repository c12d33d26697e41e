/**
 * An embedded Kinesis-compatible endpoint (kinesalite, in-memory store) on 127.0.0.1, for
 * `floe local`, the quickstart and tests. Nothing is written to disk; stopping it discards every
 * stream.
 *
 * kinesalite's limits as measured (see ../shared/notes/local-components.md and our tests): no
 * ON_DEMAND streams, no UpdateShardCount, ListShards ignores ShardFilter and never paginates, no
 * throttling, MillisBehindLatest always 0 on open shards, and GetShardIterator AT_TIMESTAMP never
 * answers when the shard holds no record at or after the timestamp (the client's request timeout
 * then turns it into a retried TimeoutError). Splits, merges, every other iterator type and
 * iterator expiry after 5 minutes behave like Kinesis.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { FloeError, ValidationError } from '../errors.js';

/** Options of {@link startLocalKinesis}. */
export interface LocalKinesisOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** How long streams stay CREATING / DELETING / UPDATING, ms. Default 0: instant, for tests and demos. */
  createStreamMs?: number;
  deleteStreamMs?: number;
  updateStreamMs?: number;
  /** Shards allowed across all streams. Default 200. */
  shardLimit?: number;
  /**
   * Directory to keep the streams in (LevelDB), so they survive restarts: the quickstart keeps
   * its stream beside the warehouse, so the positions committed in the table stay valid.
   * Default: in memory.
   */
  path?: string;
}

/** A running embedded endpoint. */
export interface LocalKinesis {
  /** `http://127.0.0.1:<port>`: pass as the client endpoint or AWS_ENDPOINT_URL_KINESIS. */
  url: string;
  port: number;
  /** Stops the server and drops its data. Idempotent. */
  close(): Promise<void>;
}

type KinesaliteFactory = (options: Record<string, unknown>) => Server;

function loadKinesalite(): KinesaliteFactory {
  // kinesalite is CommonJS without type declarations.
  const require = createRequire(import.meta.url);
  return require('kinesalite') as KinesaliteFactory;
}

function nonNegative(v: number | undefined, fallback: number, name: string): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 0) throw new ValidationError(`local-kinesis: ${name} must be a non-negative integer, got ${String(v)}`);
  return x;
}

/** Starts kinesalite on 127.0.0.1 (in memory, or persisted under `path`) and returns its URL. */
export async function startLocalKinesis(options: LocalKinesisOptions = {}): Promise<LocalKinesis> {
  const port = nonNegative(options.port, 0, 'port');
  if (port > 65535) throw new ValidationError(`local-kinesis: port must be at most 65535, got ${port}`);
  const server = loadKinesalite()({
    createStreamMs: nonNegative(options.createStreamMs, 0, 'createStreamMs'),
    deleteStreamMs: nonNegative(options.deleteStreamMs, 0, 'deleteStreamMs'),
    updateStreamMs: nonNegative(options.updateStreamMs, 0, 'updateStreamMs'),
    shardLimit: nonNegative(options.shardLimit, 200, 'shardLimit'),
    ...(options.path ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      reject(new FloeError('LOCAL_KINESIS_FAILED', `local-kinesis: cannot listen on 127.0.0.1:${port}: ${e.message}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        // kinesalite's close() closes its store, then the HTTP server; that waits for open
        // connections, so drop the idle keep-alive ones and, shortly after, any still busy.
        server.close((err?: Error) => (err ? reject(new FloeError('LOCAL_KINESIS_FAILED', `local-kinesis: stop failed: ${err.message}`, { cause: err })) : resolve()));
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 100).unref();
      });
      return closing;
    },
  };
}
