/**
 * CPU time of processes and of the machine, from /proc (Linux), for benchmarks that must say how
 * much of the machine they got: on a shared machine a figure is only interpretable next to the CPU
 * seconds each process used and what the rest of the machine took meanwhile.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`; 100 on every Linux seen). */
const TICKS = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds a process has used so far (its threads included), or NaN when gone / not Linux. */
export function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, utime 14, stime 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / TICKS;
  } catch {
    return NaN;
  }
}

/** The machine's busy CPU seconds so far (all cores; idle and iowait left out), or NaN off Linux. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest times are inside user already).
    const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
    return busy / TICKS;
  } catch {
    return NaN;
  }
}

/** The 1-minute load average, rounded to 2 decimals. */
export function load1(): number {
  return Math.round((loadavg()[0] ?? NaN) * 100) / 100;
}

/** The autogroup of a process (`/autogroup-N`: CFS shares CPU between these first), or undefined. */
export function autogroup(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  try {
    return readFileSync(`/proc/${pid}/autogroup`, 'latin1').split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Seconds a process's main thread (for Node: the event loop) ran and waited on a run queue
 * (runnable but not running: the CPU was busy with other work), from `/proc/<pid>/schedstat`;
 * NaN when gone. A thread that neither ran nor waited for a stretch of time was idle (waiting for
 * I/O or a timer): run + wait ≈ elapsed means it could have used a whole core.
 */
export function mainThreadSchedSeconds(pid: number | undefined): { run: number; wait: number } {
  if (pid === undefined) return { run: NaN, wait: NaN };
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'latin1').trim().split(' ').map(Number);
    return { run: (run ?? NaN) / 1e9, wait: (wait ?? NaN) / 1e9 };
  } catch {
    return { run: NaN, wait: NaN };
  }
}

/** {@link mainThreadSchedSeconds} summed over every thread of the process (DuckDB's, libuv's). */
export function allThreadsSchedSeconds(pid: number | undefined): { run: number; wait: number } {
  if (pid === undefined) return { run: NaN, wait: NaN };
  let run = 0;
  let wait = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const [r, w] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').trim().split(' ').map(Number);
        run += r ?? 0;
        wait += w ?? 0;
      } catch {
        // A thread that ended meanwhile.
      }
    }
    return { run: run / 1e9, wait: wait / 1e9 };
  } catch {
    return { run: NaN, wait: NaN };
  }
}
