/**
 * `floe local`: an embedded Kinesis-compatible endpoint (kinesalite) on 127.0.0.1 for development.
 * Prints its URL and stops cleanly on SIGINT/SIGTERM.
 */
import { resolve } from 'node:path';
import { ensureLocalDirectory } from '../../catalog/local-directory.js';
import { kinesisClientFromEnv } from '../../source/kinesis/client.js';
import { ensureStream } from '../../source/kinesis/admin.js';
import { startLocalKinesis } from '../../source/local-kinesis.js';
import { parse, str, UsageError } from '../args.js';
import { renderUsage, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';

/** `floe local`: what it parses and what its help says. */
export const LOCAL_SPEC: CommandSpec = {
  name: 'local',
  summary:
    'Starts a Kinesis-compatible endpoint (kinesalite) on 127.0.0.1, optionally creating a stream, prints its URL ' +
    'on stdout and runs until SIGINT/SIGTERM.',
  flags: {
    port: { type: 'string', value: 'P', help: 'the port (default 4567; 0 picks a free one)' },
    data: { type: 'string', value: 'DIR', help: 'keeps the streams in DIR across restarts (default in memory)' },
    stream: { type: 'string', value: 'NAME', help: 'creates this stream if it does not exist' },
    shards: { type: 'string', value: 'N', help: "the new stream's shard count (default 1)" },
  },
  notes: 'Then: export AWS_ENDPOINT_URL_KINESIS=<the printed URL> before floe produce / floe run.',
};

/** The usage text of `floe local`. */
export const LOCAL_USAGE = renderUsage(LOCAL_SPEC);

/** Runs `floe local`. */
export async function localCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parse(LOCAL_SPEC, argv);
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
  if (data) ensureLocalDirectory(data, 'local: --data');
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
