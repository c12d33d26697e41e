/**
 * The upserts section of `npm run bench` (issue 18): reads of a table receiving upserts with
 * maintenance on, against the same table append-only, and read time against uncompacted delete
 * files (`upserts.ts`). `run.ts` calls {@link upsertsBench} with its `runChild` and renders
 * {@link upsertsMarkdown}.
 *
 *   npm run bench -- --only upserts [--upsert-rows 10000000] [--upsert-seconds 60]
 *   npm run bench -- --only upserts --quick        # 1 million rows, 15 s: under a minute
 */
import { flag } from './common.js';

type Result = Record<string, unknown>;
/** `run.ts`'s child runner: `bench/<script>.js` in a child process, its last JSON line. */
export type RunChild = (script: string, args: string[], opts?: { cpus?: string }) => Promise<Result>;

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';

/**
 * Runs the section (sizes from flags; `quick`: 1 million rows, 15 s, steps up to 20) twice: a
 * format v3 table whose upserts delete by position (deletion vectors, `floe run`'s way on v3),
 * then a v2 table deleting by equality.
 */
export async function upsertsBench(runChild: RunChild, quick: boolean): Promise<Result> {
  const rows = flag('upsert-rows', quick ? '1000000' : '10000000');
  const seconds = flag('upsert-seconds', quick ? '15' : '60');
  const steps = flag('upsert-steps', quick ? '0,1,5,20' : '0,1,5,20,50');
  const fileRows = String(Math.max(1, Math.ceil(Number(rows) / 10)));
  const run = (formatVersion: string) =>
    runChild('upserts', ['--rows', rows, '--seconds', seconds, '--steps', steps, '--file-rows', fileRows, '--format-version', formatVersion]).catch(
      (e: Error) => ({ bench: 'upserts', error: e.message }) as Result,
    );
  return { bench: 'upserts', vectors: await run('3'), equality: await run('2') };
}

type Stat = { median: number; p90: number; max: number };
type Phase = { commits: number; commitMsMedian: number; countMs: Stat; aggMs: Stat; compactions: number; compactionSeconds: number[]; maintenanceErrors: string[]; finalRows: number; samples: { deleteFiles: number; dataFiles: number; vectors?: number }[] };

/** The section's markdown: both runs of {@link upsertsBench}. */
export function upsertsMarkdown(r: Result, section = 10): string[] {
  const md = [`## ${section}. Reads of an upsert table`, ''];
  md.push(
    'Queries run in a thread of their own (`floe query` is a process beside `floe run`: it shares the cores, not the writer\'s event loop); ' +
      'before 2026-12-08 they ran in the writer\'s thread, where each commit\'s JavaScript delayed their planning.',
    '',
  );
  md.push('### Format v3: upserts delete by position (deletion vectors)', '', ...upsertsRun(r.vectors as Result, 'deletion vectors: the writer\'s key index finds each key\'s row, `table/upsert-vectors.ts`'));
  md.push('### Format v2: upserts delete by equality', '', ...upsertsRun(r.equality as Result, 'an equality delete file, `writeEqualityDeletes`'));
  return md;
}

/** One run's tables. */
function upsertsRun(r: Result, deletes: string): string[] {
  const md: string[] = [];
  if (r.error !== undefined) return [...md, `Failed: ${String(r.error).split('\n')[0]!.slice(0, 300)}`, ''];
  const a = r.appendOnly as Phase;
  const u = r.upserts as Phase;
  md.push(
    `A table of ${fmt(num(r.rows))} rows (${fmt(num(r.baseFiles))} files; key \`id\`, \`bigint\`) receives one commit a second for ${fmt(num(r.seconds))} s: ` +
      `upserts of ${fmt(num(r.perSecond))} random existing keys (1%; a row delta of a data file and the deletes: ${deletes}), ` +
      'or, for the reference, appends of as many new keys. Maintenance runs as `floe run` runs it (the defaults: compaction every minute, the delete-file trigger every 10 s at 10 delete files or 10% of the rows, 30% for deletion vectors; orphan removal off). ' +
      'Meanwhile, every 2 s, `floe query`\'s engine (a fresh `QueryEngine` per query: planning included) runs a count and a filtered aggregate ' +
      `(\`SELECT grp, count(*), sum(amount) … WHERE grp < 10 GROUP BY grp\`), in ${r.queries === 'inline' ? 'the writer\'s thread' : 'a thread of its own'}.`,
    '',
    '| table | commits | commit (median) | count: median / p90 / max | aggregate: median / p90 / max | delete files (vectors) seen (max) | compactions (s each) | rows at the end |',
    '|---|---:|---:|---:|---:|---:|---|---:|',
  );
  const ms = (s: Stat) => `${fmt(s.median)} / ${fmt(s.p90)} / ${fmt(s.max)} ms`;
  for (const [name, p] of [['append-only', a], ['upserts', u]] as const) {
    const maxDeletes = `${fmt(Math.max(0, ...p.samples.map((s) => s.deleteFiles)))} (${fmt(Math.max(0, ...p.samples.map((s) => s.vectors ?? 0)))})`;
    md.push(
      `| ${name} | ${fmt(p.commits)} | ${fmt(p.commitMsMedian)} ms | ${ms(p.countMs)} | ${ms(p.aggMs)} | ${maxDeletes} | ${p.compactions}${p.compactionSeconds.length ? ` (${p.compactionSeconds.join(', ')})` : ''} | ${fmt(p.finalRows)} |`,
    );
  }
  md.push(
    '',
    `Upserts / append-only: count ${fmt(num(r.ratioCountMedian), 2)}× (median), ${fmt(num(r.ratioCountP90), 2)}× (p90); aggregate ${fmt(num(r.ratioAggMedian), 2)}× (median), ${fmt(num(r.ratioAggP90), 2)}× (p90). Goal: at most 2×.`,
  );
  const errors = [...a.maintenanceErrors, ...u.maintenanceErrors];
  if (errors.length) md.push('', `Maintenance errors: ${errors.slice(0, 3).join('; ')}`);
  md.push(
    '',
    'Read time against uncompacted deletes (maintenance off; each upsert adds a data file and its deletes; median of 3):',
    '',
    '| delete files | deletion vectors | data files | count | aggregate |',
    '|---:|---:|---:|---:|---:|',
  );
  for (const g of r.growth as { deleteFiles: number; vectors?: number; dataFiles: number; countMs: number; aggMs: number }[]) {
    md.push(`| ${fmt(g.deleteFiles)} | ${fmt(g.vectors ?? 0)} | ${fmt(g.dataFiles)} | ${fmt(g.countMs)} ms | ${fmt(g.aggMs)} ms |`);
  }
  md.push('');
  return md;
}
