/**
 * floe as a consumer gets it: `npm pack`, the tarball unpacked into a fresh package's
 * `node_modules/floe`, then the README's library program (the text between the
 * `library-example` markers, exactly) type-checked against the packed `.d.ts` with the repo's
 * TypeScript (`import { … } from 'floe'` through the `exports` map) and run with Node; what it
 * prints must be the README's `library-example-output` block.
 *
 * Offline and fast: the tarball is unpacked as `npm install` does (the `package/` folder becomes
 * `node_modules/floe`), and floe's dependencies are symlinks to this repository's installed ones
 * instead of a registry install (minutes, and npm would run install scripts inside the link
 * targets). The install script (node-gyp, the native JSON scanner) is not run here; without it
 * floe uses the JavaScript scanner.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/shared.js';

const run = promisify(execFile);
const root = repoRoot();
let dir = '';
let consumer = '';
let packed: { filename: string; files: { path: string }[] };

/** The text between `<!-- name:start -->` + a fence and the fence + `<!-- name:end -->` in README.md. */
function readmeBlock(readme: string, name: string): string {
  const re = new RegExp(`<!-- ${name}:start -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`);
  const m = re.exec(readme);
  assert.ok(m, `README.md has no ${name} block`);
  return m[1]!;
}

/** npm itself: the one running `npm test` when there is one. */
function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith('.js')
    ? run(process.execPath, [cli, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 })
    : run('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024 });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'floe-consumer-'));
  // prepack builds dist/src (incremental: nothing to do after `npm test`'s build).
  const { stdout } = await npm(['pack', '--json', '--pack-destination', dir], root);
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!;
  consumer = join(dir, 'consumer');
  const floeDir = join(consumer, 'node_modules', 'floe');
  await mkdir(floeDir, { recursive: true });
  await run('tar', ['-xzf', join(dir, packed.filename), '-C', floeDir, '--strip-components=1']);
  const floePkg = JSON.parse(await readFile(join(floeDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of [...Object.keys(floePkg.dependencies), '@types/node']) {
    const link = join(consumer, 'node_modules', dep);
    await mkdir(dirname(link), { recursive: true });
    await symlink(join(root, 'node_modules', dep), link, 'dir');
  }
  await writeFile(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { floe: `file:../${packed.filename}` } }),
  );
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the tarball holds the built library, the native sources and no tests', () => {
  const paths = packed.files.map((f) => f.path);
  for (const p of ['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'binding.gyp', 'native/record_scan.c']) {
    assert.ok(paths.includes(p), `${p} is missing from the tarball`);
  }
  const stray = paths.filter((p) => /^(test|bench|dist\/test|dist\/bench|src)\//.test(p) || p.endsWith('.map') || p.endsWith('.tsbuildinfo'));
  assert.deepEqual(stray, []);
});

test("README's library program type-checks against the packed types and prints what README says", { timeout: 120_000 }, async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const program = readmeBlock(readme, 'library-example');
  const expected = readmeBlock(readme, 'library-example-output');
  assert.match(program, /from 'floe';/);

  // Every value the package exports has a real type (an unresolved one would be `any`).
  const floe = (await import(join(consumer, 'node_modules', 'floe', 'dist', 'src', 'index.js'))) as Record<string, unknown>;
  const names = Object.keys(floe).sort();
  for (const n of ['openCatalog', 'Table', 'QueryEngine', 'Pipeline', 'KinesisSource', 'MemorySource', 'compactTable', 'expireSnapshots', 'FloeError', 'ValidationError', 'CommitConflictError']) {
    assert.ok(names.includes(n), `floe exports no ${n}`);
  }
  const typesCheck = [
    `import * as floe from 'floe';`,
    `type IsAny<T> = 0 extends 1 & T ? true : false;`,
    ...names.map((n) => `export const check_${n}: IsAny<typeof floe.${n}> = false;`),
    `export const code: string = new floe.ValidationError('x').code;`,
  ].join('\n');

  await writeFile(join(consumer, 'example.ts'), program);
  await writeFile(join(consumer, 'example.mjs'), program);
  await writeFile(join(consumer, 'types-check.ts'), typesCheck);
  await writeFile(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: ['example.ts', 'types-check.ts'],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', consumer], { cwd: consumer }).catch((e: { stdout?: string }) => {
    assert.fail(`the consumer does not type-check:\n${e.stdout ?? String(e)}`);
  });

  const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: consumer, timeout: 60_000 });
  assert.equal(stdout, expected);
});

test('a consumer cannot reach inside the package (exports map)', async () => {
  const deep = `import('floe/dist/src/table/rows.js').then(() => console.log('reached'), (e) => console.log(e.code))`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', deep], { cwd: consumer });
  assert.equal(stdout.trim(), 'ERR_PACKAGE_PATH_NOT_EXPORTED');
});
