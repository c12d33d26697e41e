/**
 * What a GetRecords response costs the reader, by protocol and parser (issue 13: "measure before
 * choosing"): the same 10,000 reference events (150 bytes) fetched again and again from the fast
 * endpoint (`kinesis-fast-server.ts`, its own process, core 1 when there is one) by
 *
 * - `sdk-json`: the SDK's client and its own JSON 1.1 deserializer,
 * - `lean-json`: the same client with floe's parser (`get-records.ts`: JSON.parse, Node's base64),
 * - `sdk-cbor`: the SDK's client speaking x-amz-cbor-1.1 (`kinesis-cbor-client.ts`; `Data` raw bytes,
 *   no base64),
 *
 * in alternating rounds; CPU of this process (all threads) per record, the response's size, and
 * the records' bytes touched so nothing is left lazy.
 *
 *   taskset -c 0 node dist/bench/kinesis-protocols.js [--rounds 5] [--calls 10] [--records 10000]
 */
import { spawn, execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { GetRecordsCommand, GetShardIteratorCommand, type GetRecordsCommandOutput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { kinesisClientFromEnv } from '../src/source/kinesis/client.js';
import { getRecordsCommand } from '../src/source/kinesis/get-records.js';
import { emitResult, flag, median } from './common.js';
import { cborKinesisClient } from './kinesis-cbor-client.js';

const rounds = Number(flag('rounds', '5'));
const calls = Number(flag('calls', '10'));
const records = Number(flag('records', '10000'));

let taskset = false;
try {
  execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  taskset = true;
} catch {
  // not pinned
}
const serverArgv = [process.execPath, new URL('./kinesis-fast-server.js', import.meta.url).pathname, '--shards', '1', '--events', String(records), '--stream', 'protocols'];
const server = taskset && cpus().length > 1 ? spawn('taskset', ['-c', '1', ...serverArgv], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(serverArgv[0]!, serverArgv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
const lines: Record<string, unknown>[] = [];
let wake: (() => void) | undefined;
createInterface({ input: server.stdout! }).on('line', (l) => {
  if (l.startsWith('{')) lines.push(JSON.parse(l) as Record<string, unknown>);
  wake?.();
});
async function line(pred: (x: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (;;) {
    const i = lines.findIndex(pred);
    if (i >= 0) return lines.splice(i, 1)[0]!;
    await new Promise<void>((r) => (wake = r));
  }
}
async function responseBytes(): Promise<number> {
  server.stdin!.write('stats\n');
  return Number(((await line((x) => x.stats !== undefined)).stats as { responseBytes: number }).responseBytes);
}
const { url } = (await line((x) => x.url !== undefined)) as { url: string };
const base = { endpoint: url, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
const json = kinesisClientFromEnv(base);
const cbor = cborKinesisClient(base);
const iterator = (await json.send(new GetShardIteratorCommand({ StreamName: 'protocols', ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator!;

type Variant = 'sdk-json' | 'lean-json' | 'sdk-cbor';
const send = (v: Variant): Promise<GetRecordsCommandOutput> =>
  v === 'sdk-json'
    ? json.send(new GetRecordsCommand({ ShardIterator: iterator }))
    : v === 'lean-json'
      ? json.send(getRecordsCommand({ ShardIterator: iterator }))
      : (cbor as KinesisClient).send(new GetRecordsCommand({ ShardIterator: iterator }));
const variants: Variant[] = ['sdk-json', 'lean-json', 'sdk-cbor'];
const perRecord = new Map<Variant, number[]>(variants.map((v) => [v, []]));
const size = new Map<Variant, number>();
let touched = 0;
for (const v of variants) for (let i = 0; i < 3; i++) await send(v); // warm-up (and the endpoint's CBOR body)
for (let r = 0; r < rounds; r++) {
  for (const v of r % 2 ? [...variants].reverse() : variants) {
    const bytes0 = await responseBytes();
    const cpu0 = process.cpuUsage();
    let got = 0;
    for (let c = 0; c < calls; c++) {
      const res = await send(v);
      for (const rec of res.Records ?? []) touched += rec.Data!.byteLength + rec.PartitionKey!.length + (rec.ApproximateArrivalTimestamp!.getTime() & 1);
      got += res.Records?.length ?? 0;
    }
    const cpu = process.cpuUsage(cpu0);
    size.set(v, ((await responseBytes()) - bytes0) / calls);
    if (got !== calls * records) throw new Error(`kinesis-protocols: ${v} returned ${got} records, expected ${calls * records}`);
    perRecord.get(v)!.push((cpu.user + cpu.system) / got);
  }
}
json.destroy();
cbor.destroy();
server.stdin!.end();
emitResult({
  bench: 'kinesis-protocols',
  records,
  calls,
  rounds,
  pinned: taskset,
  /** Client CPU per record (µs, all threads of this process), median of the rounds, and every round. */
  cpuMicrosPerRecord: Object.fromEntries(variants.map((v) => [v, median(perRecord.get(v)!)])),
  rounds_: Object.fromEntries(variants.map((v) => [v, perRecord.get(v)!.map((x) => Number(x.toFixed(2)))])),
  /** Bytes of one response of `records` records. */
  responseBytes: Object.fromEntries(variants.map((v) => [v, size.get(v)])),
  touched,
});
