/**
 * Summarizes a V8 CPU profile (`node --cpu-prof`): self time by function, the share of the
 * main thread that was idle (waiting for DuckDB's threads, I/O) and in garbage collection.
 *
 *   node dist/bench/profile.js /tmp/prof/CPU.*.cpuprofile [--top 20]
 *
 * Only the JavaScript thread is sampled; DuckDB's worker threads show up as `(idle)` time of
 * the main thread while it awaits them.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One row of the summary. */
export interface ProfileEntry {
  name: string;
  where: string;
  ms: number;
  share: number;
}

/** What {@link summarizeProfile} returns. */
export interface ProfileSummary {
  totalMs: number;
  idleShare: number;
  gcShare: number;
  top: ProfileEntry[];
}

function shortUrl(url: string): string {
  if (!url) return '';
  const i = url.lastIndexOf('/dist/');
  if (i >= 0) return url.slice(i + 6);
  const n = url.lastIndexOf('/node_modules/');
  if (n >= 0) return url.slice(n + 14);
  return url.replace(/^file:\/\//, '').replace(/^node:/, 'node:');
}

/** Self time per function of a `.cpuprofile`, largest first. */
export function summarizeProfile(path: string, top = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; us: number }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!);
    const dt = p.timeDeltas[i] ?? 0;
    if (!node || dt < 0) continue;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const e = self.get(key) ?? { name, where, us: 0 };
    e.us += dt;
    self.set(key, e);
  }
  const entries = [...self.values()].sort((a, b) => b.us - a.us);
  const share = (n: string) => entries.filter((e) => e.name === n).reduce((s, e) => s + e.us, 0) / Math.max(1, total);
  return {
    totalMs: total / 1000,
    idleShare: share('(idle)'),
    gcShare: share('(garbage collector)'),
    top: entries.slice(0, top).map((e) => ({ name: e.name, where: e.where, ms: e.us / 1000, share: e.us / Math.max(1, total) })),
  };
}

/** The summary as a Markdown table. */
export function profileMarkdown(s: ProfileSummary): string {
  const lines = [
    `Main thread: ${(s.totalMs / 1000).toFixed(2)} s sampled, idle ${(s.idleShare * 100).toFixed(1)}% (awaiting DuckDB's threads and I/O), GC ${(s.gcShare * 100).toFixed(1)}%.`,
    '',
    '| self time | share | function | where |',
    '|---:|---:|---|---|',
  ];
  for (const e of s.top) lines.push(`| ${e.ms.toFixed(0)} ms | ${(e.share * 100).toFixed(1)}% | \`${e.name}\` | ${e.where} |`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile.js <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const top = i >= 0 ? Number(process.argv[i + 1]) : 25;
  process.stdout.write(profileMarkdown(summarizeProfile(file, top)) + '\n');
}
