/**
 * The real Kinesis read path, end to end: `floe run` (the compiled CLI, the process users start,
 * pinned to core 0) reads a stream of `--shards` shards holding `--events` 150-byte reference
 * events from the fast local endpoint (`kinesis-fast-server.ts`, its own process, pinned to core
 * 1), with the config of `examples/reference.yaml` (only the stream, the endpoint and the
 * warehouse changed; background maintenance off, as in the other ingest benchmarks), until every
 * event is committed.
 *
 *   node dist/bench/kinesis-path.js --shards 16 --events 1000000
 *   node dist/bench/kinesis-path.js --limits --shards 1 --seconds 10 --write-bytes-per-second 2000000
 *   node dist/bench/kinesis-path.js --shards 16 --events 200000 --cpu-prof-dir /tmp/prof
 *   node dist/bench/kinesis-path.js --shards 256 --node-flags "--trace-deopt" 2> /tmp/trace
 *
 * The clock and floe's CPU (utime + stime of its process, `/proc/<pid>/stat`) run from its
 * `started` line (modules loaded, catalog opened, table created, shards listed) to the commit
 * that brings the committed count to `--events`; the commit interval (1 s) is inside that window,
 * so short runs understate the rate. Peak RSS is the kernel's VmHWM of the floe process. The
 * endpoint counts GetRecords calls and records. At the end the table's last snapshot must hold
 * exactly `--events` records, and its checkpoint the last sequence number of every shard.
 *
 * `--limits`: the endpoint enforces Kinesis's per-shard read limits (5 calls/s, 2 MB/s, 10,000
 * records or 10 MB a call) and, with `--write-bytes-per-second`, makes each shard's records
 * readable at that rate for `--seconds`; the result says at what rate they were read.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml } from 'yaml';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { snapshotForRef } from '../src/iceberg/snapshot.js';
import { readCheckpoint } from '../src/pipeline/checkpoint.js';
import { Table } from '../src/table/table.js';
import { FLOE_HEAP_BOUND_MB } from '../src/cli/heap-bound.js';
import { emitResult, eventPool, flag, floeBin, floeMain, processMemory, threadCpuSeconds } from './common.js';
import { processCpuSeconds } from './proc-cpu.js';

const shards = Number(flag('shards', '16'));
const limits = process.argv.includes('--limits');
const writeRate = Number(flag('write-bytes-per-second', limits ? '2000000' : '0'));
const seconds = Number(flag('seconds', '10'));
const stream = 'bench-path';
const cpuProfDir = flag('cpu-prof-dir', '');
const timeoutMs = Number(flag('timeout-seconds', '600')) * 1000;

/** Bytes of one reference event plus its partition key (`pk_<n>`, about 8 bytes): Kinesis's count. */
const recordBytes = eventPool(150, 16).reduce((a, e) => a + e.length, 0) / 16 + 8;
const events = limits && writeRate > 0 ? Math.floor((writeRate * seconds) / recordBytes) * shards : Number(flag('events', '1000000'));

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TASKSET = hasTaskset();
const pinned = (core: string, argv: string[]): [string, string[]] => (TASKSET ? ['taskset', ['-c', core, ...argv]] : [argv[0]!, argv.slice(1)]);

