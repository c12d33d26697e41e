/**
 * Shared pieces of the tests that run against kinesis-local (see kinesis-local-server.ts): a
 * keyed producer that writes an increasing counter per key while resharding happens, hash keys
 * that spread keys evenly over any uniform shard layout, UpdateShardCount, and the shard lineage
 * as the server reports it.
 */
import { ListShardsCommand, UpdateShardCountCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { waitForStreamActive } from '../../src/source/kinesis/admin.js';
import { putRecords, type PutEntry } from '../../src/source/kinesis/producer.js';

/** One shard as ListShards reports it. */
export interface LineageShard {
  id: string;
  parents: string[];
  closed: boolean;
}

/** Every shard of the stream (all pages), with its parents. */
export async function lineage(client: KinesisClient, streamName: string): Promise<LineageShard[]> {
  const shards: Shard[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListShardsCommand(token === undefined ? { StreamName: streamName } : { NextToken: token }));
    shards.push(...(res.Shards ?? []));
    token = res.NextToken ?? undefined;
  } while (token !== undefined);
  return shards.map((s) => ({
    id: s.ShardId as string,
    parents: [s.ParentShardId, s.AdjacentParentShardId].filter((x): x is string => typeof x === 'string' && x.length > 0),
    closed: s.SequenceNumberRange?.EndingSequenceNumber != null,
  }));
}

/** UpdateShardCount (uniform scaling), then waits until the stream is ACTIVE again. */
export async function updateShardCount(client: KinesisClient, streamName: string, target: number): Promise<void> {
  await client.send(new UpdateShardCountCommand({ StreamName: streamName, TargetShardCount: target, ScalingType: 'UNIFORM_SCALING' }));
  await waitForStreamActive(client, streamName, 20_000);
}

const HASH_SPACE = 1n << 128n;

/**
 * The explicit hash key of key `k` of `n`: the middle of the k-th of 2n equal slices of the hash
 * space. Any uniform layout of at most n shards (and every layout UNIFORM_SCALING produces from
 * 2 to 4 to 2 to 1 with n = 16) then holds at least one key in each shard.
 */
export function spreadHashKey(k: number, n: number): string {
  return ((BigInt(2 * k + 1) * HASH_SPACE) / BigInt(2 * n)).toString();
}

/** A record written by {@link KeyedProducer}: key and its counter. */
export interface KeyedRecord {
  key: string;
  n: number;
}

/** Parses a record written by {@link KeyedProducer}. */
export function parseKeyed(data: Uint8Array): KeyedRecord {
  const v = JSON.parse(new TextDecoder().decode(data)) as { key?: unknown; n?: unknown };
  if (typeof v.key !== 'string' || typeof v.n !== 'number') throw new Error(`test: not a keyed record: ${new TextDecoder().decode(data)}`);
  return { key: v.key, n: v.n };
}

/**
 * Writes rounds of one record per key, `{"key": "key-<k>", "n": <round>}` (plus any `extra`
 * fields), each round a PutRecords call awaited before the next: per key, records are written
 * in counter order, so a reader that respects shard lineage must return them in that order.
 */
export class KeyedProducer {
  readonly keys: string[];
  /** Complete rounds written (every key has counters 0 .. rounds-1). */
  rounds = 0;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: KinesisClient,
    private readonly streamName: string,
    keyCount: number,
    private readonly options: { pauseMs?: number; extra?: (key: string, n: number) => Record<string, unknown> } = {},
  ) {
    this.keys = Array.from({ length: keyCount }, (_, k) => `key-${k}`);
  }

  /** Records written so far. */
  get total(): number {
    return this.rounds * this.keys.length;
  }

  /** Starts writing rounds until {@link stop}. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Stops after the round in flight; rejects if a PutRecords failed. Returns the records written. */
  async stop(): Promise<number> {
    this.stopped = true;
    await this.running;
    return this.total;
  }

  /** Writes `rounds` more rounds now (without the loop). */
  async writeRounds(rounds: number): Promise<void> {
    for (let i = 0; i < rounds; i++) await this.writeRound();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      await this.writeRound();
      if (this.options.pauseMs) await new Promise((r) => setTimeout(r, this.options.pauseMs));
    }
  }

  private async writeRound(): Promise<void> {
    const n = this.rounds;
    const entries: PutEntry[] = this.keys.map((key, k) => ({
      data: new TextEncoder().encode(JSON.stringify({ key, n, ...this.options.extra?.(key, n) })),
      partitionKey: key,
      explicitHashKey: spreadHashKey(k, this.keys.length),
    }));
    await putRecords(this.client, { streamName: this.streamName, maxAttempts: 20, backoff: { baseDelayMs: 20, maxDelayMs: 500 } }, entries);
    this.rounds = n + 1;
  }
}

/** Sleeps `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
