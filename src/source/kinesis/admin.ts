/**
 * Stream administration for `floe local`, the quickstart and tests: create a stream if it is
 * missing and wait until it is ACTIVE.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  type DescribeStreamSummaryCommandOutput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { FloeError, ValidationError } from '../../errors.js';
import { sleep } from '../../retry.js';
import { classifyKinesisError, describeError } from './client.js';

/** Options of {@link ensureStream}. */
export interface EnsureStreamOptions {
  streamName: string;
  /** ON_DEMAND (the reference system's mode) or PROVISIONED with `shardCount` shards. */
  mode?: 'ON_DEMAND' | 'PROVISIONED';
  /** Shards of a provisioned stream. Default 1. */
  shardCount?: number;
  /** How long to wait for ACTIVE. Default 60 s. */
  timeoutMs?: number;
}

/** What {@link ensureStream} found or did. */
export interface EnsureStreamResult {
  created: boolean;
  streamArn: string | undefined;
  mode: string | undefined;
  openShardCount: number | undefined;
}

async function describe(client: KinesisClient, streamName: string): Promise<DescribeStreamSummaryCommandOutput | undefined> {
  try {
    return await client.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

/** Waits until the stream is ACTIVE (CREATING and UPDATING pass with time). */
export async function waitForStreamActive(client: KinesisClient, streamName: string, timeoutMs = 60_000): Promise<DescribeStreamSummaryCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  for (;;) {
    let d: DescribeStreamSummaryCommandOutput | undefined;
    try {
      d = await describe(client, streamName);
    } catch (e) {
      if (classifyKinesisError(e) === 'fatal') throw new FloeError('KINESIS_ADMIN_FAILED', `kinesis: describing stream ${streamName} failed: ${describeError(e)}`, { cause: e });
    }
    const status = d?.StreamDescriptionSummary?.StreamStatus;
    if (d && status === 'ACTIVE') return d;
    if (status === 'DELETING') throw new FloeError('KINESIS_ADMIN_FAILED', `kinesis: stream ${streamName} is being deleted`);
    if (Date.now() >= deadline) {
      throw new FloeError('KINESIS_ADMIN_FAILED', `kinesis: stream ${streamName} not ACTIVE after ${timeoutMs} ms (status ${status ?? 'missing'})`, { retriable: true });
    }
    await sleep(delay);
    delay = Math.min(1000, delay * 2);
  }
}

/** Creates the stream unless it exists, then waits until it is ACTIVE. */
export async function ensureStream(client: KinesisClient, options: EnsureStreamOptions): Promise<EnsureStreamResult> {
  const mode = options.mode ?? 'PROVISIONED';
  const shardCount = options.shardCount ?? 1;
  if (mode === 'PROVISIONED' && (!Number.isInteger(shardCount) || shardCount < 1)) {
    throw new ValidationError(`kinesis: shardCount must be a positive integer, got ${shardCount}`);
  }
  let created = false;
  let existing: DescribeStreamSummaryCommandOutput | undefined;
  // A keep-alive socket the server closed as it was reused answers ECONNRESET: the describe
  // changes nothing, so transient failures are tried again (floe's clients make one attempt).
  for (let attempt = 1; ; attempt++) {
    try {
      existing = await describe(client, options.streamName);
      break;
    } catch (e) {
      const kind = classifyKinesisError(e);
      if (attempt >= 4 || (kind !== 'transient' && kind !== 'throttle')) {
        throw new FloeError('KINESIS_ADMIN_FAILED', `kinesis: describing stream ${options.streamName} failed: ${describeError(e)}`, { cause: e });
      }
      await sleep(50 * attempt);
    }
  }
  if (!existing) {
    try {
      await client.send(
        new CreateStreamCommand(
          mode === 'ON_DEMAND'
            ? { StreamName: options.streamName, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }
            : { StreamName: options.streamName, ShardCount: shardCount },
        ),
      );
      created = true;
    } catch (e) {
      // Another process created it in between: fine.
      if ((e as { name?: string }).name !== 'ResourceInUseException') {
        throw new FloeError('KINESIS_ADMIN_FAILED', `kinesis: creating stream ${options.streamName} (${mode}) failed: ${describeError(e)}`, { cause: e });
      }
    }
  }
  const d = await waitForStreamActive(client, options.streamName, options.timeoutMs);
  const s = d.StreamDescriptionSummary;
  return { created, streamArn: s?.StreamARN, mode: s?.StreamModeDetails?.StreamMode, openShardCount: s?.OpenShardCount };
}
