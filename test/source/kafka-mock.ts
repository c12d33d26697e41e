/**
 * A real Kafka-protocol broker for tests: librdkafka's in-memory mock cluster, run by Debian's
 * `kcat` (`-X test.mock.num.brokers=N -X debug=mock` prints the bootstrap servers in its debug
 * log). The mock listens on 127.0.0.1 only (checked here from /proc/net/tcp), auto-creates topics
 * with 4 partitions, keeps consumer groups and committed offsets; it does not implement
 * CreateTopics/CreatePartitions. Records are produced with `kcat -P` (librdkafka), a different
 * client than the one floe consumes with (kafkajs).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Skip reason when `kcat` is not installed (`apt-get install kcat`); false when it is. */
export const SKIP_NO_KCAT: string | false =
  spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0 ? false : 'kcat is not installed (apt-get install kcat): Kafka tests skipped';

/** A running mock cluster. */
export interface MockKafka {
  /** `host:port,host:port,…` */
  bootstrap: string;
  brokers: string[];
  /** The kcat process's id. */
  pid: number;
  /** Kills the mock (SIGKILL) and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

/** The local addresses of the TCP listeners of the current machine (from /proc/net/tcp{,6}). */
function listeners(): { address: string; port: number }[] {
  const out: { address: string; port: number }[] = [];
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A') continue; // LISTEN
      const [hex, port] = (cols[1] ?? '').split(':');
      if (!hex || !port) continue;
      let address: string;
      if (hex.length === 8) {
        address = [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
      } else {
        address = hex === '00000000000000000000000000000000' ? '::' : hex === '0000000000000000FFFF00000100007F' ? '::ffff:127.0.0.1' : hex === '00000000000000000000000001000000' ? '::1' : hex;
      }
      out.push({ address, port: parseInt(port, 16) });
    }
  }
  return out;
}

/** Starts a mock cluster of `brokers` brokers (default 3) on 127.0.0.1. */
export async function startMockKafka(options: { brokers?: number } = {}): Promise<MockKafka> {
  const n = options.brokers ?? 3;
  // A consumer of a keep-alive topic keeps kcat (and its mock cluster) running until killed.
  const child = spawn('kcat', ['-X', `test.mock.num.brokers=${n}`, '-X', 'debug=mock', '-b', '127.0.0.1:1', '-C', '-t', 'floe-keepalive', '-o', 'end', '-q'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    live.delete(child);
  };
  let log = '';
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafka-mock: no bootstrap servers in kcat's log after 10 s: ${log.slice(0, 500)}`)), 10_000);
    child.stderr!.on('data', (b: Buffer) => {
      log += b.toString('utf8');
      const m = /bootstrap\.servers=(\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
      if (log.length > 1_000_000) log = log.slice(-100_000);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kafka-mock: kcat exited (${code}) before printing its bootstrap servers: ${log.slice(0, 500)}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  // Drain stderr from now on (the debug log keeps coming) so kcat never blocks on a full pipe.
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume();
  const brokers = bootstrap.split(',');
  const ports = new Set(brokers.map((b) => Number(b.split(':').pop())));
  const open = listeners().filter((l) => ports.has(l.port));
  const foreign = open.filter((l) => l.address !== '127.0.0.1');
  if (foreign.length > 0 || brokers.some((b) => !b.startsWith('127.0.0.1:'))) {
    await stop();
    throw new Error(`kafka-mock: the mock cluster must listen on 127.0.0.1 only: ${bootstrap}; listeners ${JSON.stringify(foreign)}`);
  }
  return { bootstrap, brokers, pid: child.pid!, stop };
}

/** A record for {@link produce}. */
export interface KcatRecord {
  value: string;
  key?: string;
  /** Header name → value. */
  headers?: Record<string, string>;
}

/** Options of {@link produce}. */
export interface ProduceOptions {
  /** Fixed partition (kcat -p); default: kcat's partitioner on the key. */
  partition?: number;
  /** Producer compression (kcat -z): gzip, snappy, lz4, zstd. */
  compression?: 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

/**
 * Produces records with `kcat -P` and waits until kcat exits (it flushes every record first;
 * a non-zero exit rejects). Records without headers go in one kcat call, one record per line
 * (values must not contain newlines); records with headers take one call per distinct header set.
 */
export async function produce(bootstrap: string, topic: string, records: readonly KcatRecord[], options: ProduceOptions = {}): Promise<void> {
  const groups = new Map<string, KcatRecord[]>();
  for (const r of records) {
    if (r.value.includes('\n') || (r.key ?? '').includes('\t') || (r.key ?? '').includes('\n')) throw new Error('kafka-mock: values must not contain newlines, keys no tabs');
    const h = JSON.stringify(r.headers ?? {});
    let g = groups.get(h);
    if (!g) groups.set(h, (g = []));
    g.push(r);
  }
  for (const [h, group] of groups) {
    const headers = JSON.parse(h) as Record<string, string>;
    const keyed = group.some((r) => r.key !== undefined);
    const args = ['-P', '-b', bootstrap, '-t', topic, '-X', 'linger.ms=5', '-X', 'topic.acks=all'];
    if (options.partition !== undefined) args.push('-p', String(options.partition));
    if (options.compression) args.push('-z', options.compression);
    if (keyed) args.push('-K', '\t');
    for (const [name, value] of Object.entries(headers)) args.push('-H', `${name}=${value}`);
    const input = group.map((r) => (keyed ? `${r.key ?? ''}\t${r.value}` : r.value)).join('\n') + '\n';
    await runKcat(args, input);
  }
}

function runKcat(args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    live.add(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 4000) err += b.toString('utf8');
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      live.delete(child);
      if (code === 0) resolve();
      else reject(new Error(`kafka-mock: kcat ${args.join(' ')} exited ${code ?? signal}: ${err.slice(0, 1000)}`));
    });
    child.stdin!.end(input);
  });
}

/**
 * A producer running in the background: `kcat -P` reading lines from a pipe, records written by
 * {@link BackgroundProducer.send}; {@link BackgroundProducer.end} closes the pipe and waits for
 * kcat to flush and exit.
 */
export interface BackgroundProducer {
  send(lines: readonly string[]): void;
  end(): Promise<void>;
}

/** Starts a background `kcat -P` on `topic` (records without keys: spread over partitions). */
export function startProducer(bootstrap: string, topic: string): BackgroundProducer {
  const args = ['-P', '-b', bootstrap, '-t', topic, '-X', 'linger.ms=5', '-X', 'topic.acks=all', '-X', 'topic.partitioner=random'];
  const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  live.add(child);
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (err.length < 4000) err += b.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    send(lines) {
      child.stdin!.write(lines.join('\n') + '\n');
    },
    async end() {
      child.stdin!.end();
      const code = await exited;
      live.delete(child);
      if (code !== 0) throw new Error(`kafka-mock: background kcat exited ${code}: ${err.slice(0, 1000)}`);
    },
  };
}

/** How many records `topic` holds, all partitions (read with `kcat -C -e`, one byte per record). */
export async function countRecords(bootstrap: string, topic: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let n = 0;
    child.stdout!.on('data', (b: Buffer) => {
      n += b.length;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      live.delete(child);
      if (code === 0) resolve(n);
      else reject(new Error(`kafka-mock: kcat -C exited ${code}`));
    });
  });
}
