import { GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { clientFor, createStream, startLocal } from './test/source/kinesis-test-helpers.ts';
import { kinesisClientFromEnv } from './src/source/kinesis/client.ts';
const env = await startLocal();
await createStream(env.client, 's');
const c = kinesisClientFromEnv({ endpoint: env.kinesis.url, maxAttempts: 1, requestTimeoutMs: 2000 });
const t0 = Date.now();
try { const r = await c.send(new GetShardIteratorCommand({ StreamName: 's', ShardId: 'shardId-000000000000', ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(Date.now() - 5000) })); console.log('ok', !!r.ShardIterator, Date.now() - t0); } catch (e: any) { console.log('err', e.name, e.message, Date.now() - t0); }
c.destroy(); await env.close();
