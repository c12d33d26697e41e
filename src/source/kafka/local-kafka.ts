/**
 * A local Kafka-protocol broker for `floe quickstart --source kafka`: librdkafka's in-memory mock
 * cluster, run by Debian's `kcat` (`-X test.mock.num.brokers=N -X debug=mock` prints the
 * bootstrap servers in its debug log; the brokers listen on 127.0.0.1). No Kafka broker installs
 * from npm or Debian; this one auto-creates topics (4 partitions) and keeps consumer groups and
 * committed offsets, in memory, until it is stopped.
 */
import { spawn, spawnSync } from 'node:child_process';
import { FloeError } from '../../errors.js';

/** A running mock cluster. */
export interface LocalKafka {
  /** `127.0.0.1:port` of each broker. */
  brokers: string[];
  /** Kills kcat and waits for it to exit. Idempotent. */
  close(): Promise<void>;
}

/** The one-line error when kcat is missing (the quickstart prints it as is). */
export const KCAT_MISSING = 'kafka: the local Kafka broker needs kcat (librdkafka\'s mock cluster): install it with `apt-get install kcat`';

/** True when `kcat` can be run. */
export function kcatAvailable(): boolean {
  return spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Starts a mock cluster of `brokers` brokers (default 3). */
export async function startLocalKafka(options: { brokers?: number } = {}): Promise<LocalKafka> {
  if (!kcatAvailable()) throw new FloeError('UNSUPPORTED', KCAT_MISSING);
  const n = options.brokers ?? 3;
  // A consumer of a keep-alive topic keeps kcat (and its mock cluster) running until killed.
  const child = spawn('kcat', ['-X', `test.mock.num.brokers=${n}`, '-X', 'debug=mock', '-b', '127.0.0.1:1', '-C', '-t', 'floe-keepalive', '-o', 'end', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let log = '';
  try {
    const bootstrap = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new FloeError('SOURCE_READ_FAILED', `kafka: kcat printed no bootstrap servers within 10 s: ${log.slice(0, 300)}`)), 10_000);
      child.stderr!.on('data', (b: Buffer) => {
        if (log.length < 100_000) log += b.toString('utf8');
        const m = /bootstrap\.servers=(\S+)/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new FloeError('SOURCE_READ_FAILED', `kafka: kcat exited (${code}) before printing its bootstrap servers: ${log.slice(0, 300)}`));
      });
    });
    // kcat keeps logging: drain it so it never blocks on a full pipe.
    child.stderr!.removeAllListeners('data');
    child.stderr!.resume();
    const brokers = bootstrap.split(',');
    if (brokers.some((b) => !b.startsWith('127.0.0.1:'))) throw new FloeError('SOURCE_READ_FAILED', `kafka: the mock cluster is not on 127.0.0.1: ${bootstrap}`);
    return { brokers, close };
  } catch (e) {
    await close();
    throw e;
  }
}
