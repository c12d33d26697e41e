/**
 * Shared pieces of the benchmarks: the reference events (150-byte and 1 KB variants) in the shape
 * GetRecords returns them, a peak-RSS sampler, and result printing.
 */
import { readFileSync } from 'node:fs';

/** Pre-encoded events, cycled: the benchmark measures floe, not the generator. */
export function eventPool(size: 150 | 1024, count = 65_536): Uint8Array[] {
  const enc = new TextEncoder();
  const types = ['click', 'page_view', 'purchase'];
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const base = {
      event_id: `evt_1767885412_${String(i).padStart(6, '0')}`,
      user_id: `user_00${i % 5}`,
      event_type: types[i % 3],
      page: `/products/${100 + (i % 100_000)}`,
      timestamp: `2026-01-08T15:${String(16 + (i % 40)).padStart(2, '0')}:52Z`,
    };
    let text = JSON.stringify(base);
    if (size === 1024) text = JSON.stringify({ ...base, payload: 'x'.repeat(Math.max(0, 1024 - text.length - 14)) });
    out.push(enc.encode(text));
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

/** Samples RSS every `ms` and keeps the maximum (for phases within one process). */
export class RssSampler {
  max = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(ms = 50) {
    this.timer = setInterval(() => {
      this.max = Math.max(this.max, process.memoryUsage().rss);
    }, ms);
    this.timer.unref();
  }
  stop(): number {
    clearInterval(this.timer);
    this.max = Math.max(this.max, process.memoryUsage().rss);
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
