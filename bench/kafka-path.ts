/**
 * The Kafka path, end to end (issue 15): `floe run` (the compiled CLI, pinned to core 0) reads a
 * topic holding `--events` 150-byte reference events from librdkafka's mock cluster (Debian's
 * `kcat`, its own process, pinned to core 1) through a consumer group, with the config of
 * `examples/reference.yaml` (only the source and the warehouse changed; maintenance off), until
 * every event is committed.
 *
 *   node dist/bench/kafka-path.js --events 1000000
 *
 * Steps: start the mock (3 brokers; it creates a topic at its first record, with 4 partitions,
 * and keeps about 5 MB per partition: 20,000 events per partition, as many topics as that takes),
 * produce the events with `kcat -P` (librdkafka), read them all once with `kcat -G` (the broker's
 * ceiling with a native client, and its CPU per event doing so), once with kafkajs alone in
 * floe's consumer settings (`--bare-consumer`: the client library's share), then `floe run`.
 *
 * floe's window: the mock waits 3 s for a consumer group's first members before it assigns
 * partitions (as Kafka's `group.initial.rebalance.delay.ms` does), so the rate is measured from
 * the first commit to the commit that completes the events (events of the later commits over
 * that time), with floe's CPU (utime + stime of its process, all threads, `/proc/<pid>/stat`)
 * and the broker's CPU over the same window; the whole window from floe's `started` line is
 * reported beside it. Broker-bound: the broker's process used ≥ 90% of its core over the window,
 * or floe reached ≥ 90% of the faster bare client's rate; floe's CPU per event is its own cost
 * either way (its process only). At the end the table's last snapshot must hold exactly
 * `--events` records, and its checkpoint the last offset of every partition.
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { snapshotForRef } from '../src/iceberg/snapshot.js';
import { readCheckpoint } from '../src/pipeline/checkpoint.js';
import { KAFKA_SOURCE_ID } from '../src/source/kafka/kafka-position.js';
import { startLocalKafka } from '../src/source/kafka/local-kafka.js';
import { Table } from '../src/table/table.js';
import { emitResult, eventPool, flag, floeBin, processMemory } from './common.js';

const events = Number(flag('events', '1000000'));
const timeoutMs = Number(flag('timeout-seconds', '600')) * 1000;
/** The partitions the mock cluster gives an auto-created topic. */
const PARTITIONS = 4;
/**
 * Records per partition: the mock keeps about 5 MB per partition (about 31,000 of these
 * records) and drops the oldest beyond that, so a larger backlog takes more topics.
 */
const PER_PARTITION = 20_000;
const topics = Array.from({ length: Math.max(1, Math.ceil(events / (PARTITIONS * PER_PARTITION))) }, (_, i) => `bench-kafka-path-${i}`);

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TASKSET = hasTaskset();
const TWO_CORES = cpus().length > 1;
/** Run from source through tsx (development) rather than compiled into dist/bench. */
const FROM_SOURCE = fileURLToPath(import.meta.url).endsWith('.ts');

/** CPU seconds (user + system, all threads) of a process, from /proc; NaN when unreadable. */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
  } catch {
    return NaN;
  }
}