/** Collects the JSON lines of a child's stdout; `waitFor` resolves with the first that matches. */
function jsonLines(child: ChildProcess): { waitFor(pred: (x: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown> | undefined> } {
  const seen: Record<string, unknown>[] = [];
  let wake: () => void = () => {};
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    seen.push(JSON.parse(line) as Record<string, unknown>);
    wake();
  });
  return {
    async waitFor(pred, ms) {
      const deadline = performance.now() + ms;
      for (;;) {
        const hit = seen.find(pred);
        if (hit) return hit;
        const left = deadline - performance.now();
        if (left <= 0 || child.exitCode !== null) return undefined;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
  };
}

const dir = await mkdtemp(join(tmpdir(), 'floe-bench-path-'));
// The endpoint on the other core (when there is one).
const serverArgs = [
  process.execPath,
  new URL('./kinesis-fast-server.js', import.meta.url).pathname,
  '--shards',
  String(shards),
  '--events',
  String(events),
  '--stream',
  stream,
  ...(limits ? ['--limits'] : []),
  ...(writeRate > 0 ? ['--write-bytes-per-second', String(writeRate)] : []),
];
const [serverCmd, serverArgv] = pinned(cpus().length > 1 ? '1' : '0', serverArgs);
const server = spawn(serverCmd, serverArgv, { stdio: ['pipe', 'pipe', 'inherit'] });
const serverOut = jsonLines(server);
const ready = await serverOut.waitFor((x) => x.url !== undefined, 600_000);
if (!ready) throw new Error('kinesis-path: the endpoint did not start');
const url = String(ready.url);

// The reference config, pointed at the endpoint and a fresh warehouse.
const config = parseYaml(readFileSync(new URL('../../examples/reference.yaml', import.meta.url), 'utf8')) as Record<string, Record<string, unknown>>;
config.source = { ...config.source, stream, endpoint: url, region: 'us-east-1' };
config.catalog = { ...config.catalog, warehouse: dir };
(config as Record<string, unknown>).maintenance = false;
const configPath = join(dir, 'floe.json');
await writeFile(configPath, JSON.stringify(config));

// `bin/floe` as users start it (its heap bound and malloc setting: bench/common.ts floeBin); it
// execs Node, so the pid read below is floe's own.
// Node refuses --cpu-prof in NODE_OPTIONS: a profiled run starts Node itself with bin/floe's
// settings (its heap bound; MALLOC_ARENA_MAX below) and the profiler's flags.
// `--node-flags "--trace-deopt …"` does the same for any other V8 or Node flags.
const nodeFlags = flag('node-flags', '').split(' ').filter(Boolean);
const direct = cpuProfDir !== '' || nodeFlags.length > 0;
const floeCommand = direct
  ? [process.execPath, `--max-old-space-size=${FLOE_HEAP_BOUND_MB}`, ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []), ...nodeFlags, floeMain(), 'run', '--config', configPath]
  : [floeBin(), 'run', '--config', configPath];
const [floeCmd, floeArgv] = pinned('0', floeCommand);
const t0 = performance.now();
const floe = spawn(floeCmd, floeArgv, {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: {
    ...process.env,
    ...(direct ? { MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2' } : {}),
    AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
  },
});
const pid = floe.pid!;
let stderr = '';
floe.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
const exited = new Promise<number | null>((resolve) => floe.on('exit', (code) => resolve(code)));

let startedAt = NaN;
let cpuAtStart = NaN;
let committed = 0;
let commits = 0;
let doneAt = NaN;
let cpuAtDone = NaN;
/**
 * Steady state: from the first commit at least `--steady-after-seconds` (default 4) after
 * `started` to the last. It leaves out the first seconds' one-time costs, which a run of a few
 * seconds would otherwise charge to its events and a process that runs for hours pays once: V8
 * compiles the read path's per-call functions (the HTTP reader, the page reader, the shard
 * reader's loop) with its optimizing compiler only 3–4 s after `started` (`--trace-opt`: 100–200
 * ms of compiler CPU a second until then), and runs them in its baseline tiers meanwhile.
 */
const steadyAfterMs = Number(flag('steady-after-seconds', '4')) * 1000;
let steadyStart: { at: number; cpu: number; committed: number; commits: number } | undefined;
let peakAtDone = NaN;
let threadsAtStart: Record<string, number> = {};
let threadsAtDone: Record<string, number> = {};
const errors: string[] = [];
const done = new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`kinesis-path: ${committed} of ${events} events committed after ${timeoutMs / 1000} s`)), timeoutMs);
  createInterface({ input: floe.stdout! }).on('line', (line) => {
    let e: { msg?: string; level?: string; records?: number };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      if (nodeFlags.length > 0) process.stderr.write(line + '\n'); // the flags' own output (traces)
      return;
    }
    if (e.level === 'error' || e.level === 'warn') errors.push(line.slice(0, 300));
    if (e.msg?.startsWith('started') && Number.isNaN(startedAt)) {
      startedAt = performance.now();
      cpuAtStart = processCpuSeconds(pid);
      threadsAtStart = threadCpuSeconds(pid);
    }
    if (e.msg === 'commit') {
      committed += e.records ?? 0;
      commits++;
      if (steadyStart === undefined && performance.now() - startedAt >= steadyAfterMs && committed < events) steadyStart = { at: performance.now(), cpu: processCpuSeconds(pid), committed, commits };
      if (committed >= events && Number.isNaN(doneAt)) {
        doneAt = performance.now();
        cpuAtDone = processCpuSeconds(pid);
        threadsAtDone = threadCpuSeconds(pid);
        peakAtDone = processMemory(pid)?.peak ?? NaN;
        clearTimeout(timer);
        resolve();
      }
    }
  });
  void exited.then((code) => {
    clearTimeout(timer);
    reject(new Error(`kinesis-path: floe run exited (${code}) after ${committed} of ${events} events: ${stderr.trim().split('\n').slice(-5).join(' | ')} ${errors.slice(-3).join(' | ')}`));
  });
});

let failure: Error | undefined;
try {
  await done;
} catch (e) {
  failure = e as Error;
}
const allServed = await serverOut.waitFor((x) => x.allServedAtMs !== undefined, failure ? 0 : 2000);
server.stdin!.write('stats\n');
const statsLine = (await serverOut.waitFor((x) => x.stats !== undefined, 10_000)) ?? { stats: {} };
floe.kill('SIGTERM');
const code = await exited;
server.stdin!.end();
await new Promise<void>((resolve) => (server.exitCode !== null ? resolve() : server.on('exit', () => resolve())));
if (failure) {
  await rm(dir, { recursive: true, force: true });
  throw failure;
}

