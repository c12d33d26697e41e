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
 *   node dist/bench/scale-out.js --shards 8 --events 2000000 [--rounds 1]
 *
 * The endpoint and dynalite are not pinned: they share the two cores with the workers (only two
 * here), which holds the two-worker figure down; so does the machine's other work. The two workers
 * take at most half the shards each (`max_leases_per_worker`), so both read from the start
 * instead of the second stealing leases one scan at a time.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { emitResult, flag, floeMain } from './common.js';

const shards = Number(flag('shards', '8'));
const events = Number(flag('events', '2000000'));
const rounds = Number(flag('rounds', '1'));
const timeoutMs = Number(flag('timeout-seconds', '600')) * 1000;
const stream = 'bench-scale-out';

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const TASKSET = hasTaskset();

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

async function startChild(argv: string[]): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
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

/** One measurement: `workers` floe run processes (pinned to cores 0, 1, …) drain the stream. */
async function measure(workers: number, round: number): Promise<{ eventsPerSecond: number; wholeRunEventsPerSecond: number; seconds: number; perWorker: number[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-bench-scale-out-'));
  const endpoint = await startChild([...serverArgs, '--shards', String(shards), '--events', String(events), '--stream', stream]);
  const dynamo = await startChild(['-e', DYNALITE, createRequire(import.meta.url).resolve('dynalite')]);
  const procs: ChildProcess[] = [];
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
    let startedAt = NaN;
    /** [time, committed so far] at each commit. */
    const marks: [number, number][] = [];
    let errors = '';
    const done = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`scale-out: ${committed} of ${events} events committed after ${timeoutMs / 1000} s ${errors}`)), timeoutMs);
      for (let w = 0; w < workers; w++) {
        const argv = [process.execPath, ...floeArgs, 'run', '--config', configPath];
        const p = TASKSET ? spawn('taskset', ['-c', String(w % 2), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env }) : spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env });
        procs.push(p);
        p.stderr!.on('data', (d: Buffer) => (errors = (errors + d.toString()).slice(-2000)));
        p.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`scale-out: worker ${w} exited (${code}): ${errors}`));
        });
        createInterface({ input: p.stdout! }).on('line', (line) => {
          let e: { msg?: string; records?: number };
          try {
            e = JSON.parse(line) as typeof e;
          } catch {
            return;
          }
          if (e.msg?.startsWith('started') && Number.isNaN(startedAt)) startedAt = performance.now();
          if (e.msg === 'commit') {
            committed += e.records ?? 0;
            perWorker[w]! += e.records ?? 0;
            marks.push([performance.now(), committed]);
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
    const from = marks.find(([, n]) => n >= events * 0.1)!;
    const to = marks.find(([, n]) => n >= events * 0.9)!;
    const steady = to[0] > from[0] ? (to[1] - from[1]) / ((to[0] - from[0]) / 1000) : NaN;
    return { eventsPerSecond: steady, wholeRunEventsPerSecond: events / seconds, seconds, perWorker };
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
    await rm(dir, { recursive: true, force: true });
  }
}

const one: number[] = [];
const two: number[] = [];
const oneWhole: number[] = [];
const twoWhole: number[] = [];
const split: number[][] = [];
for (let r = 0; r < rounds; r++) {
  const a = await measure(1, r);
  one.push(a.eventsPerSecond);
  oneWhole.push(a.wholeRunEventsPerSecond);
  const m = await measure(2, r);
  two.push(m.eventsPerSecond);
  twoWhole.push(m.wholeRunEventsPerSecond);
  split.push(m.perWorker);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
emitResult({
  bench: 'scale-out',
  shards,
  events,
  rounds,
  pinned: TASKSET,
  oneWorkerEventsPerSecond: median(one),
  twoWorkersEventsPerSecond: median(two),
  ratio: median(two.map((t, i) => t / one[i]!)),
  ratiosByRound: two.map((t, i) => t / one[i]!),
  oneWorkerWholeRunEventsPerSecond: median(oneWhole),
  twoWorkersWholeRunEventsPerSecond: median(twoWhole),
  wholeRunRatio: median(twoWhole.map((t, i) => t / oneWhole[i]!)),
  eventsPerWorker: split,
});
