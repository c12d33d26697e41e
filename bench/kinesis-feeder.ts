/**
 * A helper process of `overload-kinesis.ts`: runs the embedded Kinesis endpoint (kinesalite) with
 * a `--shards`-shard stream and sends reference events for `--seconds`, at `--rate` events/s or as
 * fast as the endpoint takes them (`--concurrency` PutRecords calls of 500 in flight). Every accepted record is logged
 * to `--out` as `seq,shardId,sequenceNumber`, so the consumer can check exactly which events the
 * positions it committed cover. Prints `{"url": …}` when ready and `{"produced": …}` when done,
 * then keeps serving until its stdin closes.
 */
import { createWriteStream } from 'node:fs';
import { ensureStream } from '../src/source/kinesis/admin.js';
import { kinesisClientFromEnv } from '../src/source/kinesis/client.js';
import { putRecords, type PutEntry } from '../src/source/kinesis/producer.js';
import { startLocalKinesis } from '../src/source/local-kinesis.js';
import { emitResult, flag, liveEvent } from './common.js';

const shards = Number(flag('shards', '1'));
const seconds = Number(flag('seconds', '60'));
const concurrency = Number(flag('concurrency', '4'));
const out = flag('out', '/dev/null');
/** Events per second over all workers; 0: as fast as the endpoint takes them. */
const rate = Number(flag('rate', '0'));
const stream = flag('stream', 'bench-overload');

const kinesis = await startLocalKinesis();
const client = kinesisClientFromEnv({ endpoint: kinesis.url, region: 'us-east-1' });
await ensureStream(client, { streamName: stream, mode: 'PROVISIONED', shardCount: shards });
emitResult({ url: kinesis.url, stream });

const log = createWriteStream(out);
let next = 0;
const t0 = performance.now();
async function worker(): Promise<void> {
  while (performance.now() - t0 < seconds * 1000) {
    if (rate > 0) {
      // Paced: wait until this batch is due.
      const due = t0 + (next / rate) * 1000;
      const now = performance.now();
      if (due > now) await new Promise((resolve) => setTimeout(resolve, due - now));
    }
    const first = next;
    next += 500;
    const entries: PutEntry[] = Array.from({ length: 500 }, (_, k) => ({ data: liveEvent('ov', first + k), partitionKey: `pk_${first + k}` }));
    const results = await putRecords(client, { streamName: stream }, entries);
    log.write(results.map((r, k) => `${first + k},${r.shardId},${r.sequenceNumber}\n`).join(''));
  }
}
await Promise.all(Array.from({ length: concurrency }, () => worker()));
const elapsed = (performance.now() - t0) / 1000;
await new Promise<void>((resolve) => log.end(resolve));
emitResult({ produced: next, seconds: elapsed, eventsPerSecond: next / elapsed });
process.stdin.resume();
process.stdin.on('end', () => {
  void kinesis.close().then(() => process.exit(0));
});
