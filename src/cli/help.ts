/**
 * Command specs: what each command and subcommand parses and what its `--help` says, in one
 * definition. The parser (`args.ts` `parse`) takes its options from the spec and the usage text is
 * rendered from the same spec, so a flag cannot be parsed without being explained (every flag
 * needs its `help` text to type-check, and `test/cli/help.flags.test.ts` checks every rendered
 * usage names every flag).
 */
import type { OptionSpec } from './args.js';

/** One flag: its parseArgs definition plus what the help says about it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  /** Repeatable (`--property K=V`...). */
  multiple?: boolean;
  /** One-letter alias (`-c`). */
  short?: string;
  /** The value's placeholder in the usage (`DIR`, `N`); string flags only. */
  value?: string;
  /** What the flag does (wrapped on output). */
  help: string;
}

/** Flags by long name (without `--`). */
export type FlagSpecs = Record<string, FlagSpec>;

/** A command (`run`) or subcommand (`table create`). */
export interface CommandSpec {
  /** The words after `floe`: `run`, `table create`. */
  name: string;
  /** Positional arguments as the usage shows them: `NAMESPACE.TABLE`, `"SQL"`. */
  args?: string;
  /** One line: what it does. */
  summary: string;
  /** Every flag the command parses. */
  flags: FlagSpecs;
  /** Text printed after the flags as written (rules, examples, where to read more). */
  notes?: string;
}

/** A command made of subcommands (`floe table …`). */
export interface CommandGroup {
  name: string;
  summary: string;
  subcommands: CommandSpec[];
}

/** parseArgs options of a spec's flags (the help text dropped). */
export function optionsOf(flags: FlagSpecs): OptionSpec {
  const out: OptionSpec = {};
  for (const [name, f] of Object.entries(flags)) {
    out[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(f.short ? { short: f.short } : {}) };
  }
  return out;
}

const WIDTH = 100;

/** Wraps `text` to `width` columns, every line after the first indented by `indent` spaces. */
function wrap(text: string, width: number, indent: number): string {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/)) {
      if (line && line.length + 1 + word.length > width - indent) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  return lines.join('\n' + ' '.repeat(indent));
}

function flagLabel(name: string, f: FlagSpec): string {
  const long = `--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}${f.multiple ? '...' : ''}`;
  return f.short ? `-${f.short}, ${long}` : long;
}

/** The usage line: `floe table create NAMESPACE.TABLE [options]`. */
export function synopsis(spec: CommandSpec): string {
  const parts = [`floe ${spec.name}`];
  if (spec.args) parts.push(spec.args);
  if (Object.keys(spec.flags).length > 0) parts.push('[options]');
  return parts.join(' ');
}

/** The full `--help` text of a command or subcommand. */
export function renderUsage(spec: CommandSpec): string {
  const out = [`usage: ${synopsis(spec)}`, '', wrap(spec.summary, WIDTH, 0)];
  const entries = Object.entries(spec.flags);
  if (entries.length > 0) {
    const labels = entries.map(([name, f]) => flagLabel(name, f));
    const col = Math.min(32, Math.max(...labels.map((l) => l.length)) + 2);
    out.push('', 'options:');
    entries.forEach(([, f], i) => {
      const label = labels[i]!;
      const text = wrap(f.help, WIDTH, col + 2);
      out.push(label.length + 2 <= col ? `  ${label.padEnd(col)}${text}` : `  ${label}\n${' '.repeat(col + 2)}${text}`);
    });
    out.push(`  ${'-h, --help'.padEnd(col)}this help`);
  }
  // Notes are laid out by their authors (indented lists, examples): printed as written.
  if (spec.notes) out.push('', spec.notes);
  return out.join('\n');
}

/** The `--help` text of a group: each subcommand's synopsis and summary. */
export function renderGroup(group: CommandGroup): string {
  const out = [`usage: floe ${group.name} <subcommand> ...`, '', wrap(group.summary, WIDTH, 0), '', 'subcommands:'];
  for (const s of group.subcommands) {
    out.push(`  ${synopsis(s)}`, `      ${wrap(s.summary, WIDTH, 6)}`);
  }
  out.push('', `Run 'floe ${group.name} <subcommand> --help' for a subcommand's options.`);
  return out.join('\n');
}
