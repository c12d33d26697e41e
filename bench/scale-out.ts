/**
 * Scale-out (issue #14 part 6): one `floe run` worker pinned to core 0, then two workers of one
 * application (`source.application`, leases in dynalite) pinned to cores 0 and 1, each time
 * draining the same stream of `--events` 150-byte reference events over `--shards` shards from the
 * fast local endpoint (`kinesis-fast-server.ts`, its own process). Throughput = the events
 * committed between the commit that passes 10% of them and the one that passes 90%, over that
 * time (the drain's steady state: start-up, lease taking and the last commit interval left out;
 * runs need ten seconds or more for a sound figure); the figure is two ÷ one. The whole run's
 * rate (first `started` line to the last commit) is reported beside it.
 *
 *   node dist/bench/scale-out.js --shards 64 --events 4000000 [--rounds 1] [--logs DIR] [--own-sessions]
 *        [--worker-node-args '--cpu-prof --cpu-prof-dir=/tmp/prof']
 *
 * What makes the ratio interpretable on any machine is reported with it, measured over the same
 * window from /proc (`proc-cpu.ts`): each worker's CPU seconds and CPU µs per event it committed
 * (equal in the one- and two-worker runs = the work divides without overhead, and the ratio is
 * then set by the CPU the workers got), the endpoint's and dynalite's CPU (they are not pinned:
 * on two cores they run on the workers' cores), the CPU the rest of the machine took meanwhile,
 * the load average, commit conflicts per commit, lease moves inside the window, and rewinds.
 * `cpuBoundRatio` = (two workers' events ÷ their CPU) ÷ (one worker's events ÷ its CPU), times two:
 * the ratio two workers would reach with a core each to themselves.
 *
 * Linux groups a session's processes for CPU fairness (autogroup): on a busy machine a session
 * gets about the same CPU whether it runs one worker or two, so two workers started in one
 * session cannot be faster than the session's share. `--own-sessions` starts every child in a
 * session of its own, as separate services would be (the default when the machine has autogroup
 * on: the figure should not depend on it; `--one-session` forces the old way).
 *
 * The two workers take at most half the shards each (`max_leases_per_worker`), so both read from
 * the start instead of the second stealing leases one scan at a time.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { averageSize, emitResult, eventPool, flag, floeMain } from './common.js';
import { allThreadsSchedSeconds, autogroup, load1, machineBusySeconds, mainThreadSchedSeconds, processCpuSeconds } from './proc-cpu.js';

const shards = Number(flag('shards', '64'));
const events = Number(flag('events', '4000000'));
const rounds = Number(flag('rounds', '1'));
const timeoutMs = Number(flag('timeout-seconds', '600')) * 1000;
const logsDir = flag('logs', '');
/** Extra Node arguments of the workers (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`: NODE_OPTIONS refuses those). */
const workerNodeArgs = flag('worker-node-args', '').split(' ').filter((a) => a !== '');
const stream = 'bench-scale-out';

/**
 * The most the stream can deliver: floe keeps every shard within Kinesis's read limit of 2 MB/s
 * (data + partition key bytes; `source/kinesis/pacing.ts`), endpoint or not. A run near this
 * rate measures the stream, not the workers: with 8 shards it is about 100,000 events/s, which one
 * worker reaches alone, so two cannot be faster (the first 0.81×). Enough shards that two workers
 * stay well below it (64: about 800,000 events/s, the "64 busy shards").
 */
const SHARD_READ_BYTES_PER_SECOND = 2_000_000;
const eventBytes = averageSize(eventPool(150));
const partitionKeyBytes = ((): number => {
  // The fast server's keys: `pk_<n % 1,000,000>` for event n.
  let total = 0;
  const n = Math.min(events, 1_000_000);
  for (let i = 0; i < n; i++) total += 3 + String(i).length;
  return n > 0 ? total / n : 0;
})();
const streamReadCapEventsPerSecond = (shards * SHARD_READ_BYTES_PER_SECOND) / (eventBytes + partitionKeyBytes);

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TASKSET = hasTaskset();

