/**
 * `floe quickstart` (what `npm start` runs): the reference system end to end on this machine, in
 * seconds. Starts an embedded Kinesis endpoint, creates the stream, the namespace and the table in
 * a local warehouse with the embedded catalog, runs the pipeline, sends 10 reference events, waits
 * until they are committed, prints the reference query's result, stops everything and says how to
 * query the table again.
 *
 * The stream is kept beside the warehouse (`<warehouse>/.kinesis`), so running the quickstart
 * again continues the same stream and table: the positions committed in the table stay valid.
 */
import { join, relative, resolve } from 'node:path';
import { ensureLocalDirectory } from '../../catalog/local-directory.js';
import { openCatalog } from '../../catalog/open.js';
import { referenceConfig, REFERENCE_STREAM, REFERENCE_TABLE } from '../../pipeline/reference.js';
import { QueryEngine } from '../../query/engine.js';
import { openPipeline } from '../../run/run-pipeline.js';
import { ensureStream } from '../../source/kinesis/admin.js';
import { kinesisClientFromEnv } from '../../source/kinesis/client.js';
import { putRecords } from '../../source/kinesis/producer.js';
import { referenceEntries } from '../../source/kinesis/reference-events.js';
import { startLocalKinesis } from '../../source/local-kinesis.js';
import { parse, str, UsageError } from '../args.js';
import { formatResult } from '../format.js';
import { renderUsage, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';
import { kinesisSourceFor, RunReporter } from './run.js';

/** `floe quickstart`: what it parses and what its help says. */
export const QUICKSTART_SPEC: CommandSpec = {
  name: 'quickstart',
  summary:
    'Runs the reference pipeline on this machine (what npm start runs): an embedded Kinesis endpoint, the stream, ' +
    'the table in a local warehouse with the embedded catalog, floe, N reference events, then the reference query. ' +
    'Running it again appends to the same stream and table.',
  flags: {
    warehouse: { type: 'string', value: 'DIR', help: 'where the table, its catalog and the stream live (default FLOE_WAREHOUSE, else ./warehouse)' },
    count: { type: 'string', value: 'N', help: 'how many reference events to send (default 10)' },
    source: {
      type: 'string',
      value: 'kinesis|kafka',
      help: 'kafka: the local twin instead (Kafka mock cluster via kcat, floe catalog serve, s3rver as the warehouse; from a checkout), everything temporary',
    },
  },
};

/** The usage text of `floe quickstart`. */
export const QUICKSTART_USAGE = renderUsage(QUICKSTART_SPEC);

const REFERENCE_QUERY = `SELECT * FROM ${REFERENCE_TABLE} ORDER BY event_time DESC LIMIT 10`;

/** Runs `floe quickstart`. */
export async function quickstartCommand(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parse(QUICKSTART_SPEC, argv);
  const t0 = Date.now();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(2)} s`;
  const say = (s: string) => io.stderr(`[${elapsed()}] ${s}\n`);
  const warehouse = resolve(str(values, 'warehouse') ?? io.env.FLOE_WAREHOUSE ?? 'warehouse');
  const count = Number(str(values, 'count') ?? '10');
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`cli: --count must be a positive integer`);
  const sourceType = str(values, 'source') ?? 'kinesis';
  if (sourceType !== 'kinesis' && sourceType !== 'kafka') throw new UsageError(`cli: --source must be kinesis or kafka, got '${sourceType}'`);
  if (sourceType === 'kafka') {
    const { quickstartKafka } = await import('./quickstart-kafka.js');
    return quickstartKafka(io, count);
  }

  const kinesisDir = join(warehouse, '.kinesis');
  ensureLocalDirectory(kinesisDir, 'quickstart: --warehouse');
  const local = await startLocalKinesis({ path: kinesisDir });
  say(`embedded Kinesis endpoint on ${local.url}`);
  const client = kinesisClientFromEnv({ endpoint: local.url, env: io.env });
  const catalog = await openCatalog({ warehouse });
  try {
    // kinesalite has no ON_DEMAND mode (the reference stream's); one provisioned shard stands in.
    const created = await ensureStream(client, { streamName: REFERENCE_STREAM, mode: 'PROVISIONED', shardCount: 1 });
    say(`stream ${REFERENCE_STREAM} ${created.created ? 'created' : 'exists'}`);

    const config = referenceConfig({ warehouse, endpoint: local.url });
    const reporter = new RunReporter({ ...io, isTTY: false, stdout: () => undefined });
    let committed = 0;
    let firstCommitAt: string | undefined;
    const source = kinesisSourceFor(config, () => undefined, { ...io.env, AWS_ENDPOINT_URL_KINESIS: local.url });
    const pipeline = await openPipeline({
      config,
      catalog,
      source,
      onEvent: (e) => {
        reporter.event(e);
        if (e.type === 'commit') {
          committed += e.records + e.deadLetters;
          firstCommitAt ??= elapsed();
          say(`committed snapshot ${e.snapshotId}: ${e.records} rows in ${e.durationMs} ms`);
        }
      },
    });
    say(`table ${REFERENCE_TABLE} ready in ${relative(process.cwd(), warehouse) || '.'} (embedded SQLite catalog)`);
    // A pipeline that fails stops the wait below; its error is reported by `await running`.
    let failed = false;
    const running = pipeline.run();
    running.catch(() => {
      failed = true;
    });
    say('pipeline running (commit interval 1 s)');

    const sentAt = Date.now();
    await putRecords(client, { streamName: REFERENCE_STREAM }, referenceEntries(count, { first: 0 }));
    say(`sent ${count} reference events`);
    const deadline = Date.now() + 30_000;
    while (committed < count && !failed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const landed = committed >= count;
    pipeline.stop();
    await running;
    if (!landed) {
      io.stderr(`floe: quickstart: only ${committed} of ${count} events were committed within 30 s\n`);
      return 1;
    }
    say(`all ${count} events committed ${((Date.now() - sentAt) / 1000).toFixed(2)} s after sending`);

    const engine = await QueryEngine.open({ catalog });
    try {
      const result = await engine.query(REFERENCE_QUERY);
      io.stdout(`\n${REFERENCE_QUERY}\n\n`);
      io.stdout(formatResult(result, 'table'));
    } finally {
      engine.close();
    }
    const rel = relative(process.cwd(), warehouse) || '.';
    io.stdout(
      `\nDone in ${elapsed()}. The table lives in ${warehouse}.\n` +
        `Query it again:\n` +
        `  npx floe query --warehouse ${rel} "${REFERENCE_QUERY}"\n` +
        `  npx floe table describe --warehouse ${rel} ${REFERENCE_TABLE}\n` +
        `Run the quickstart again to append ${count} more events to the same stream and table.\n`,
    );
    void firstCommitAt;
    return 0;
  } finally {
    client.destroy();
    await catalog.close();
    await local.close();
  }
}
