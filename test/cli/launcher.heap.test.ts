/**
 * `bin/floe`, the installed command (issue 12): the long-running commands start Node with floe's
 * heap bound, a heap size in NODE_OPTIONS wins, and the launcher leaves no process in between
 * (`exec`: the pid spawned is Node's, the exit code is floe's). Found through a symlink, as npm
 * installs it in node_modules/.bin.
 *
 * A probe loaded with `--require` (NODE_OPTIONS) reports what Node was started with.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FLOE_HEAP_BOUND_MB, heapBoundArgs, nodeOptionsSetHeap } from '../../src/cli/heap-bound.js';
import { repoRoot } from '../helpers/shared.js';
import { childEnv } from './spawn.js';

const launcher = join(repoRoot(), 'bin', 'floe');
const built = existsSync(join(repoRoot(), 'dist', 'src', 'cli', 'main.js'));

interface Probe {
  pid: number;
  execArgv: string[];
  limitMB: number;
}

describe('bin/floe', { skip: built ? false : 'bin/floe starts dist/src/cli/main.js: run `npm run build` first' }, () => {
  let dir = '';
  let link = '';
  let probe = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-launcher-'));
    // As npm installs it: node_modules/.bin/floe -> ../<package>/bin/floe (relative).
    await symlink(launcher, join(dir, 'floe-target'));
    link = join(dir, 'floe');
    await symlink('floe-target', link);
    probe = join(dir, 'probe.cjs');
    await writeFile(
      probe,
      `require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ pid: process.pid, execArgv: process.execArgv, ` +
        `limitMB: require('node:v8').getHeapStatistics().heap_size_limit / 1048576 }));\n`,
    );
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs the linked launcher with `args`; NODE_OPTIONS loads the probe (plus `nodeOptions`). */
  async function launch(args: string[], nodeOptions = ''): Promise<{ code: number | null; pid: number | undefined; probe: Probe; stdout: string }> {
    const out = join(dir, `probe-${Math.random().toString(36).slice(2)}.json`);
    const child = spawn(link, args, {
      env: childEnv({ NODE_OPTIONS: `--require ${probe} ${nodeOptions}`.trim(), PROBE_OUT: out }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.resume();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    return { code, pid: child.pid, probe: JSON.parse(await readFile(out, 'utf8')) as Probe, stdout };
  }

  it('starts `floe run` with the heap bound, as the very process spawned', async () => {
    const r = await launch(['run', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /floe run/);
    assert.deepEqual(r.probe.execArgv, [`--max-old-space-size=${FLOE_HEAP_BOUND_MB}`]);
    // The limit includes the young generation: a little above the old generation's bound.
    assert.ok(r.probe.limitMB >= FLOE_HEAP_BOUND_MB && r.probe.limitMB < FLOE_HEAP_BOUND_MB + 100, `heap limit ${r.probe.limitMB} MB`);
    assert.equal(r.probe.pid, r.pid, 'exec: no shell process left between the caller and Node');
  });

  it('bounds catalog serve, local and quickstart too, not the one-shot commands', async () => {
    for (const cmd of ['catalog', 'local', 'quickstart']) {
      const r = await launch([cmd, '--help']);
      assert.deepEqual(r.probe.execArgv, [`--max-old-space-size=${FLOE_HEAP_BOUND_MB}`], cmd);
    }
    const r = await launch(['table', '--help']);
    assert.deepEqual(r.probe.execArgv, []);
  });

  it("lets a heap size in the user's NODE_OPTIONS win", async () => {
    const r = await launch(['run', '--help'], '--max-old-space-size=1024');
    assert.deepEqual(r.probe.execArgv, []);
    assert.ok(r.probe.limitMB >= 1024 && r.probe.limitMB < 1124, `heap limit ${r.probe.limitMB} MB`);
    const h = await launch(['run', '--help'], '--max_old_space_size=900');
    assert.ok(h.probe.limitMB >= 900 && h.probe.limitMB < 1000, `heap limit ${h.probe.limitMB} MB`);
  });

  it("passes floe's exit code and arguments through unchanged", async () => {
    const r = await launch(['run', '--no-such-flag']);
    assert.equal(r.code, 2);
    const v = await launch(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^floe \d+\.\d+\.\d+/);
  });
});

describe('heapBoundArgs', () => {
  it('gives the bound unless NODE_OPTIONS sets a heap size', () => {
    assert.deepEqual(heapBoundArgs(undefined), [`--max-old-space-size=${FLOE_HEAP_BOUND_MB}`]);
    assert.deepEqual(heapBoundArgs('--enable-source-maps'), [`--max-old-space-size=${FLOE_HEAP_BOUND_MB}`]);
    for (const o of ['--max-old-space-size=2048', '--max_old_space_size=100', '--trace-gc --max-heap-size=300']) {
      assert.equal(nodeOptionsSetHeap(o), true, o);
      assert.deepEqual(heapBoundArgs(o), [], o);
    }
  });

  it('holds the same figure as bin/floe', async () => {
    const text = await readFile(launcher, 'utf8');
    const figures = [...text.matchAll(/--max-old-space-size=(\d+)/g)].map((m) => Number(m[1]));
    assert.deepEqual([...new Set(figures)], [FLOE_HEAP_BOUND_MB]);
  });
});