function autogroupOn(): boolean {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'latin1').trim() === '1';
  } catch {
    return false;
  }
}
const OWN_SESSIONS = process.argv.includes('--own-sessions') || (!process.argv.includes('--one-session') && autogroupOn());

/** Node arguments running a sibling script or the CLI: compiled when built, else through tsx. */
function nodeScript(compiled: string, source: string): string[] {
  return existsSync(compiled) ? [compiled] : ['--import', 'tsx', source];
}
const floeArgs = nodeScript(floeMain(), new URL('../src/cli/main.ts', import.meta.url).pathname);
const serverArgs = nodeScript(new URL('./kinesis-fast-server.js', import.meta.url).pathname, new URL('./kinesis-fast-server.ts', import.meta.url).pathname);

/** Resolves with the first stdout JSON line matching `pred`. */
function firstLine(child: ChildProcess, pred: (x: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const x = JSON.parse(line) as Record<string, unknown>;
      if (pred(x)) resolve(x);
    });
    child.once('exit', (code) => reject(new Error(`scale-out: child exited (${code}) first`)));
  });
}

const DYNALITE = `
const dynalite = require(process.argv[1]);
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
process.stdin.on('end', () => server.close(() => process.exit(0)));
process.stdin.resume();
`;

/**
 * Every child started, killed when this process ends however it ends (in sessions of their own
 * they do not get the terminal's Ctrl-C, and nothing else would stop the workers).
 */
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function startChild(argv: string[]): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = track(spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'], detached: OWN_SESSIONS }));
  const ready = await firstLine(child, (x) => x.url !== undefined || x.port !== undefined);
  return { child, ready };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.stdin?.end();
  child.kill('SIGTERM');
  await exited;
}

/** Everything counted at one instant of a run (at each commit line). */
interface Mark {
  t: number;
  committed: number;
  perWorker: number[];
  commits: number[];
  conflicts: number[];
  workerCpu: number[];
  /** Each worker's main thread (the event loop): seconds run and seconds waited on a run queue. */
  workerSched: { run: number; wait: number }[];
  /** Every thread of each worker, and the endpoint's main thread. */
  workerThreadsSched: { run: number; wait: number }[];
  endpointSched: { run: number; wait: number };
  endpointCpu: number;
  dynamoCpu: number;
  machineBusy: number;
  leaseMoves: number;
  rewinds: number;
}

/** What a window of a run (between two marks) did. */
export interface WindowFigures {
  seconds: number;
  eventsPerSecond: number;
  events: number;
  eventsPerWorker: number[];
  /** Per worker: CPU seconds, share of a core, CPU µs per event it committed. */
  workerCpuSeconds: number[];
  workerCores: number[];
  workerCpuMicrosPerEvent: number[];
  /**
   * Per worker, share of the window its event loop was runnable but waiting for a CPU (starved by
   * other work on its core), and share it was idle (waiting for I/O, timers, the catalog): what is
   * left besides running. Mostly waiting = the machine's limit; mostly idle = floe's.
   */
  workerLoopWaiting: number[];
  workerLoopIdle: number[];
  /** Per worker, seconds its threads (all of them) waited on a run queue, per second of the window. */
  workerThreadsWaiting: number[];
  /** Share of the window the endpoint's event loop was runnable but waiting for a CPU (its answers were late by that). */
  endpointLoopWaiting: number;
  /** All workers: CPU µs per event committed. */
  cpuMicrosPerEvent: number;
  endpointCores: number;
  endpointCpuMicrosPerEvent: number;
  dynamoCores: number;
  /** Cores the rest of the machine (other work than this benchmark's processes) used. */
  otherCores: number;
  commits: number;
  conflictsPerCommit: number;
  leaseMoves: number;
  rewinds: number;
}

