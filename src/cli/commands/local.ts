/**
 * `floe local`: an embedded Kinesis-compatible endpoint (kinesalite) on 127.0.0.1 for development.
 * Prints its URL and stops cleanly on SIGINT/SIGTERM.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { kinesisClientFromEnv } from '../../source/kinesis/client.js';
import { ensureStream } from '../../source/kinesis/admin.js';
import { startLocalKinesis } from '../../source/local-kinesis.js';
import { parse, str, UsageError } from '../args.js';
import type { CommandIO } from '../io.js';

export const LOCAL_USAGE = `usage: floe local [--port P] [--data DIR] [--stream NAME [--shards N]]
  Starts a Kinesis-compatible endpoint on 127.0.0.1 (in memory unless --data is given),
  optionally creating a stream, and runs until SIGINT.`;

/** Runs `floe local`. */
export async function localCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parse('local', argv, {
    port: { type: 'string' },
    data: { type: 'string' },
    stream: { type: 'string' },
    shards: { type: 'string' },
  });
  const portText = str(values, 'port') ?? '4567';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`cli: --port must be 0..65535, got '${portText}'`);
  const shards = Number(str(values, 'shards') ?? '1');
  if (!Number.isInteger(shards) || shards < 1) throw new UsageError(`cli: --shards must be a positive integer`);
  const stream = str(values, 'stream');
  if (stream !== undefined && !/^[a-zA-Z0-9_.-]{1,128}$/.test(stream)) {
    throw new UsageError(`cli: --stream: invalid stream name '${stream}' (1 to 128 of a-z, A-Z, 0-9, _ . -)`);
  }
  const data = str(values, 'data');
  if (data) await mkdir(resolve(data), { recursive: true });
  const local = await startLocalKinesis({ port, ...(data ? { path: resolve(data) } : {}) });
  if (stream) {
    const client = kinesisClientFromEnv({ endpoint: local.url, env: io.env });
    try {
      await ensureStream(client, { streamName: stream, mode: 'PROVISIONED', shardCount: shards });
    } catch (e) {
      // A running server would keep the process alive after the error.
      await local.close();
      throw e;
    } finally {
      client.destroy();
    }
  }
  io.stdout(`${local.url}\n`);
  io.stderr(
    `floe: Kinesis endpoint on ${local.url}${data ? ` (data in ${resolve(data)})` : ' (in memory)'}${stream ? `, stream ${stream}` : ''}\n` +
      `      export AWS_ENDPOINT_URL_KINESIS=${local.url}   # then floe produce / floe run\n` +
      `      Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await local.close();
  io.stderr('floe: local endpoint stopped\n');
  return 0;
}