/** The pid of the kcat running the mock cluster: this process's only kcat child at that moment. */
function mockPid(): number | undefined {
  const out = spawnSync('pgrep', ['-n', '-P', String(process.pid), 'kcat'], { encoding: 'utf8' });
  const pid = Number(out.stdout.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Runs kcat to its end with `input` on stdin; resolves with its wall time (s; a reader's from its
 * first output) and its stdout bytes.
 */
function kcat(args: string[], input?: Iterable<Uint8Array>, core?: string): Promise<{ seconds: number; stdoutBytes: number }> {
  return new Promise((resolve, reject) => {
    let t0 = performance.now();
    let first = true;
    const [cmd, argv] = core !== undefined ? pinned(core, ['kcat', ...args]) : ['kcat', args];
    const child = spawn(cmd, argv, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let err = '';
    child.stdout!.on('data', (b: Buffer) => {
      if (first && !input) t0 = performance.now(); // a reader: timed from its first record
      first = false;
      bytes += b.length;
    });
    child.stderr!.on('data', (b: Buffer) => {
      if (err.length < 4000) err += b.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve({ seconds: (performance.now() - t0) / 1000, stdoutBytes: bytes });
      else reject(new Error(`kafka-path: kcat ${args.join(' ')} exited ${code}: ${err.slice(0, 500)}`));
    });
    if (input) {
      const stdin = child.stdin!;
      void (async () => {
        for (const chunk of input) {
          if (!stdin.write(chunk)) await new Promise((r) => stdin.once('drain', r));
        }
        stdin.end();
      })();
    }
  });
}

/** The events as newline-separated lines, in chunks of about 1 MB. */
function* lines(n: number): Generator<Uint8Array> {
  const pool = eventPool(150, 16_384);
  const chunk = Buffer.alloc(1 << 20);
  let used = 0;
  for (let i = 0; i < n; i++) {
    const e = pool[i % pool.length]!;
    if (used + e.length + 1 > chunk.length) {
      yield Buffer.from(chunk.subarray(0, used));
      used = 0;
    }
    chunk.set(e, used);
    used += e.length;
    chunk[used++] = 0x0a;
  }
  if (used > 0) yield Buffer.from(chunk.subarray(0, used));
}

/** `floe run` as a command: `bin/floe` as users start it, or the source through tsx when this runs from source. */
function floeCommand(): string[] {
  if (FROM_SOURCE) return [process.execPath, '--import', 'tsx', fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))];
  return [floeBin()];
}

const pinned = (core: string, argv: string[]): [string, string[]] => (TASKSET && TWO_CORES ? ['taskset', ['-c', core, ...argv]] : [argv[0]!, argv.slice(1)]);

/**
 * `--bare-consumer`: kafkajs alone with the consumer settings of floe's KafkaSource (1 MB per
 * partition a fetch, 250 ms fetch wait, one partition's batch at a time), counting records and
 * resolving offsets, nothing else; run as its own process on floe's core. What the client library
 * costs and reaches against this broker, under floe's CPU per event.
 */
async function bareConsumer(): Promise<void> {
  const brokers = flag('brokers', '').split(',');
  const names = flag('topics', '').split(',');
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({ groupId: 'bench-bare-kafkajs', maxBytesPerPartition: 1024 * 1024, maxWaitTimeInMs: 250 });
  await consumer.connect();
  await consumer.subscribe({ topics: names, fromBeginning: true });
  let seen = 0;
  let t0 = NaN;
  let cpu0: NodeJS.CpuUsage | undefined;
  const done = new Promise<{ seconds: number; cpuSeconds: number }>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        if (cpu0 === undefined) {
          t0 = performance.now();
          cpu0 = process.cpuUsage();
        }
        seen += batch.messages.length;
        if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
        await heartbeat();
        if (seen >= events) {
          const c = process.cpuUsage(cpu0);
          resolve({ seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 });
        }
      },
    });
  });
  const r = await done;
  await consumer.disconnect();
  emitResult({ bench: 'kafka-bare-kafkajs', events: seen, ...r, eventsPerSecond: seen / r.seconds, cpuMicrosPerEvent: (r.cpuSeconds / seen) * 1e6 });
}

