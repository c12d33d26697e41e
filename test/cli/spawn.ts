/**
 * Runs the floe CLI as a real child process, for what only a process shows: exit codes set by
 * main, signals (SIGINT/SIGTERM), stdin, and stdout not being a TTY.
 *
 * Which CLI: the one built alongside the running test. Compiled tests (`dist/test`, what
 * `npm test` runs) spawn `dist/src/cli/main.js`; tests run from source with tsx spawn
 * `src/cli/main.ts` through tsx, so a stale `dist/` never stands in for the code under test.
 *
 * The child's environment has no AWS_* or FLOE_* variable from the developer's shell: dummy
 * credentials, a fixed region, and only the loopback endpoints the test passes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, relative, sep } from 'node:path';
import { repoRoot } from '../helpers/shared.js';

/** The command that starts the CLI (see the module comment). */
export function cliCommand(): { cmd: string; args: string[] } {
  const compiled = relative(repoRoot(), fileURLToPath(import.meta.url)).split(sep)[0] === 'dist';
  if (compiled) return { cmd: process.execPath, args: [join(repoRoot(), 'dist', 'src', 'cli', 'main.js')] };
  // tsx resolved here, not from the child's working directory (tests run it elsewhere).
  return { cmd: process.execPath, args: ['--import', import.meta.resolve('tsx'), join(repoRoot(), 'src', 'cli', 'main.ts')] };
}

/** A clean environment for the child (see the module comment), plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('FLOE_')) env[k] = v;
  }
  return {
    ...env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    NO_PROXY: '127.0.0.1,localhost',
    ...extra,
  };
}

/** A running CLI process with its output collected. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Waits until `cond(stdout)` holds; rejects (with the output) on timeout or early exit. */
  waitForStdout(cond: (stdout: string) => boolean, timeoutMs?: number, what?: string): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Starts `floe <argv…>`; `stdin` text is written and closed (default: no stdin). */
export function spawnCli(argv: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string } = {}): CliProcess {
  const { cmd, args } = cliCommand();
  const child = spawn(cmd, [...args, ...argv], {
    env: options.env ?? childEnv(),
    cwd: options.cwd ?? repoRoot(),
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForStdout(cond, timeoutMs = 30_000, what = 'output') {
      const deadline = Date.now() + timeoutMs;
      while (!cond(out)) {
        if (done) throw new Error(`test: floe ${argv[0]} exited before ${what}\nstdout: ${out}\nstderr: ${err}`);
        if (Date.now() > deadline) throw new Error(`test: no ${what} from floe ${argv[0]} after ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Runs `floe <argv…>` to completion. */
export async function runCliProcess(
  argv: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const p = spawnCli(argv, options);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  try {
    const r = await p.exited;
    return { ...r, stdout: p.stdout(), stderr: p.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** Kills (SIGKILL) every CLI process this module started that is still running; for `after` hooks. */
export function killStrayCliProcesses(): void {
  for (const child of running) child.kill('SIGKILL');
}
