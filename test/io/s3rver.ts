/**
 * A real S3-compatible server for tests: s3rver in a child process on 127.0.0.1 (a random port),
 * with its data in a temporary directory removed on close.
 *
 * A child process rather than in-process because s3rver's ListObjectsV2 continuation tokens need
 * `--openssl-legacy-provider` on Node 20 (they answer 500 otherwise), and because it keeps the
 * server's work off the test's event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { S3FileIO, type S3FileIOOptions } from '../../src/io/s3.js';

/** A running s3rver. */
export interface S3rver {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

function s3rverBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js');
}

/** Starts s3rver with the given buckets created. */
export async function startS3rver(buckets: string[] = ['floe']): Promise<S3rver> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-s3rver-'));
  const args = ['--openssl-legacy-provider', s3rverBin(), '-d', dir, '-a', '127.0.0.1', '-p', '0', '-s'];
  for (const b of buckets) args.push('--configure-bucket', b);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${output}`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The key pair s3rver accepts (it checks signatures, so arbitrary dummy keys are refused). */
export const S3RVER_CREDENTIALS = Object.freeze({ accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });

/** An S3FileIO talking to `endpoint` with s3rver's credentials and fast retries (tests). */
export function testS3FileIO(endpoint: string, options: S3FileIOOptions = {}): S3FileIO {
  return new S3FileIO({
    endpoint,
    region: 'us-east-1',
    env: {},
    credentials: { ...S3RVER_CREDENTIALS },
    retry: { baseDelayMs: 5, maxDelayMs: 50 },
    ...options,
  });
}
