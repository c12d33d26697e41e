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
import { renderGroup, renderUsage, type CommandGroup, type CommandSpec } from './help.js';
import type { CommandIO } from './io.js';
import { fatalErrorLine, forcedLogFormat, formatFor } from './log.js';
type Command = (argv: string[], io: CommandIO) => Promise<number>;

/**
 * A command: its one-line summary and a loader. Command modules are imported only when their
 * command runs (or its --help is asked for), so `floe run` never pays for DuckDB's SQL engine
 * start-up code paths it does not use, and `floe --help` loads nothing.
 */
interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command; help: CommandSpec | CommandGroup }>;
  /**
   * A long-running command with a log (`--log-level`): its fatal error is a log line (JSON off a
   * terminal), written once, here.
   */
  logs?: true;
}

const COMMANDS: Record<string, CommandEntry> = {
  quickstart: {
    summary: 'the reference pipeline end to end on this machine (what npm start runs)',
    load: async () => {
      const m = await import('./commands/quickstart.js');
      return { command: m.quickstartCommand, help: m.QUICKSTART_SPEC };
    },
  },
  run: {
    summary: 'stream Kinesis into an Iceberg table (long-running)',
    logs: true,
    load: async () => {
      const m = await import('./commands/run.js');
      return { command: m.runCommand, help: m.RUN_SPEC };
    },
  },
  produce: {
    summary: 'send reference events (or stdin lines) to a Kinesis stream',
    load: async () => {
      const m = await import('./commands/produce.js');
      return { command: m.produceCommand, help: m.PRODUCE_SPEC };
    },
  },
  local: {
    summary: 'an embedded Kinesis-compatible endpoint on 127.0.0.1',
    load: async () => {
      const m = await import('./commands/local.js');
      return { command: m.localCommand, help: m.LOCAL_SPEC };
    },
  },
  query: {
    summary: 'SQL over Iceberg tables (DuckDB, or Athena with --engine athena)',
    load: async () => {
      const m = await import('./commands/query.js');
      return { command: m.queryCommand, help: m.QUERY_SPEC };
    },
  },
  table: {
    summary: 'create, describe, list, snapshots, files, drop tables',
    load: async () => {
      const m = await import('./commands/table.js');
      return { command: m.tableCommand, help: m.TABLE_GROUP };
    },
  },
  catalog: {
    summary: 'serve the catalog as an Iceberg REST catalog (catalog serve)',
    logs: true,
    load: async () => {
      const m = await import('./commands/catalog.js');
      return { command: m.catalogCommand, help: m.CATALOG_GROUP };
    },
  },
  maintain: {
    summary: 'table maintenance: compact, expire-snapshots, remove-orphans, rewrite-manifests',
    load: async () => {
      const m = await import('./commands/maintain.js');
      return { command: m.maintainCommand, help: m.MAINTAIN_GROUP };
    },
  },
  deploy: {
    summary: 'run a config on AWS: one CloudFormation stack (ECS Fargate, stream, bucket, Glue, Athena)',
    load: async () => {
      const m = await import('./commands/deploy.js');
      return { command: m.deployCommand, help: m.DEPLOY_SPEC };
    },
  },
  destroy: {
    summary: 'delete the stack of floe deploy (table data kept unless --purge)',
    load: async () => {
      const m = await import('./commands/deploy.js');
      return { command: m.destroyCommand, help: m.DESTROY_SPEC };
    },
  },
};

/** The names of the commands, in the order `floe --help` lists them. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

/** A command's help: its spec, or its group of subcommand specs. */
export async function commandHelp(name: string): Promise<CommandSpec | CommandGroup> {
  const entry = COMMANDS[name];
  if (!entry) throw new UsageError(`cli: unknown command '${name}'`);
  return (await entry.load()).help;
}

/** True when `help` is a group of subcommands. */
export function isGroup(help: CommandSpec | CommandGroup): help is CommandGroup {
  return 'subcommands' in help;
}

/**
 * The help text for `floe <name> <rest…> --help`: a subcommand's own usage when `rest` starts with
 * one, else the command's (a group's lists its subcommands).
 */
function helpText(help: CommandSpec | CommandGroup, rest: string[]): string {
  if (!isGroup(help)) return renderUsage(help);
  const sub = help.subcommands.find((s) => s.name === `${help.name} ${rest[0] ?? ''}`);
  return sub ? renderUsage(sub) : renderGroup(help);
}

/** True when the arguments ask for help (`--help` or `-h` before any `--`). */
function wantsHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  const flags = end < 0 ? args : args.slice(0, end);
  return flags.includes('--help') || flags.includes('-h');
}

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
    "Run 'floe <command> --help' (or 'floe <command> <subcommand> --help') for its options.",
  ].join('\n');
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest.length > 0) return main([...rest, '--help'], io); // floe help table create
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
    const { command, help: spec } = await entry.load();
    if (wantsHelp(rest)) {
      io.stdout(helpText(spec, rest) + '\n');
      return 0;
    }
    return await command(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`floe: ${e.message}\n`);
      return 2;
    }
    const code = e instanceof ValidationError && /^(cli|config):/.test(e.message) ? 2 : 1;
    // Bad usage or configuration (exit 2, before any work) is a text line for the person who typed
    // the command; the failure of a long-running command once running is its log's last line.
    const format = code === 1 && entry.logs ? formatFor(forcedLogFormat(io.env), io.stderrIsTTY ?? io.isTTY) : 'text';
    io.stderr(
      fatalErrorLine(format, e, {
        expected: e instanceof FloeError,
        ...(e instanceof FloeError ? { code: e.code } : {}),
        debug: Boolean(io.env.FLOE_DEBUG),
      }),
    );
    return code;
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
    stderrIsTTY: process.stderr.isTTY === true,
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
