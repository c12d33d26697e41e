/**
 * A real dynalite (DynamoDB on LevelDB, in memory) on 127.0.0.1 for the lease tests, in a child
 * process of its own (as a DynamoDB endpoint is: the workers' event loop is not the server's),
 * started on a free port and stopped by the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbClientFromEnv } from '../../src/source/kinesis/leases/dynamodb-client.js';

// The SDK warns once per process that Node 20 support ends in 2027; keep test output readable.
process.removeAllListeners('warning');
process.on('warning', (w) => {
  if (!`${w.name} ${w.message}`.includes('NodeVersionSupportWarning')) console.warn(w);
});

const require = createRequire(import.meta.url);

/** A running dynalite and a client for it. */
export interface LocalDynamo {
  url: string;
  client: DynamoDBClient;
  /** Another client (its own sockets), as a second process would have. */
  newClient(): DynamoDBClient;
  close(): Promise<void>;
}

// The child prints its port, and exits when its stdin closes (the test process died) or on SIGTERM.
const SERVER = `
const dynalite = require(process.argv[1]);
const server = dynalite({ createTableMs: Number(process.argv[2]), deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + server.address().port + '\\n'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
`;

/**
 * Starts dynalite in memory in a child process. Tables stay CREATING for `createTableMs`
 * (default 100 ms), so code that waits for ACTIVE is exercised.
 */
export async function startDynalite(createTableMs = 100): Promise<LocalDynamo> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER, require.resolve('dynalite'), String(createTableMs)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with code ${code} before listening`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  child.removeAllListeners('exit');
  const url = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = (): DynamoDBClient => {
    const c = dynamoDbClientFromEnv({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    clients.push(c);
    return c;
  };
  const client = newClient();
  return {
    url,
    client,
    newClient,
    async close() {
      for (const c of clients) c.destroy();
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Waits until `cond` holds, polling every `everyMs`; fails naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000, everyMs = 20): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await cond()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** `n` shards named as Kinesis names them (`shardId-000000000000`, …). */
export function shardIds(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `shardId-${String(from + i).padStart(12, '0')}`);
}
