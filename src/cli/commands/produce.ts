/**
 * `floe produce`: sends events shaped like the reference system's test events (or lines from
 * stdin) with PutRecords in batches, at an optional rate; a progress bar on a TTY.
 */
import { createInterface } from 'node:readline';
import { kinesisClientFromEnv } from '../../source/kinesis/client.js';
import { putRecords, type PutEntry } from '../../source/kinesis/producer.js';
import { referenceEntries } from '../../source/kinesis/reference-events.js';
import { parse, str, UsageError } from '../args.js';
import { renderUsage, type CommandSpec } from '../help.js';
import type { CommandIO } from '../io.js';

/** `floe produce`: what it parses and what its help says. */
export const PRODUCE_SPEC: CommandSpec = {
  name: 'produce',
  args: '--stream NAME',
  summary: 'Sends reference events (or stdin lines) to a Kinesis stream with PutRecords, in batches of up to 500; a progress bar on a terminal.',
  flags: {
    stream: { type: 'string', value: 'NAME', help: 'the stream (required)' },
    count: { type: 'string', value: 'N', help: 'how many reference events to send (default 10)' },
    rate: { type: 'string', value: 'R', help: 'at most R records per second (default unlimited)' },
    stdin: { type: 'boolean', help: 'sends one record per non-empty stdin line instead (partition keys pk_0, pk_1, …)' },
    endpoint: { type: 'string', value: 'URL', help: 'the Kinesis endpoint (default AWS_ENDPOINT_URL_KINESIS, else AWS\'s)' },
    region: { type: 'string', value: 'R', help: 'the AWS region (default AWS_REGION)' },
  },
};

/** The usage text of `floe produce`. */
export const PRODUCE_USAGE = renderUsage(PRODUCE_SPEC);

function bar(done: number, total: number): string {
  const width = 30;
  const filled = total > 0 ? Math.round((done / total) * width) : width;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

function positiveNumber(v: string | undefined, flag: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`cli: ${flag} must be a positive number, got '${v}'`);
  return n;
}

/** Runs `floe produce`. */
export async function produceCommand(argv: string[], io: CommandIO, stdin: NodeJS.ReadableStream = process.stdin): Promise<number> {
  const { values } = parse(PRODUCE_SPEC, argv);
  const stream = str(values, 'stream');
  if (!stream) throw new UsageError(`cli: produce needs --stream\n${PRODUCE_USAGE}`);
  const count = positiveNumber(str(values, 'count'), '--count', 10);
  if (!Number.isInteger(count)) throw new UsageError(`cli: --count must be a positive integer, got '${str(values, 'count')}'`);
  const rate = str(values, 'rate') === undefined ? undefined : positiveNumber(str(values, 'rate'), '--rate', 1);
  const endpoint = str(values, 'endpoint');
  const region = str(values, 'region');
  const client = kinesisClientFromEnv({ ...(endpoint ? { endpoint } : {}), ...(region ? { region } : {}), env: io.env });
  const tty = io.isTTY;
  let sent = 0;

  const send = async (entries: PutEntry[], total: number) => {
    await putRecords(client, { streamName: stream }, entries);
    sent += entries.length;
    if (tty) io.stderr(`\r${bar(sent, total)}`);
  };

  try {
    if (values.stdin === true) {
      const lines = createInterface({ input: stdin, crlfDelay: Infinity });
      let chunk: PutEntry[] = [];
      let i = 0;
      const started = Date.now();
      for await (const line of lines) {
        if (line.length === 0) continue;
        chunk.push({ data: new TextEncoder().encode(line), partitionKey: `pk_${i++}` });
        if (chunk.length >= 500 || (rate !== undefined && chunk.length >= Math.max(1, Math.floor(rate / 10)))) {
          await send(chunk, i);
          chunk = [];
          if (rate !== undefined) await pace(started, i, rate);
        }
      }
      if (chunk.length) await send(chunk, i);
    } else {
      const started = Date.now();
      const step = rate === undefined ? 500 : Math.max(1, Math.min(500, Math.floor(rate / 10)));
      for (let first = 0; first < count; first += step) {
        const n = Math.min(step, count - first);
        await send(referenceEntries(n, { first }), count);
        if (rate !== undefined) await pace(started, first + n, rate);
      }
    }
  } finally {
    client.destroy();
  }
  if (tty) io.stderr('\n');
  io.stdout(`sent ${sent} record${sent === 1 ? '' : 's'} to ${stream}\n`);
  return 0;
}

/** Sleeps so that `sent` records take at least `sent / rate` seconds since `started`. */
async function pace(started: number, sent: number, rate: number): Promise<void> {
  const due = started + (sent / rate) * 1000;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