function windowOf(a: Mark, b: Mark): WindowFigures {
  const seconds = (b.t - a.t) / 1000;
  const events = b.committed - a.committed;
  const eventsPerWorker = b.perWorker.map((n, i) => n - a.perWorker[i]!);
  const workerCpuSeconds = b.workerCpu.map((c, i) => c - a.workerCpu[i]!);
  const cpu = workerCpuSeconds.reduce((s, x) => s + x, 0);
  const endpoint = b.endpointCpu - a.endpointCpu;
  const dynamo = b.dynamoCpu - a.dynamoCpu;
  const commits = b.commits.reduce((s, x) => s + x, 0) - a.commits.reduce((s, x) => s + x, 0);
  const conflicts = b.conflicts.reduce((s, x) => s + x, 0) - a.conflicts.reduce((s, x) => s + x, 0);
  return {
    seconds,
    eventsPerSecond: events / seconds,
    events,
    eventsPerWorker,
    workerCpuSeconds,
    workerCores: workerCpuSeconds.map((c) => c / seconds),
    workerCpuMicrosPerEvent: workerCpuSeconds.map((c, i) => (c / eventsPerWorker[i]!) * 1e6),
    workerLoopWaiting: b.workerSched.map((s, i) => (s.wait - a.workerSched[i]!.wait) / seconds),
    workerLoopIdle: b.workerSched.map((s, i) => 1 - (s.run - a.workerSched[i]!.run + s.wait - a.workerSched[i]!.wait) / seconds),
    workerThreadsWaiting: b.workerThreadsSched.map((s, i) => (s.wait - a.workerThreadsSched[i]!.wait) / seconds),
    endpointLoopWaiting: (b.endpointSched.wait - a.endpointSched.wait) / seconds,
    cpuMicrosPerEvent: (cpu / events) * 1e6,
    endpointCores: endpoint / seconds,
    endpointCpuMicrosPerEvent: (endpoint / events) * 1e6,
    dynamoCores: dynamo / seconds,
    otherCores: (b.machineBusy - a.machineBusy - cpu - endpoint - dynamo) / seconds,
    commits,
    conflictsPerCommit: conflicts / Math.max(1, commits),
    leaseMoves: b.leaseMoves - a.leaseMoves,
    rewinds: b.rewinds - a.rewinds,
  };
}

/** One measurement's figures. */
export interface Measurement extends WindowFigures {
  workers: number;
  /** Throughput ÷ the stream's read cap (near 1: the stream, not the workers, set the rate). */
  shareOfStreamCap: number;
  wholeRunEventsPerSecond: number;
  wholeRunSeconds: number;
  /** Every worker's events, the whole run. */
  eventsPerWorkerWholeRun: number[];
  /** Load average (1 min) at the start and the end of the run. */
  load: [number, number];
  /** The window in which every worker committed (first commit of the last to start → last commit of the first to finish). */
  allWorkers: WindowFigures | undefined;
  /** Autogroups of the workers, endpoint and dynalite (CPU fairness groups). */
  autogroups: string[];
  /** Lease moves (gained after the first take, lost) over the whole run, and rewinds. */
  leaseMovesWholeRun: number;
}

