/**
 * Runs the floe CLI in-process (`main(argv, io)`) with a CommandIO that captures stdout and
 * stderr, so CLI tests check exactly what a user would see without spawning node.
 */
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.js';
import type { CommandIO } from '../../src/cli/io.js';

/** What one CLI invocation produced. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `floe <argv…>` in-process. The environment is empty except for `env`, so a developer's
 * FLOE_CATALOG / FLOE_WAREHOUSE never leak into a test.
 */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CommandIO = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env,
    isTTY: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

/** A JSON row as printed by `--format json`. */
export type JsonRow = Record<string, unknown>;

/**
 * Runs a command with `--format json` appended, asserts exit code 0 and empty stderr, and parses
 * stdout as exactly one JSON array (the `--format json` contract: nothing else on stdout).
 */
export async function cliJson(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<JsonRow[]> {
  const r = await runCli([...argv, '--format', 'json'], env);
  assert.equal(r.code, 0, `floe ${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  assert.equal(r.stderr, '', `floe ${argv.join(' ')} wrote to stderr`);
  assert.ok(r.stdout.endsWith('\n'), 'json output ends with a newline');
  const parsed: unknown = JSON.parse(r.stdout);
  assert.ok(Array.isArray(parsed), 'json output is one array');
  return parsed as JsonRow[];
}

/** Asserts a failed run: the exit code, no stack trace, and stderr matching every pattern. */
export function assertFails(r: CliResult, code: number, ...patterns: RegExp[]): void {
  assert.equal(r.code, code, `expected exit code ${code}, got ${r.code}; stderr: ${r.stderr}; stdout: ${r.stdout}`);
  assert.ok(!/\n\s+at .+:\d+:\d+\)?/.test(r.stderr), `stderr has a stack trace: ${r.stderr}`);
  assert.ok(!/unexpected error/.test(r.stderr), `stderr reports an unexpected error: ${r.stderr}`);
  for (const p of patterns) assert.match(r.stderr, p);
}