/** Runs this script as a child process (pinned to `core`) and returns its result line. */
function runSelf(args: string[], core: string): Promise<Record<string, unknown>> {
  const self = fileURLToPath(import.meta.url);
  const [cmd, argv] = pinned(core, FROM_SOURCE ? [process.execPath, '--import', 'tsx', self, ...args] : [process.execPath, self, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (code === 0 && last) resolve(JSON.parse(last) as Record<string, unknown>);
      else reject(new Error(`kafka-path: ${args[0]} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

if (process.argv.includes('--bare-consumer')) {
  await bareConsumer();
  process.exit(0);
}

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-kafka-'));
const kafka = await startLocalKafka();
let floe: ChildProcess | undefined;
let admin: { disconnect(): Promise<void> } | undefined;
try {
  const bootstrap = kafka.brokers.join(',');
  const brokerPid = mockPid();
  if (brokerPid === undefined) throw new Error('kafka-path: cannot find the mock cluster\'s kcat process');
  // The broker on the other core (all its threads), floe on core 0.
  if (TASKSET && TWO_CORES) execFileSync('taskset', ['-a', '-p', '-c', '1', String(brokerPid)], { stdio: 'ignore' });

  // Produce with librdkafka, batched, an equal share into each partition (the first record
  // creates a topic with the mock's 4 partitions).
  let produceSeconds = 0;
  const slots = topics.length * PARTITIONS;
  for (let i = 0; i < slots; i++) {
    const share = Math.floor(events / slots) + (i < events % slots ? 1 : 0);
    if (share === 0) continue;
    const args = ['-P', '-b', bootstrap, '-t', topics[Math.floor(i / PARTITIONS)]!, '-p', String(i % PARTITIONS), '-X', 'linger.ms=20', '-X', 'batch.num.messages=10000', '-X', 'queue.buffering.max.messages=1000000', '-X', 'topic.acks=1'];
    produceSeconds += (await kcat(args, lines(share))).seconds;
  }
  // Every record still there (the mock trims partitions beyond about 5 MB).
  const { Kafka, logLevel } = (await import('kafkajs')).default;
  const kafkaAdmin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  admin = kafkaAdmin;
  await kafkaAdmin.connect();
  const offsetsOf = async () => (await Promise.all(topics.map(async (t) => (await kafkaAdmin.fetchTopicOffsets(t)).map((o) => ({ topic: t, ...o }))))).flat();
  const held = await offsetsOf();
  const trimmed = held.filter((o) => o.low !== '0');
  if (trimmed.length > 0) throw new Error(`kafka-path: the mock dropped records: ${JSON.stringify(trimmed.slice(0, 3))}`);
  if (held.reduce((a, o) => a + Number(o.high), 0) !== events) throw new Error(`kafka-path: the topics hold ${held.reduce((a, o) => a + Number(o.high), 0)} records, ${events} produced`);

  // The broker's ceiling with a native client: the topics read once by kcat.
  const brokerCpu0 = processCpuSeconds(brokerPid);
  // A group of its own (-G): timed from its first record, past the mock's wait for the group.
  const nativeRead = await kcat(['-b', bootstrap, '-G', 'bench-kcat', '-X', 'auto.offset.reset=earliest', '-e', '-q', '-f', '.', ...topics], undefined, '0');
  const brokerCpuNativeRead = processCpuSeconds(brokerPid) - brokerCpu0;
  if (nativeRead.stdoutBytes !== events) throw new Error(`kafka-path: kcat read ${nativeRead.stdoutBytes} records, ${events} produced`);

  // kafkajs alone, floe's consumer settings, on floe's core.
  const bare = await runSelf(['--bare-consumer', '--brokers', bootstrap, '--topics', topics.join(','), '--events', String(events), '--timeout-seconds', String(timeoutMs / 1000)], '0').catch(
    (e: Error) => ({ error: e.message }) as Record<string, unknown>,
  );

  // The reference config, pointed at the topics and a fresh warehouse.
  const config = parseYaml(readFileSync(new URL(`${FROM_SOURCE ? '..' : '../..'}/examples/reference.yaml`, import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
  config.source = { type: 'kafka', brokers: kafka.brokers, topics, group: 'bench-kafka-path', initial_position: 'earliest', session_timeout: '10s' };
  config.catalog = { ...config.catalog, warehouse: dir };
  (config as Record<string, unknown>).maintenance = false;
  const configPath = join(dir, 'floe.json');
  await writeFile(configPath, JSON.stringify(config));

  const [floeCmd, floeArgv] = pinned('0', [...floeCommand(), 'run', '--config', configPath]);
  const t0 = performance.now();
  const child = spawn(floeCmd, floeArgv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1', FLOE_LOG_FORMAT: 'json' } });
  floe = child;
  const pid = child.pid!;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  interface Mark {
    at: number;
    floeCpu: number;
    brokerCpu: number;
    committed: number;
  }
  const mark = (committed: number): Mark => ({ at: performance.now(), floeCpu: processCpuSeconds(pid), brokerCpu: processCpuSeconds(brokerPid), committed });
  let started: Mark | undefined;
  let first: Mark | undefined;
  let last: Mark | undefined;
  let committed = 0;
  let commits = 0;
  let peak = NaN;
  const warnings: string[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafka-path: ${committed} of ${events} events committed after ${timeoutMs / 1000} s`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let e: { msg?: string; level?: string; records?: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        return;
      }
      if (e.level === 'error' || e.level === 'warn') warnings.push(line.slice(0, 300));
      if (e.msg?.startsWith('started') && started === undefined) started = mark(0);
      if (e.msg === 'commit') {
        committed += e.records ?? 0;
        commits++;
        first ??= mark(committed);
        if (committed >= events && last === undefined) {
          last = mark(committed);
          peak = processMemory(pid)?.peak ?? NaN;
          clearTimeout(timer);
          resolve();
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`kafka-path: floe run exited (${code}) after ${committed} of ${events} events: ${stderr.trim().split('\n').slice(-5).join(' | ')} ${warnings.slice(-3).join(' | ')}`));
    });
  });
  await done;
  child.kill('SIGTERM');
  const code = await exited;
  floe = undefined;

  // The table: exactly the events, and every partition's last offset as its position.
  const offsets = await offsetsOf();
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  const tableName = String(config.table?.name ?? 'glue_streaming_iceberg_db.streaming_events').split('.');
  const table = await Table.load(catalog, { namespace: tableName.slice(0, -1), name: tableName.at(-1)! });
  const snapshot = snapshotForRef(table.metadata, 'main');
  const totalRecords = Number(snapshot?.summary['total-records'] ?? NaN);
  const positions = readCheckpoint(snapshot, KAFKA_SOURCE_ID);
  const positionsRight = offsets.every((o) => (BigInt(o.high) === 0n ? !positions.has(`${o.topic}:${o.partition}`) : positions.get(`${o.topic}:${o.partition}`) === String(BigInt(o.high) - 1n)));
  await catalog.close();

  const s = started!;
  const f = first!;
  const l = last!;
  const steadySeconds = (l.at - f.at) / 1000;
  const steadyEvents = l.committed - f.committed;
  const wholeSeconds = (l.at - s.at) / 1000;
  const floeCpuSteady = l.floeCpu - f.floeCpu;
  const brokerCpuSteady = l.brokerCpu - f.brokerCpu;
  const nativeReadRate = events / nativeRead.seconds;
  // What the broker has shown it can hand out: the faster of the two bare clients.
  const brokerRate = Math.max(nativeReadRate, typeof bare.eventsPerSecond === 'number' ? bare.eventsPerSecond : 0);
  // Commits come every second: a window of fewer than 3 commits or 2 s says little (null then).
  const steady = commits >= 3 && steadySeconds >= 2;
  const eventsPerSecond = steady ? steadyEvents / steadySeconds : null;
  const brokerCoreShare = steady ? brokerCpuSteady / steadySeconds : null;
  emitResult({
    bench: 'kafka-path',
    broker: 'librdkafka mock cluster (kcat), 3 brokers',
    topics: topics.length,
    partitions: offsets.length,
    events,
    committed,
    commits,
    pinned: TASKSET && TWO_CORES,
    produceSeconds,
    /** `kcat -C` reading the whole topic once: the broker with a native client. */
    nativeReadSeconds: nativeRead.seconds,
    nativeReadEventsPerSecond: nativeReadRate,
    brokerCpuMicrosPerEventNativeRead: (brokerCpuNativeRead / events) * 1e6,
    /** kafkajs alone (`--bare-consumer`), from its first batch to its last record. */
    bareKafkajsEventsPerSecond: bare.eventsPerSecond ?? null,
    bareKafkajsCpuMicrosPerEvent: bare.cpuMicrosPerEvent ?? null,
    bareKafkajsError: bare.error ?? null,
    /** First commit → the commit that completes the events. */
    steadySeconds,
    steadyEvents,
    eventsPerSecond,
    /** floe's CPU (its process only, all threads) over the steady window, per event. */
    cpuMicrosPerEvent: steady ? (floeCpuSteady / steadyEvents) * 1e6 : null,
    /** Share of its core floe used over the steady window. */
    floeCoreShare: steady ? floeCpuSteady / steadySeconds : null,
    brokerCpuMicrosPerEvent: steady ? (brokerCpuSteady / steadyEvents) * 1e6 : null,
    brokerCoreShare,
    /** The faster of the bare reads (kcat, kafkajs alone): a rate this broker has shown it serves. */
    brokerShownEventsPerSecond: brokerRate,
    brokerBound: eventsPerSecond === null || brokerCoreShare === null ? null : brokerCoreShare >= 0.9 || eventsPerSecond >= 0.9 * brokerRate,
    /** `started` → the last commit: the group join (the mock's 3 s wait) included. */
    wholeSeconds,
    wholeEventsPerSecond: committed / wholeSeconds,
    wholeCpuMicrosPerEvent: ((l.floeCpu - s.floeCpu) / committed) * 1e6,
    wholeFloeCoreShare: (l.floeCpu - s.floeCpu) / wholeSeconds,
    wholeBrokerCpuMicrosPerEvent: ((l.brokerCpu - s.brokerCpu) / committed) * 1e6,
    firstCommitAfterStartedSeconds: (f.at - s.at) / 1000,
    startupSeconds: (s.at - t0) / 1000,
    peakRssMB: peak / 1e6,
    tableRecords: totalRecords,
    checkpointPartitions: positions.size,
    exact: totalRecords === events && committed === events && positionsRight,
    floeExit: code,
    warnings: warnings.slice(0, 5),
  });
} finally {
  floe?.kill('SIGKILL');
  await admin?.disconnect().catch(() => undefined);
  await kafka.close();
  await rm(dir, { recursive: true, force: true });
}
