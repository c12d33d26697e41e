/**
 * Shared pieces of the benchmarks: the reference events (150-byte and 1 KB variants) in the shape
 * GetRecords returns them, RSS samplers (this process and others), flags, statistics, and result
 * printing (one JSON line on stdout, which `run.ts` parses).
 */
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Pre-encoded events, cycled: the benchmark measures floe, not the generator. The events are
 * views into one buffer, as the AWS SDK's decoded records are views into shared buffers (a
 * separate buffer per event would add about 10 MB of the benchmark's own to floe's RSS).
 */
export function eventPool(size: 150 | 1024, count = 65_536): Uint8Array[] {
  const enc = new TextEncoder();
  const types = ['click', 'page_view', 'purchase'];
  const out: Uint8Array[] = [];
  const all = new Uint8Array(count * (size + 16));
  let used = 0;
  for (let i = 0; i < count; i++) {
    const base = {
      event_id: `evt_1767885412_${String(i).padStart(6, '0')}`,
      user_id: `user_00${i % 5}`,
      event_type: types[i % 3],
      page: `/products/${100 + (i % 100_000)}`,
      timestamp: `2026-01-08T15:${String(16 + (i % 40)).padStart(2, '0')}:52Z`,
    };
    let text = JSON.stringify(base);
    // Exactly `size` bytes: the event id is zero-padded (150), or a payload string added (1 KB).
    if (size === 150) text = JSON.stringify({ ...base, event_id: `evt_1767885412_${String(i).padStart(6 + Math.max(0, 150 - text.length), '0')}` });
    else text = JSON.stringify({ ...base, payload: 'x'.repeat(Math.max(0, 1024 - text.length - 14)) });
    const { written } = enc.encodeInto(text, all.subarray(used));
    out.push(all.subarray(used, used + written));
    used += written;
  }
  return out;
}

/** Average encoded size of the pool's events. */
export function averageSize(pool: Uint8Array[]): number {
  return pool.reduce((a, b) => a + b.length, 0) / pool.length;
}

/** The kernel's peak RSS of this process (VmHWM), in bytes. */
export function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss;
}

/**
 * Samples memory every `ms` and keeps the maximum RSS, and the V8 heap and external (array
 * buffers, native) memory at that moment.
 */
export class RssSampler {
  max = 0;
  /** V8 heap (total) and external memory when RSS peaked. */
  atPeak = { heap: 0, external: 0 };
  private readonly timer: NodeJS.Timeout;
  constructor(ms = 50) {
    this.timer = setInterval(() => this.sample(), ms);
    this.timer.unref();
  }
  private sample(): void {
    const m = process.memoryUsage();
    if (m.rss > this.max) {
      this.max = m.rss;
      this.atPeak = { heap: m.heapTotal, external: m.external };
    }
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.max;
  }
}

/** Prints a result as the last line of stdout (the orchestrator parses it). */
export function emitResult(result: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** `--name value` flags. */
export function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}

/** Percentile of a sorted array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

/** Sorted copy of numbers. */
export function sorted(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** Median (NaN for none). */
export function median(xs: readonly number[]): number {
  return percentile(sorted(xs), 50);
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** VmRSS and VmHWM (peak) of a process, in bytes (Linux); undefined when it is gone. */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    if (!rss || !hwm) return undefined;
    return { rss: Number(rss[1]) * 1024, peak: Number(hwm[1]) * 1024 };
  } catch {
    return undefined;
  }
}

/**
 * The `floe` command as users start it (`bin/floe`, which runs the compiled CLI with its V8 heap
 * bound and `MALLOC_ARENA_MAX=2`): what the real-path benchmarks run, so that they measure the
 * process users get, not a bare `node main.js`.
 */
export function floeBin(): string {
  return new URL('../../bin/floe', import.meta.url).pathname;
}

/** The compiled CLI (`dist/src/cli/main.js`), next to the compiled benchmarks. */
export function floeMain(): string {
  return new URL('../src/cli/main.js', import.meta.url).pathname;
}

/**
 * A reference event as JSON bytes with a unique `event_id` (`<prefix>_<seq>`) and the current
 * time, about 150 bytes: what the Kinesis scenarios send.
 */
export function liveEvent(prefix: string, seq: number, nowMs = Date.now()): Uint8Array {
  const types = ['click', 'page_view', 'purchase'];
  return new TextEncoder().encode(
    JSON.stringify({
      event_id: `${prefix}_${seq}`,
      user_id: `user_00${seq % 5}`,
      event_type: types[seq % 3],
      page: `/products/${100 + (seq % 100_000)}`,
      timestamp: new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }),
  );
}

/**
 * CPU seconds of a process (this one by default) by thread name (Linux
 * `/proc/<pid>/task/<tid>/stat`; its main thread as `main`), e.g. the JavaScript thread, libuv's
 * pool, DuckDB's. Empty elsewhere, or when the process is gone. Used to show where the CPU goes:
 * the JavaScript thread vs DuckDB's writing.
 */
export function threadCpuSeconds(pid: number = process.pid): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    const tick = 100; // USER_HZ on Linux
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / tick;
      const key = tid === String(pid) ? 'main' : name;
      out[key] = (out[key] ?? 0) + seconds;
    }
  } catch {
    // not Linux, or gone
  }
  return out;
}
