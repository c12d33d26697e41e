/**
 * The Dockerfile, read as Docker reads it (no container engine runs on the test machines): two
 * stages, a slim runtime image, the native scanner compiled in the build stage and carried to the
 * path floe loads it from, a non-root user, `floe` as the entrypoint, a HEALTHCHECK on the
 * `/healthz` of the port the default command serves, and every file it copies from the context
 * present in the repository and not excluded by `.dockerignore`.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../helpers/shared.js';

const ROOT = repoRoot();

interface Instruction {
  op: string;
  args: string;
  line: number;
}

interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Instructions by stage: comments dropped, `\` continuations joined (Docker's default escape). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    const start = i + 1;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `Dockerfile line ${start}: not an instruction: ${line}`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?: AS (\S+))?$/i.exec(args);
      assert.ok(f, `FROM ${args}`);
      stages.push({ image: f[1]!, name: f[2], instructions: [] });
      continue;
    }
    assert.ok(stages.length > 0, `Dockerfile line ${start}: ${op} before FROM`);
    stages[stages.length - 1]!.instructions.push({ op, args, line: start });
  }
  return stages;
}

/** `.dockerignore` patterns (top-level names and simple globs are all it uses). */
function ignored(path: string, patterns: string[]): boolean {
  const first = path.split('/')[0]!;
  return patterns.some((p) => {
    const re = new RegExp('^' + p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*') + '$');
    return re.test(path) || re.test(first);
  });
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: { floe: string }; files: string[] };

const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);

test('Dockerfile: a build stage with the compilers, a slim runtime stage', () => {
  assert.equal(dockerfile.length, 2, 'two stages');
  const [build, runtime] = dockerfile as [Stage, Stage];
  assert.match(build.image, /^node:20-bookworm$/, 'the build stage has python3, make and g++ for node-gyp');
  assert.equal(build.name, 'build');
  assert.match(runtime.image, /^node:20-bookworm-slim$/, 'the runtime stage is the slim image');
  // The runtime takes only the assembled package from the build stage: no sources, no compilers.
  const copies = ops(runtime, 'COPY');
  assert.deepEqual(copies.map((c) => c.args), ['--from=build /pkg /app']);
  assert.equal(ops(runtime, 'RUN').some((r) => /npm (ci|install)|apt-get|node-gyp/.test(r.args)), false, 'nothing installed or compiled at runtime');
});

test('Dockerfile: the native scanner is compiled in the build stage and lands where floe loads it', () => {
  const build = dockerfile[0]!;
  const runs = ops(build, 'RUN').map((r) => r.args);
  const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r));
  assert.ok(ci >= 0, 'npm ci (runs the install script: node-gyp rebuild)');
  assert.ok(!/--ignore-scripts/.test(runs[ci]!), 'install scripts run (they build the scanner)');
  assert.match(runs[ci]!, /test -f build\/Release\/floe_native\.node/, 'the build fails when the scanner did not compile');
  // binding.gyp and native/ are in the context before npm ci.
  const copiesBeforeCi = build.instructions.filter((i) => i.op === 'COPY' && i.line < build.instructions.find((x) => x.op === 'RUN' && /npm ci/.test(x.args))!.line);
  const copied = copiesBeforeCi.flatMap((c) => c.args.split(' ').slice(0, -1));
  for (const f of ['package.json', 'package-lock.json', 'binding.gyp', 'native']) assert.ok(copied.includes(f), `${f} copied before npm ci`);
  assert.ok(runs.some((r) => /cp build\/Release\/floe_native\.node \/pkg\/build\/Release\//.test(r)), 'the compiled scanner is carried into the package');
  // record-scan-native.ts loads <package root>/build/Release/floe_native.node.
  const loader = readFileSync(join(ROOT, 'src', 'pipeline', 'record-scan-native.ts'), 'utf8');
  assert.match(loader, /build\/Release\/floe_native\.node/);
  assert.match(readFileSync(join(ROOT, 'binding.gyp'), 'utf8'), /"target_name": "floe_native"/);
  assert.ok(runs.some((r) => /npm prune --omit=dev/.test(r)), 'dev dependencies pruned before node_modules is copied');
});

test('Dockerfile: a non-root user runs `floe`; HEALTHCHECK hits /healthz on the port the command serves', () => {
  const runtime = dockerfile[1]!;
  const users = ops(runtime, 'USER');
  assert.equal(users.length, 1);
  assert.ok(!/^(root|0)(:|$)/.test(users[0]!.args), `USER ${users[0]!.args} is not root`);
  const entry = ops(runtime, 'ENTRYPOINT');
  assert.equal(entry.length, 1);
  assert.deepEqual(JSON.parse(entry[0]!.args), ['floe'], 'exec form: floe is PID 1 and gets SIGTERM');
  assert.ok(users[0]!.line < entry[0]!.line);
  // `floe` is the package's own bin entry.
  const link = ops(runtime, 'RUN').find((r) => /ln -s .*\/usr\/local\/bin\/floe/.test(r.args));
  assert.ok(link, 'floe linked onto the PATH');
  assert.match(link.args, /require\("\/app\/package\.json"\)\.bin\.floe/);
  assert.ok(existsSync(join(ROOT, pkg.bin.floe)) || pkg.bin.floe.startsWith('dist/'), `package.json bin ${pkg.bin.floe} exists`);

  const cmd = JSON.parse(ops(runtime, 'CMD')[0]!.args) as string[];
  assert.equal(cmd[0], 'run');
  const port = cmd[cmd.indexOf('--metrics-port') + 1];
  assert.equal(port, '9464');
  const hc = ops(runtime, 'HEALTHCHECK');
  assert.equal(hc.length, 1);
  assert.match(hc[0]!.args, /--interval=\d+s --timeout=\d+s --start-period=\d+s --retries=\d+ CMD /);
  const hcCmd = JSON.parse(hc[0]!.args.replace(/^.*?CMD /, '')) as string[];
  assert.equal(hcCmd[0], 'node', 'node is in the slim image (curl and wget are not)');
  assert.ok(hcCmd.join(' ').includes(`http://127.0.0.1:${port}/healthz`));
  assert.deepEqual(ops(runtime, 'EXPOSE').map((e) => e.args), [port]);
});

test('Dockerfile: every path copied from the context exists and is not excluded by .dockerignore', () => {
  for (const stage of dockerfile) {
    for (const c of ops(stage, 'COPY')) {
      if (c.args.startsWith('--from=')) continue;
      const parts = c.args.split(' ');
      for (const src of parts.slice(0, -1)) {
        if (src === '.') continue;
        assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: exists in the repository`);
        assert.ok(!ignored(src, ignore), `COPY ${src}: not excluded by .dockerignore`);
      }
    }
  }
  // What the context must hold for `npm pack`, and what it must not carry in.
  for (const p of ['src', 'package.json', 'binding.gyp', 'native', 'tsconfig.json', 'tsconfig.src.json', ...pkg.files.filter((f) => !f.startsWith('dist/') && !f.startsWith('!'))]) {
    assert.ok(!ignored(p, ignore), `${p} is in the build context`);
  }
  for (const p of ['node_modules', 'dist', 'build', '.git', 'test']) assert.ok(ignored(p, ignore), `${p} is kept out of the build context`);
});
