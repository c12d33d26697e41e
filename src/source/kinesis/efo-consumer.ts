/**
 * The enhanced fan-out consumer of a stream (`source.consumer`): registered once (RegisterStreamConsumer,
 * by whichever worker gets there first) and waited for until ACTIVE (DescribeStreamConsumer), and the
 * HTTP/2 client SubscribeToShard needs (the SDK's NodeHttp2Handler; it also works over plain
 * `http://` against a local endpoint, as prior-knowledge h2c).
 */
import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  RegisterStreamConsumerCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttp2Handler } from '@smithy/node-http-handler';
import { FloeError, ValidationError } from '../../errors.js';
import { Backoff, sleep } from '../../retry.js';
import { describeError, resolveKinesisClientConfig, type KinesisClientOptions } from './client.js';

/** Consumer names as Kinesis takes them. */
const CONSUMER_NAME_RE = /^[a-zA-Z0-9_.-]{1,128}$/;

/** Throws a ValidationError naming `what` unless `name` is a valid consumer name. */
export function checkConsumerName(name: string, what = 'kinesis: consumer'): void {
  if (!CONSUMER_NAME_RE.test(name)) throw new ValidationError(`${what}: "${name}" is not a valid consumer name (1 to 128 of a-z A-Z 0-9 _ . -)`);
}

/**
 * A Kinesis client with the HTTP/2 handler, configured as {@link kinesisClientFromEnv} would
 * (region, endpoint, credentials), with one SDK attempt: the reader retries itself.
 */
export function efoClientFromEnv(options: KinesisClientOptions = {}): KinesisClient {
  const resolved = resolveKinesisClientConfig(options);
  const credentials = options.credentials ?? (resolved.dummyCredentials ? { accessKeyId: 'floe-local', secretAccessKey: 'floe-local' } : undefined);
  return new KinesisClient({
    ...(resolved.region !== undefined ? { region: resolved.region } : {}),
    ...(resolved.endpoint !== undefined ? { endpoint: resolved.endpoint } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
    maxAttempts: 1,
    // One HTTP/2 session per subscription (the SDK's own default for Kinesis): a shard's flow
    // control never holds back another's.
    requestHandler: new NodeHttp2Handler({ disableConcurrentStreams: true, sessionTimeout: 600_000 }),
  });
}

/** Options of {@link ensureConsumer}. */
export interface EnsureConsumerOptions {
  client: KinesisClient;
  /** The stream's ARN, or its name (the ARN is then read with DescribeStreamSummary). */
  streamArn?: string;
  streamName?: string;
  consumerName: string;
  /** Give up waiting for ACTIVE after this long. Default 2 minutes (AWS takes seconds). */
  timeoutMs?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/**
 * The consumer's ARN once it is ACTIVE: described, registered when missing (another worker
 * registering it at the same moment is fine: ResourceInUseException, described again), then
 * described until ACTIVE.
 */
export async function ensureConsumer(options: EnsureConsumerOptions): Promise<string> {
  const { client, consumerName } = options;
  checkConsumerName(consumerName);
  let streamArn = options.streamArn;
  if (streamArn === undefined) {
    if (options.streamName === undefined) throw new ValidationError('kinesis: ensureConsumer needs streamArn or streamName');
    const res = await client.send(new DescribeStreamSummaryCommand({ StreamName: options.streamName }), { abortSignal: options.signal });
    streamArn = res.StreamDescriptionSummary?.StreamARN;
    if (streamArn === undefined) throw new FloeError('SOURCE_READ_FAILED', `kinesis: DescribeStreamSummary of ${options.streamName} returned no StreamARN`);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const backoff = new Backoff({ baseDelayMs: 200, maxDelayMs: 2_000 });
  let registered = false;
  for (;;) {
    if (options.signal?.aborted) throw new FloeError('ABORTED', `kinesis: waiting for consumer ${consumerName} aborted`);
    let status: string | undefined;
    let arn: string | undefined;
    try {
      const d = await client.send(new DescribeStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }), { abortSignal: options.signal });
      status = d.ConsumerDescription?.ConsumerStatus;
      arn = d.ConsumerDescription?.ConsumerARN;
    } catch (e) {
      if ((e as { name?: string }).name !== 'ResourceNotFoundException') {
        throw new FloeError('SOURCE_READ_FAILED', `kinesis: DescribeStreamConsumer ${consumerName} on ${streamArn} failed: ${describeError(e)}`, { cause: e, retriable: true });
      }
      if (registered) status = 'CREATING'; // described before the registration is visible
      else {
        try {
          await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }), { abortSignal: options.signal });
          options.log?.(`kinesis: registered enhanced fan-out consumer ${consumerName} on ${streamArn}`);
        } catch (re) {
          if ((re as { name?: string }).name !== 'ResourceInUseException') {
            throw new FloeError('SOURCE_READ_FAILED', `kinesis: RegisterStreamConsumer ${consumerName} on ${streamArn} failed: ${describeError(re)}`, { cause: re });
          }
        }
        registered = true;
        continue;
      }
    }
    if (status === 'ACTIVE' && arn !== undefined) return arn;
    if (status === 'DELETING') {
      // Being deregistered by someone: register it again once it is gone.
      registered = false;
    }
    if (Date.now() >= deadline) {
      throw new FloeError('SOURCE_READ_FAILED', `kinesis: consumer ${consumerName} on ${streamArn} is still ${status ?? 'missing'} after ${options.timeoutMs ?? 120_000} ms`, { retriable: true });
    }
    await sleep(backoff.next(), options.signal);
  }
}
