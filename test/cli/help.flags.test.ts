/**
 * Every command and subcommand explains its own flags: `floe <cmd> [<sub>] --help` and `-h` print
 * a usage naming each flag the command's parser accepts, with its explanation, to stdout and exit
 * 0; an unknown flag names itself and points to that help (exit 2).
 *
 * The flags come from the specs the parser itself uses (`parse(SPEC, argv)` in `args.ts` builds
 * its options from `SPEC.flags`), and a source check below makes sure every command parses
 * through a spec, so a flag added without help fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONFIG_REFERENCE } from '../../src/cli/commands/run.js';
import type { CommandSpec } from '../../src/cli/help.js';
import { commandHelp, commandNames, isGroup } from '../../src/cli/main.js';
import { repoRoot } from '../helpers/shared.js';
import { runCli } from './helpers.js';

const root = repoRoot();

/** Every command and subcommand spec, walked from the CLI's own command table. */
async function allSpecs(): Promise<CommandSpec[]> {
  const out: CommandSpec[] = [];
  for (const name of commandNames()) {
    const help = await commandHelp(name);
    if (isGroup(help)) out.push(...help.subcommands);
    else out.push(help);
  }
  return out;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

test('the walk covers every command and subcommand the CLI has', async () => {
  const names = (await allSpecs()).map((s) => s.name);
  for (const expected of [
    'quickstart',
    'run',
    'produce',
    'local',
    'query',
    'table create',
    'table describe',
    'table list',
    'table snapshots',
    'table files',
    'table drop',
    'catalog serve',
    'maintain compact',
    'maintain expire-snapshots',
    'maintain remove-orphans',
    'maintain rewrite-manifests',
  ]) {
    assert.ok(names.includes(expected), `${expected} is walked (walked: ${names.join(', ')})`);
  }
});

test('--help and -h of every command and subcommand print a usage naming and explaining each flag it parses', async () => {
  for (const spec of await allSpecs()) {
    const words = spec.name.split(' ');
    assert.ok(Object.keys(spec.flags).length > 0, `${spec.name} has flags`);
    for (const flag of ['--help', '-h']) {
      const r = await runCli([...words, flag]);
      const what = `floe ${spec.name} ${flag}`;
      assert.equal(r.code, 0, `${what} exits 0 (stderr: ${r.stderr})`);
      assert.equal(r.stderr, '', `${what} writes nothing to stderr`);
      assert.ok(r.stdout.startsWith(`usage: floe ${spec.name}`), `${what} starts with its own usage:\n${r.stdout}`);
      const text = squash(r.stdout);
      for (const [name, f] of Object.entries(spec.flags)) {
        assert.match(r.stdout, new RegExp(`(^|[\\s,])--${name}(?=[\\s.]|$)`, 'm'), `${what} names --${name}`);
        assert.ok(f.help.trim().length >= 10, `--${name} of ${spec.name} has an explanation`);
        // The flag is printed with its explanation (wrapped lines squashed back together).
        const label = `--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}${f.multiple ? '...' : ''}`;
        assert.ok(text.includes(squash(`${label} ${f.help}`)), `${what} explains --${name}:\n${r.stdout}`);
        if (f.short) assert.match(r.stdout, new RegExp(`-${f.short}, --${name}`), `${what} names -${f.short}`);
      }
    }
  }
});

test('a subcommand help is its own: it lists no flag of a sibling that it does not parse', async () => {
  const r = await runCli(['table', 'describe', '--help']);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.stdout, /--schema|--purge|--partition-by/);
  const c = await runCli(['maintain', 'compact', '--help']);
  assert.doesNotMatch(c.stdout, /--dry-run|--keep-files|--older-than/);
});

test('a group --help lists each of its subcommands; floe --help lists every command', async () => {
  for (const name of commandNames()) {
    const help = await commandHelp(name);
    if (!isGroup(help)) continue;
    const r = await runCli([name, '--help']);
    assert.equal(r.code, 0);
    for (const s of help.subcommands) assert.ok(r.stdout.includes(`floe ${s.name}`), `floe ${name} --help lists ${s.name}`);
    assert.match(r.stdout, new RegExp(`floe ${name} <subcommand> --help`));
  }
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  for (const name of commandNames()) assert.match(top.stdout, new RegExp(`^  ${name} `, 'm'));
  const viaHelp = await runCli(['help', 'table', 'create']);
  assert.equal(viaHelp.code, 0);
  assert.ok(viaHelp.stdout.startsWith('usage: floe table create'));
});

test('an unknown flag names itself and points to the command help (exit 2, nothing on stdout)', async () => {
  for (const spec of await allSpecs()) {
    const r = await runCli([...spec.name.split(' '), '--no-such-flag']);
    assert.equal(r.code, 2, `floe ${spec.name} --no-such-flag: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /Unknown option '--no-such-flag'/);
    assert.ok(r.stderr.includes(`'floe ${spec.name} --help'`), `points to floe ${spec.name} --help: ${r.stderr}`);
  }
  const sibling = await runCli(['table', 'describe', 'db.t', '--purge']);
  assert.equal(sibling.code, 2);
  assert.match(sibling.stderr, /--purge does not apply to describe .*'floe table describe --help'/);
});

test('every command parses through a spec (no flag can bypass the help)', () => {
  const dir = join(root, 'src', 'cli', 'commands');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    const src = readFileSync(join(dir, file), 'utf8');
    assert.doesNotMatch(src, /parseArgs/, `${file} calls parseArgs directly`);
    for (const m of src.matchAll(/(?<![.\w])parse\(([^,)]*)/g)) {
      assert.match(m[1]!.trim(), /^[A-Z_]+_SPECS?(\[[\w]+\])?$/, `${file}: parse(${m[1]}…) must take a command spec`);
    }
  }
  const args = readFileSync(join(root, 'src', 'cli', 'args.ts'), 'utf8');
  assert.match(args, /options: optionsOf\(accepted\)/, 'the parser takes its options from the spec flags');
});

test('floe run --help points to the config reference, and that README section exists', async () => {
  const r = await runCli(['run', '--help']);
  assert.equal(r.code, 0);
  assert.ok(r.stdout.includes(CONFIG_REFERENCE), r.stdout);
  const [file, anchor] = CONFIG_REFERENCE.split('#') as [string, string];
  const readme = readFileSync(join(root, file), 'utf8');
  // GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.
  const anchors = [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((h) =>
    h[1]!
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-'),
  );
  assert.ok(anchors.includes(anchor), `README has a heading with anchor #${anchor}`);
});

test('the README documents floe catalog serve, --catalog-name and --path-map over catalogs', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.match(readme, /^### `floe catalog serve`$/m);
  assert.match(readme, /--catalog-name/);
  assert.match(readme, /--path-map[^\n]*catalog|catalog[^\n]*--path-map/);
});