/** One measurement: `workers` floe run processes (pinned to cores 0, 1, …) drain the stream. */
async function measure(workers: number, round: number): Promise<Measurement> {
  const load0 = load1();
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-scale-out-'));
  const endpoint = await startChild([...serverArgs, '--shards', String(shards), '--events', String(events), '--stream', stream]);
  const dynamo = await startChild(['-e', DYNALITE, createRequire(import.meta.url).resolve('dynalite')]);
  const procs: ChildProcess[] = [];
  const logs: string[][] = Array.from({ length: workers }, () => []);
  try {
    const config = {
      source: {
        stream,
        endpoint: String(endpoint.ready.url),
        region: 'us-east-1',
        application: `bench-scale-out-${workers}-${round}`,
        lease: { failover_time: '3s', ...(workers > 1 ? { max_leases_per_worker: Math.ceil(shards / workers) } : {}) },
      },
      catalog: { warehouse: dir },
      table: { name: 'bench.events' },
      transform: {
        columns: {
          event_id: 'string',
          user_id: 'string',
          event_type: 'string',
          page: 'string',
          event_time: { type: 'timestamptz', path: 'timestamp' },
          processed_time: { type: 'timestamptz', value: 'processing_time' },
        },
      },
      commit: { interval: '1s' },
      maintenance: false,
    };
    const configPath = join(dir, 'floe.json');
    await writeFile(configPath, JSON.stringify(config));
    const env = {
      ...process.env,
      AWS_SDK_JS_SUPPRESS_NODE_DEPRECATION_WARNING: '1',
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${String(dynamo.ready.port)}`,
    };
    let committed = 0;
    const perWorker = Array.from({ length: workers }, () => 0);
    const commits = Array.from({ length: workers }, () => 0);
    const conflicts = Array.from({ length: workers }, () => 0);
    const firstCommit: (Mark | undefined)[] = Array.from({ length: workers }, () => undefined);
    const lastCommit: (Mark | undefined)[] = Array.from({ length: workers }, () => undefined);
    let leaseMoves = 0;
    let rewinds = 0;
    let startedAt = NaN;
    const marks: Mark[] = [];
    const mark = (): Mark => ({
      t: performance.now(),
      committed,
      perWorker: [...perWorker],
      commits: [...commits],
      conflicts: [...conflicts],
      workerCpu: procs.map((p) => processCpuSeconds(p.pid)),
      workerSched: procs.map((p) => mainThreadSchedSeconds(p.pid)),
      workerThreadsSched: procs.map((p) => allThreadsSchedSeconds(p.pid)),
      endpointSched: mainThreadSchedSeconds(endpoint.child.pid),
      endpointCpu: processCpuSeconds(endpoint.child.pid),
      dynamoCpu: processCpuSeconds(dynamo.child.pid),
      machineBusy: machineBusySeconds(),
      leaseMoves,
      rewinds,
    });
    let errors = '';
    const done = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`scale-out: ${committed} of ${events} events committed after ${timeoutMs / 1000} s ${errors}`)), timeoutMs);
      for (let w = 0; w < workers; w++) {
        const argv = [process.execPath, ...workerNodeArgs, ...floeArgs, 'run', '--config', configPath];
        const options = { stdio: ['ignore', 'pipe', 'pipe'] as ('ignore' | 'pipe')[], env, detached: OWN_SESSIONS };
        // taskset execs node: the child's pid is the worker's.
        const p = track(TASKSET ? spawn('taskset', ['-c', String(w % 2), ...argv], options) : spawn(argv[0]!, argv.slice(1), options));
        procs.push(p);
        p.stderr!.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-2000)));
        p.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`scale-out: worker ${w} exited (${code}): ${errors}`));
        });
        createInterface({ input: p.stdout! }).on('line', (line) => {
          if (logsDir !== '') logs[w]!.push(line);
          let e: { msg?: string; records?: number; attempts?: number };
          try {
            e = JSON.parse(line) as typeof e;
          } catch {
            return;
          }
          const msg = e.msg ?? '';
          if (msg.startsWith('started') && Number.isNaN(startedAt)) startedAt = performance.now();
          // A lease taken from another worker, or lost: a shard moved between workers.
          const previous = (e as { previousOwner?: string }).previousOwner;
          if ((msg.startsWith('leases: gained') && previous !== undefined && previous !== null) || msg.startsWith('leases: lost')) leaseMoves++;
          if (msg.startsWith('rewound')) rewinds++;
          if (msg === 'commit') {
            committed += e.records ?? 0;
            perWorker[w]! += e.records ?? 0;
            commits[w]!++;
            conflicts[w]! += Math.max(0, (e.attempts ?? 1) - 1);
            const m = mark();
            marks.push(m);
            firstCommit[w] ??= m;
            if ((e.records ?? 0) > 0) lastCommit[w] = m;
            if (committed >= events) {
              clearTimeout(timer);
              resolve(performance.now());
            }
          }
        });
      }
    });
    const doneAt = await done;
    const seconds = (doneAt - startedAt) / 1000;
    if (committed !== events) throw new Error(`scale-out: ${committed} events committed, ${events} produced`);
    const from = marks.find((m) => m.committed >= events * 0.1)!;
    const to = marks.find((m) => m.committed >= events * 0.9)!;
    const steady = windowOf(from, to);
    // Every worker committing: from the last worker's first commit to the first finisher's last.
    const a = firstCommit.reduce((x, m) => (m !== undefined && (x === undefined || m.t > x.t) ? m : x), undefined as Mark | undefined);
    const b = lastCommit.reduce((x, m) => (m !== undefined && (x === undefined || m.t < x.t) ? m : x), undefined as Mark | undefined);
    const allWorkers = a !== undefined && b !== undefined && b.t - a.t > 1000 ? windowOf(a, b) : undefined;
    return {
      workers,
      ...steady,
      shareOfStreamCap: steady.eventsPerSecond / streamReadCapEventsPerSecond,
      wholeRunEventsPerSecond: events / seconds,
      wholeRunSeconds: seconds,
      eventsPerWorkerWholeRun: perWorker,
      load: [load0, load1()],
      allWorkers,
      autogroups: [...procs.map((p) => autogroup(p.pid) ?? '?'), `endpoint ${autogroup(endpoint.child.pid) ?? '?'}`, `dynalite ${autogroup(dynamo.child.pid) ?? '?'}`],
      leaseMovesWholeRun: leaseMoves,
    };
  } finally {
    for (const p of procs) {
      p.removeAllListeners('exit');
      if (p.exitCode === null) {
        const exited = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGTERM');
        await exited;
      }
    }
    await stopChild(endpoint.child);
    await stopChild(dynamo.child);
    if (logsDir !== '') for (let w = 0; w < workers; w++) writeFileSync(join(logsDir, `scale-out-${workers}w-r${round}-worker${w}.log`), logs[w]!.join('\n') + '\n');
    await rm(dir, { recursive: true, force: true });
  }
}

const runs: { one: Measurement; two: Measurement }[] = [];
for (let r = 0; r < rounds; r++) {
  // A/B in the same minutes: one, two, one, two, …
  const one = await measure(1, r);
  const two = await measure(2, r);
  runs.push({ one, two });
  process.stderr.write(
    `scale-out round ${r + 1}: one ${Math.round(one.eventsPerSecond)} events/s (${one.cpuMicrosPerEvent.toFixed(2)} µs/event, load ${one.load.join('→')}), ` +
      `two ${Math.round(two.eventsPerSecond)} events/s (${two.cpuMicrosPerEvent.toFixed(2)} µs/event, load ${two.load.join('→')})\n`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ratios = runs.map(({ one, two }) => two.eventsPerSecond / one.eventsPerSecond);
/** Events per worker CPU second, two ÷ one, times two: the ratio with a core per worker. */
const cpuBound = runs.map(({ one, two }) => (2 * one.cpuMicrosPerEvent) / two.cpuMicrosPerEvent);
emitResult({
  bench: 'scale-out',
  shards,
  events,
  rounds,
  pinned: TASKSET,
  ownSessions: OWN_SESSIONS,
  streamReadCapEventsPerSecond,
  oneWorkerEventsPerSecond: median(runs.map((r) => r.one.eventsPerSecond)),
  twoWorkersEventsPerSecond: median(runs.map((r) => r.two.eventsPerSecond)),
  ratio: median(ratios),
  ratiosByRound: ratios,
  cpuBoundRatio: median(cpuBound),
  oneWorkerCpuMicrosPerEvent: median(runs.map((r) => r.one.cpuMicrosPerEvent)),
  twoWorkersCpuMicrosPerEvent: median(runs.map((r) => r.two.cpuMicrosPerEvent)),
  oneWorkerWholeRunEventsPerSecond: median(runs.map((r) => r.one.wholeRunEventsPerSecond)),
  twoWorkersWholeRunEventsPerSecond: median(runs.map((r) => r.two.wholeRunEventsPerSecond)),
  wholeRunRatio: median(runs.map(({ one, two }) => two.wholeRunEventsPerSecond / one.wholeRunEventsPerSecond)),
  eventsPerWorker: runs.map((r) => r.two.eventsPerWorkerWholeRun),
  runs,
});