// The table: exactly the events, and every shard's last sequence number as its position.
const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
const tableName = String(config.table?.name ?? 'glue_streaming_iceberg_db.streaming_events').split('.');
const table = await Table.load(catalog, { namespace: tableName.slice(0, -1), name: tableName.at(-1)! });
const snapshot = snapshotForRef(table.metadata, 'main');
const totalRecords = Number(snapshot?.summary['total-records'] ?? NaN);
const positions = readCheckpoint(snapshot, stream);
const lastSequenceNumbers = ready.lastSequenceNumbers as (string | null)[];
const positionsRight = lastSequenceNumbers.every((seq, s) => seq === null || positions.get(`shardId-${String(s).padStart(12, '0')}`) === seq);
await catalog.close();
const profiles = cpuProfDir ? (await readdir(cpuProfDir)).filter((f) => f.endsWith('.cpuprofile')) : [];
await rm(dir, { recursive: true, force: true });

const stats = statsLine.stats as {
  getRecordsCalls: number;
  getRecordsWithRecords: number;
  recordsServed: number;
  bytesServed: number;
  responseBytes: number;
  throttled: number;
  expiredIterators: number;
  errors: number;
  firstRecordsAtMs?: number;
  lastRecordsAtMs?: number;
  calls: Record<string, number>;
};
const windowSeconds = (doneAt - startedAt) / 1000;
const cpuSeconds = cpuAtDone - cpuAtStart;
const readSeconds = stats.lastRecordsAtMs !== undefined && stats.firstRecordsAtMs !== undefined ? (stats.lastRecordsAtMs - stats.firstRecordsAtMs) / 1000 : NaN;
emitResult({
  bench: limits ? 'kinesis-limits' : 'kinesis-path',
  ...(limits ? { writeBytesPerSecond: writeRate, writeSeconds: seconds } : {}),
  shards,
  events,
  committed,
  commits,
  pinned: TASKSET,
  seconds: windowSeconds,
  eventsPerSecond: committed / windowSeconds,
  /** floe's CPU (all its threads) from `started` to the last commit, per event. */
  cpuMicrosPerEvent: (cpuSeconds / committed) * 1e6,
  /** The window's CPU seconds by thread name (`main` is the JavaScript thread); threads that ended inside it are missing. */
  threadCpuSeconds: Object.fromEntries(
    Object.entries(threadsAtDone)
      .map(([k, v]) => [k, Math.round((v - (threadsAtStart[k] ?? 0)) * 100) / 100] as const)
      .filter(([, v]) => v > 0),
  ),
  /** The same over the process's whole life up to the last commit (start-up included). */
  cpuMicrosPerEventWithStartup: (cpuAtDone / committed) * 1e6,
  /** Steady state (see `--steady-after-seconds`): events, events/s and floe CPU per event after the first seconds; absent when the run is shorter. */
  steady: steadyStart
    ? {
        afterSeconds: Math.round(steadyStart.at - startedAt) / 1000,
        commits: commits - steadyStart.commits,
        events: committed - steadyStart.committed,
        eventsPerSecond: ((committed - steadyStart.committed) * 1000) / (doneAt - steadyStart.at),
        cpuMicrosPerEvent: ((cpuAtDone - steadyStart.cpu) / (committed - steadyStart.committed)) * 1e6,
      }
    : undefined,
  startupSeconds: (startedAt - t0) / 1000,
  peakRssMB: peakAtDone / 1e6,
  getRecordsCalls: stats.getRecordsCalls,
  emptyGetRecordsCalls: stats.getRecordsCalls - stats.getRecordsWithRecords,
  recordsPerCall: stats.recordsServed / Math.max(1, stats.getRecordsWithRecords),
  recordsServed: stats.recordsServed,
  /** Data + partition key bytes served, and how fast from the first to the last response with records. */
  mbServed: stats.bytesServed / 1e6,
  readMBPerSecond: stats.bytesServed / 1e6 / readSeconds,
  responseMB: stats.responseBytes / 1e6,
  throttled: stats.throttled,
  expiredIterators: stats.expiredIterators,
  endpointErrors: stats.errors,
  calls: stats.calls,
  serverCpuMicrosPerEvent: (Number(statsLine.serverCpuSeconds) / committed) * 1e6,
  serverPrepareSeconds: ready.prepareSeconds,
  allServedAfterSeconds: allServed?.allServedAtMs !== undefined ? (Number(allServed.allServedAtMs) - Number(ready.startedAtMs)) / 1000 : null,
  tableRecords: totalRecords,
  checkpointShards: positions.size,
  exact: totalRecords === events && committed === events && positionsRight,
  floeExit: code,
  warnings: errors.slice(0, 5),
  cpuProfiles: profiles,
});
