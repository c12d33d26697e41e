#!/usr/bin/env node
/**
 * The floe command line: the only place that reads argv and the environment and sets exit codes.
 * Everything it does is a call into the library.
 *
 * Exit codes: 0 success, 1 failure, 2 bad usage or configuration.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FloeError, ValidationError } from '../errors.js';
import { UsageError } from './args.js';
import type { CommandIO } from './io.js';
type Command = (argv: string[], io: CommandIO) => Promise<number>;

/**
 * A command: its one-line summary and a loader. Command modules are imported only when their
 * command runs (or its --help is asked for), so `floe run` never pays for DuckDB's SQL engine
 * start-up code paths it does not use, and `floe --help` loads nothing.
 */
interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command; usage: string }>;
}

const COMMANDS: Record<string, CommandEntry> = {
  quickstart: {
    summary: 'the reference pipeline end to end on this machine (what npm start runs)',
    load: async () => {
      const m = await import('./commands/quickstart.js');
      return { command: m.quickstartCommand, usage: m.QUICKSTART_USAGE };
    },
  },
  run: {
    summary: 'stream Kinesis into an Iceberg table (long-running)',
    load: async () => {
      const m = await import('./commands/run.js');
      return { command: m.runCommand, usage: m.RUN_USAGE };
    },
  },
  produce: {
    summary: 'send reference events (or stdin lines) to a Kinesis stream',
    load: async () => {
      const m = await import('./commands/produce.js');
      return { command: m.produceCommand, usage: m.PRODUCE_USAGE };
    },
  },
  local: {
    summary: 'an embedded Kinesis-compatible endpoint on 127.0.0.1',
    load: async () => {
      const m = await import('./commands/local.js');
      return { command: m.localCommand, usage: m.LOCAL_USAGE };
    },
  },
  query: {
    summary: 'SQL over Iceberg tables (DuckDB, or Athena with --engine athena)',
    load: async () => {
      const m = await import('./commands/query.js');
      return { command: m.queryCommand, usage: m.QUERY_USAGE };
    },
  },
  table: {
    summary: 'create, describe, list, snapshots, files, drop tables',
    load: async () => {
      const m = await import('./commands/table.js');
      return { command: m.tableCommand, usage: m.TABLE_USAGE };
    },
  },
  catalog: {
    summary: 'serve the catalog as an Iceberg REST catalog (catalog serve)',
    load: async () => {
      const m = await import('./commands/catalog.js');
      return { command: m.catalogCommand, usage: m.CATALOG_USAGE };
    },
  },
  maintain: {
    summary: 'table maintenance: compact, expire-snapshots, remove-orphans, rewrite-manifests',
    load: async () => {
      const m = await import('./commands/maintain.js');
      return { command: m.maintainCommand, usage: m.MAINTAIN_USAGE };
    },
  },
};

/** Registers a command (used by modules that add commands, keeping main small). */
export function registerCommand(name: string, entry: CommandEntry): void {
  COMMANDS[name] = entry;
}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return [
    'floe: stream Kinesis into Apache Iceberg tables',
    '',
    'usage: floe <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'floe <command> --help' for a command's options.",
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help() + '\n');
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout('floe 0.1.0\n');
    return 0;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr(`floe: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  try {
    const { command, usage } = await entry.load();
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(usage + '\n');
      return 0;
    }
    return await command(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`floe: ${e.message}\n`);
      return 2;
    }
    if (e instanceof FloeError) {
      io.stderr(`floe: ${e.message}\n`);
      if (io.env.FLOE_DEBUG && e.cause) io.stderr(`cause: ${String((e.cause as Error).stack ?? e.cause)}\n`);
      return e instanceof ValidationError && /^(cli|config):/.test(e.message) ? 2 : 1;
    }
    io.stderr(`floe: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}

/** True when this module is the process's entry point (directly, or through a bin symlink). */
function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return realpathSync(arg) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // floe pins its AWS SDK version on purpose (Node 20 support); the SDK's notice about future
  // releases is noise on every command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const io: CommandIO = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`floe: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
