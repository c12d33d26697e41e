/**
 * A real kinesis-local (kinesis-mock built for Node, devDependency) on 127.0.0.1, started and
 * stopped by the tests that need what kinesalite lacks: ON_DEMAND streams, UpdateShardCount and
 * ChildShards on closed parents, ListShards ShardFilter.
 *
 * kinesis-local listens on every interface and has no option to change that. It is therefore run
 * as `node -r <preload> main.js`, where the preload (written to a temp dir at start) rewrites every
 * `net.Server#listen` to host 127.0.0.1 and reports each bound address over an IPC channel; the
 * helper refuses any address that is not loopback. The same preload makes the server exit at once
 * on SIGTERM (kinesis-mock's own shutdown waits ~30 s) and when the IPC channel closes, so a test
 * process that dies cannot leave the server behind.
 *
 * kinesis-local opens a plain HTTP port and a TLS port; both are ephemeral unless a plain port is
 * given. The plain one is told apart by probing: it is the one that answers ListStreams over HTTP.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ValidationError } from '../../src/errors.js';

/** Options of {@link startKinesisLocal}. */
export interface KinesisLocalOptions {
  /** Plain HTTP port; 0 (the default) picks a free one. The TLS port is always ephemeral. */
  port?: number;
  /** Shards allowed across all streams (SHARD_LIMIT). Default 200 (kinesis-local's own: 50). */
  shardLimit?: number;
  /**
   * How long CreateStream, DeleteStream, SplitShard, MergeShards, UpdateShardCount and
   * UpdateStreamMode keep the stream in CREATING/UPDATING/DELETING, ms. Default 50
   * (kinesis-local's own: 500).
   */
  operationDelayMs?: number;
  /** Give up starting after this long. Default 30 s (the server needs ~1.5 s on an idle machine). */
  startTimeoutMs?: number;
  /** More configuration variables (see kinesis-local's README), e.g. `ON_DEMAND_STREAM_COUNT_LIMIT`. */
  env?: Readonly<Record<string, string>>;
}

/** A running kinesis-local. */
export interface KinesisLocalServer {
  /** `http://127.0.0.1:<port>`: the plain HTTP endpoint. */
  url: string;
  port: number;
  /**
   * Every port the server reported listening on so far (the plain one, and the TLS one, which
   * may come up a moment after the plain one answers), all on 127.0.0.1.
   */
  readonly ports: number[];
  /** Process id of the server. */
  pid: number;
  /** The last 64 KiB the server wrote to stdout and stderr (for failure messages). */
  output(): string;
  /** Stops the server (SIGTERM, SIGKILL after 2 s) and removes the preload. Idempotent. */
  close(): Promise<void>;
}

/** What {@link tryStartKinesisLocal} returns: a server, or why the tests using it are skipped. */
export type KinesisLocalStart = { server: KinesisLocalServer; skip?: undefined } | { server?: undefined; skip: string };

const OUTPUT_LIMIT = 64 * 1024;

/** The preload: pins every listen to loopback, reports addresses, exits with its parent. */
const PRELOAD = `'use strict';
// Written by floe's test helper test/source/kinesis-local-server.ts. See its module comment.
const net = require('node:net');
const HOST = '127.0.0.1';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const a = args[0];
  if (typeof a === 'number' || (typeof a === 'string' && /^[0-9]+$/.test(a))) {
    if (typeof args[1] === 'string') args[1] = HOST;
    else args.splice(1, 0, HOST);
  } else if (a === undefined || typeof a === 'function') {
    args.unshift(0, HOST);
  } else if (a !== null && typeof a === 'object' && a.path === undefined && a.fd === undefined && a.handle === undefined && a._handle === undefined) {
    args[0] = { ...a, host: HOST };
  } else {
    throw new Error('kinesis-local preload: refusing a listen that cannot be pinned to ' + HOST);
  }
  this.once('listening', () => {
    const ad = this.address();
    if (process.send && ad && typeof ad === 'object') process.send({ type: 'listening', address: ad.address, port: ad.port });
  });
  return listen.apply(this, args);
};
// kinesis-mock's runtime replaces process.exit; its replacement was seen to leave the process
// running for seconds (graceful shutdown). Keep the real one.
const exit = process.exit.bind(process);
process.on('disconnect', () => exit(0));
process.on('SIGTERM', () => exit(0));
`;

