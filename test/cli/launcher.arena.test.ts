/**
 * `bin/floe` sets MALLOC_ARENA_MAX=2 for Node unless the caller set it (issue 12: glibc's arenas
 * kept 10-15 MB of freed memory in the soak; the A/B is in bench/notes.md). A probe loaded with
 * `--require` (NODE_OPTIONS) reports the environment Node was started with.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../helpers/shared.js';
import { childEnv } from './spawn.js';

const launcher = join(repoRoot(), 'bin', 'floe');
const built = existsSync(join(repoRoot(), 'dist', 'src', 'cli', 'main.js'));

describe('bin/floe: MALLOC_ARENA_MAX', { skip: built ? false : 'bin/floe starts dist/src/cli/main.js: run `npm run build` first' }, () => {
  let dir = '';
  let probe = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-launcher-arena-'));
    probe = join(dir, 'probe.cjs');
    await writeFile(probe, `require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ arena: process.env.MALLOC_ARENA_MAX ?? null }));\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** MALLOC_ARENA_MAX as Node saw it; `arena` undefined = not in the caller's environment. */
  async function seen(args: string[], arena: string | undefined): Promise<string | null> {
    const out = join(dir, `probe-${Math.random().toString(36).slice(2)}.json`);
    const env = childEnv({ NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out });
    delete env.MALLOC_ARENA_MAX;
    if (arena !== undefined) env.MALLOC_ARENA_MAX = arena;
    const child = spawn(launcher, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, `floe ${args.join(' ')}`);
    return (JSON.parse(await readFile(out, 'utf8')) as { arena: string | null }).arena;
  }

  it('sets 2 when the caller did not, for every command', async () => {
    assert.equal(await seen(['run', '--help'], undefined), '2');
    assert.equal(await seen(['table', '--help'], undefined), '2');
  });

  it("keeps the caller's value, an empty one included", async () => {
    assert.equal(await seen(['run', '--help'], '8'), '8');
    assert.equal(await seen(['run', '--help'], ''), '');
  });
});
