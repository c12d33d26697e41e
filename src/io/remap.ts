/**
 * A FileIO that rewrites location prefixes before delegating, for tables whose metadata names
 * places other than where the files are now: a table copied off S3 (`s3a://bucket/t` → `/data/t`),
 * fixtures written with relative paths, or the CLI's `--path-map FROM=TO`.
 *
 * Matching is on whole path segments (`s3://b/wh` matches `s3://b/wh/x`, not `s3://b/wh2/x`), and
 * the longest matching FROM wins, so a specific mapping can override a general one.
 */
import { AlreadyExistsError, NotFoundError, ValidationError } from '../errors.js';
import type { FileInfo, FileIO, WriteOptions } from './file-io.js';
import { fileIOFor } from './resolve.js';

/** One prefix rewrite: locations starting with `from` are read from `to` instead. */
export interface PathMapping {
  from: string;
  to: string;
}

/** Removes trailing `/` but keeps at least one character (a bare `/` stays `/`). */
function trimSlashes(s: string): string {
  const t = s.replace(/\/+$/, '');
  return t.length === 0 ? s.slice(0, 1) : t;
}

/**
 * Parses `FROM=TO` (the CLI's `--path-map`). Splits at the first `=`, so TO may contain `=`
 * (e.g. a Hive-style partition path); FROM may not.
 * @throws ValidationError when either side is empty or `=` is missing
 */
export function parsePathMapping(text: string): PathMapping {
  const i = text.indexOf('=');
  if (i <= 0 || i === text.length - 1) {
    throw new ValidationError(`io: invalid path mapping '${text}', expected FROM=TO`);
  }
  return { from: text.slice(0, i), to: text.slice(i + 1) };
}

interface Rule {
  from: string;
  to: string;
}

/**
 * Index of the first rule (rules are sorted longest FROM first) whose FROM is a segment-aligned
 * prefix of `location`, or -1.
 */
function matchRule(rules: readonly Rule[], location: string): number {
  for (let i = 0; i < rules.length; i++) {
    const p = rules[i]!.from;
    if (location === p) return i;
    if (location.startsWith(p) && (p.endsWith('/') || location[p.length] === '/')) return i;
  }
  return -1;
}

function replacePrefix(location: string, prefix: string, replacement: string): string {
  let rest = location.slice(prefix.length);
  if (replacement.endsWith('/') && rest.startsWith('/')) rest = rest.slice(1);
  else if (!replacement.endsWith('/') && prefix.endsWith('/') && rest.length > 0) rest = `/${rest}`;
  return replacement + rest;
}

/**
 * Rewrites `location` with the longest matching mapping; unchanged when none matches.
 * Mappings are matched on whole path segments.
 */
export function remapLocation(location: string, mappings: readonly PathMapping[]): string {
  return applyRules(sortRules(mappings), location);
}

function applyRules(rules: readonly Rule[], location: string): string {
  const i = matchRule(rules, location);
  if (i < 0) return location;
  const r = rules[i]!;
  return replacePrefix(location, r.from, r.to);
}

function sortRules(mappings: readonly PathMapping[]): Rule[] {
  const rules = mappings.map((m) => {
    if (m.from.length === 0 || m.to.length === 0) {
      throw new ValidationError(`io: invalid path mapping '${m.from}=${m.to}': both sides must be non-empty`);
    }
    return { from: trimSlashes(m.from), to: trimSlashes(m.to) };
  });
  // Longest FROM first, so the first segment-aligned match is the most specific one.
  return rules.sort((a, b) => b.from.length - a.from.length);
}

/** FileIO wrapper applying path mappings to every location (see the file comment). */
export class RemapFileIO implements FileIO {
  private readonly rules: Rule[];
  private readonly resolve: (location: string) => FileIO;

  /**
   * @param mappings prefix rewrites; the longest matching FROM wins
   * @param inner the FileIO for rewritten locations, or a resolver picking one per rewritten
   *   location (default {@link fileIOFor}, so `s3a://…` → `/local/…` is served by LocalFileIO)
   */
  constructor(mappings: readonly PathMapping[], inner: FileIO | ((location: string) => FileIO) = fileIOFor) {
    this.rules = sortRules(mappings);
    this.resolve = typeof inner === 'function' ? inner : () => inner;
  }

  /** The location the file is actually read from / written to. */
  map(location: string): string {
    return applyRules(this.rules, location);
  }

  private io(mapped: string): FileIO {
    return this.resolve(mapped);
  }

  /**
   * Runs `op` on the rewritten location. Errors that name the rewritten location are re-raised
   * (same class) naming the caller's location first, so messages match what the caller asked for.
   */
  private async on<T>(location: string, op: (io: FileIO, mapped: string) => Promise<T>): Promise<T> {
    const mapped = this.map(location);
    try {
      return await op(this.io(mapped), mapped);
    } catch (e) {
      throw mapped === location ? e : renameInError(e, mapped, location);
    }
  }

  async read(location: string): Promise<Uint8Array> {
    return this.on(location, (io, m) => io.read(m));
  }

  async readRange(location: string, offset: number, length: number): Promise<Uint8Array> {
    return this.on(location, (io, m) => io.readRange(m, offset, length));
  }

  async stat(location: string): Promise<FileInfo> {
    const info = await this.on(location, (io, m) => io.stat(m));
    return { ...info, location };
  }

  async exists(location: string): Promise<boolean> {
    return this.on(location, (io, m) => io.exists(m));
  }

  async write(location: string, data: Uint8Array, options?: WriteOptions): Promise<void> {
    return this.on(location, (io, m) => io.write(m, data, options));
  }

  async delete(location: string): Promise<void> {
    return this.on(location, (io, m) => io.delete(m));
  }

  /**
   * Lists under the rewritten prefix and reports locations in the caller's (unmapped) form, so
   * they compare equal to paths recorded in metadata.
   */
  async *list(prefix: string): AsyncIterable<FileInfo> {
    const i = matchRule(this.rules, prefix);
    const mappedPrefix = this.map(prefix);
    for await (const info of this.io(mappedPrefix).list(mappedPrefix)) {
      if (i < 0) {
        yield info;
        continue;
      }
      const r = this.rules[i]!;
      const back = info.location.startsWith(r.to) ? replacePrefix(info.location, r.to, r.from) : info.location;
      yield { ...info, location: back };
    }
  }

  async localPath(location: string): Promise<string> {
    return this.on(location, (io, m) => io.localPath(m));
  }
}

/** Rewrites `io: <mapped>: …` as `io: <original> (mapped to <mapped>): …`, keeping the class. */
function renameInError(e: unknown, mapped: string, original: string): unknown {
  if (!(e instanceof Error) || !e.message.includes(mapped)) return e;
  const message = e.message.replace(mapped, `${original} (mapped to ${mapped})`);
  if (e instanceof NotFoundError) return new NotFoundError(message, { cause: e });
  if (e instanceof AlreadyExistsError) return new AlreadyExistsError(message, { cause: e });
  if (e instanceof ValidationError) return new ValidationError(message, { cause: e });
  return e;
}