/** Path of kinesis-local's main.js, or undefined when the package is not installed. */
export function kinesisLocalMain(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return require.resolve('kinesis-local/main.js');
  } catch {
    return undefined;
  }
}

/** Error code of a start that failed for reasons of the machine (missing package, crash, timeout). */
const UNAVAILABLE = 'KINESIS_LOCAL_UNAVAILABLE';

/** A failed start of kinesis-local; its codes are this helper's, not floe's `ErrorCode`s. */
export class KinesisLocalError extends Error {
  constructor(
    readonly code: typeof UNAVAILABLE | 'KINESIS_LOCAL_NOT_LOOPBACK',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KinesisLocalError';
  }
}

function fail(message: string, cause?: unknown, code: KinesisLocalError['code'] = UNAVAILABLE): KinesisLocalError {
  return new KinesisLocalError(code, `kinesis-local: ${message}`, cause === undefined ? {} : { cause });
}

/** True when `port` on 127.0.0.1 answers ListStreams over plain HTTP with 200. */
function answersListStreams(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const body = '{}';
    const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, ''); // 20240101T000000Z
    const req = request(
      {
        host: '127.0.0.1',
        port,
        agent: false,
        method: 'POST',
        path: '/',
        timeout: timeoutMs,
        headers: {
          'content-type': 'application/x-amz-json-1.1',
          'x-amz-target': 'Kinesis_20131202.ListStreams',
          // kinesis-local wants a SigV4-shaped header (it reads the account from it, never checks it).
          authorization: `AWS4-HMAC-SHA256 Credential=floe/${date.slice(0, 8)}/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`,
          'x-amz-date': date,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

function nonNegativeInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 0) throw new ValidationError(`kinesis-local: ${name} must be a non-negative integer, got ${String(v)}`);
  return v;
}

/**
 * Starts kinesis-local on 127.0.0.1 and resolves once it answers ListStreams. Rejects with the
 * server's output when the package is missing, the process exits, an address is not loopback, or
 * it does not answer within `startTimeoutMs`.
 */
export async function startKinesisLocal(options: KinesisLocalOptions = {}): Promise<KinesisLocalServer> {
  const main = kinesisLocalMain();
  if (!main) throw fail('package kinesis-local is not installed (devDependency)');
  const port = nonNegativeInt(options.port ?? 0, 'port');
  const delay = `${nonNegativeInt(options.operationDelayMs ?? 50, 'operationDelayMs')}ms`;
  const timeoutMs = options.startTimeoutMs ?? 30_000;

  const dir = await mkdtemp(join(tmpdir(), 'floe-kinesis-local-'));
  const preload = join(dir, 'loopback-preload.cjs');
  await writeFile(preload, PRELOAD);
  const cert = join(dirname(main), 'server.json');

  // A controlled environment: no NODE_OPTIONS (test loaders), no AWS settings of the caller.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    KINESIS_MOCK_PLAIN_PORT: String(port),
    KINESIS_MOCK_TLS_PORT: '0',
    ...(existsSync(cert) ? { KINESIS_MOCK_CERT_PATH: cert } : {}),
    SHARD_LIMIT: String(nonNegativeInt(options.shardLimit ?? 200, 'shardLimit')),
    CREATE_STREAM_DURATION: delay,
    DELETE_STREAM_DURATION: delay,
    MERGE_SHARDS_DURATION: delay,
    SPLIT_SHARD_DURATION: delay,
    UPDATE_SHARD_COUNT_DURATION: delay,
    UPDATE_STREAM_MODE_DURATION: delay,
    REGISTER_STREAM_CONSUMER_DURATION: delay,
    DEREGISTER_STREAM_CONSUMER_DURATION: delay,
    AWS_REGION: 'us-east-1',
    SHOULD_PERSIST_DATA: 'false',
    LOG_LEVEL: 'WARN',
    ...options.env,
  };

  let output = '';
  const append = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    if (output.length > OUTPUT_LIMIT) output = output.slice(output.length - OUTPUT_LIMIT);
  };
  const child: ChildProcess = spawn(process.execPath, ['-r', preload, main], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const ports: number[] = [];
  let badAddress: string | undefined;
  let url: string | undefined;
  child.on('message', (m: unknown) => {
    const msg = m as { type?: unknown; address?: unknown; port?: unknown };
    if (msg.type !== 'listening' || typeof msg.port !== 'number') return;
    if (msg.address === '127.0.0.1') {
      ports.push(msg.port);
    } else {
      badAddress = String(msg.address);
      // After the start the tests are already using it: stop it hard rather than leave it exposed.
      if (url !== undefined) child.kill('SIGKILL');
    }
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', (e) => {
      spawnError = e;
      if (child.pid === undefined) {
        exited = { code: null, signal: null };
        resolve();
      }
    });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (!exited) {
        // Closing the IPC channel makes the preload exit at once; signals are the fallback.
        if (child.connected) child.disconnect();
        const term = setTimeout(() => child.kill('SIGTERM'), 500);
        const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exit;
        clearTimeout(term);
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  const deadline = Date.now() + timeoutMs;
  let plain = 0;
  try {
    while (!url) {
      if (spawnError && child.pid === undefined) throw fail(`cannot run ${process.execPath} ${main}: ${spawnError.message}`, spawnError);
      if (exited) throw fail(`server exited during start (code ${exited.code}, signal ${exited.signal}); output:\n${output.slice(-4000)}`);
      if (badAddress !== undefined) throw fail(`server listened on ${badAddress}, not 127.0.0.1; stopped it`, undefined, 'KINESIS_LOCAL_NOT_LOOPBACK');
      if (Date.now() > deadline) throw fail(`server did not answer within ${timeoutMs} ms (listening on ${ports.join(', ') || 'nothing'}); output:\n${output.slice(-4000)}`);
      const candidates = port !== 0 ? ports.filter((p) => p === port) : ports;
      for (const p of candidates) {
        if (await answersListStreams(p, 1_000)) {
          plain = p;
          url = `http://127.0.0.1:${p}`;
          break;
        }
      }
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await close();
    throw e;
  }
  // A forgotten close must not keep the test process alive; when it exits, the IPC channel
  // closes and the preload ends the server.
  child.unref();
  child.channel?.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();

  return {
    url,
    port: plain,
    get ports() {
      return [...ports];
    },
    pid: child.pid as number,
    output: () => output,
    close,
  };
}

/**
 * Starts kinesis-local, or explains why it could not: tests call `t.skip(skip)` then. Only
 * failures of the machine (package missing, server crashed or never answered) become a skip; a
 * server on a non-loopback address or bad options still throw. Set FLOE_REQUIRE_KINESIS_LOCAL=1
 * to make every failed start throw (CI).
 */
export async function tryStartKinesisLocal(options: KinesisLocalOptions = {}): Promise<KinesisLocalStart> {
  try {
    return { server: await startKinesisLocal(options) };
  } catch (e) {
    if (process.env.FLOE_REQUIRE_KINESIS_LOCAL === '1' || !(e instanceof KinesisLocalError) || e.code !== UNAVAILABLE) throw e;
    return { skip: `kinesis-local cannot start on this machine, test skipped: ${(e as Error).message.split('\n')[0] ?? ''}` };
  }
}
