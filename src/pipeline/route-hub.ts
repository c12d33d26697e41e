/**
 * The hub of a routed run (`tables:`, issue #17 part 4): reads the one real source and hands each
 * table's pipeline, through its {@link RoutedSource}, the records routed to it.
 *
 * - Start: the real source starts, per partition, from the smallest position over the tables
 *   (and the table of records no entry takes), or from the initial position when some table has
 *   no position for it (it never committed one: it must see every record). Each table then skips
 *   what it already holds (`RoutedSource`).
 * - Routing, per record, in order: every entry whose `where` holds (unknown is no match) takes
 *   it; a template entry takes it into the table its fields name (`name_pattern` must match in
 *   full; a table made while running is created, stamped with the positions routed so far, and
 *   gets a pipeline of its own). A record no entry takes, with the reasons, goes to the unrouted
 *   table (`unrouted.ts`), or stops the run (`dead_letter.policy: fail`), or is skipped.
 * - Backpressure: the hub stops reading while any table has {@link MAX_QUEUED} records waiting.
 * - The real source is told a position is committed once every table committed it.
 */
import { FloeError, ValidationError } from '../errors.js';
import type { InitialPosition, Source, SourceRecord } from '../source/source.js';
import type { RouteConfig, TableTemplate } from './config-routing.js';
import { fieldValue, matchesRoute } from './route-condition.js';
import { RoutedSource, type RouteHubLink } from './route-source.js';

/** Records waiting for one table before the hub stops reading. */
export const MAX_QUEUED = 20_000;
/** Records per poll of the real source. */
const POLL_RECORDS = 5_000;
/** Bytes per poll of the real source. */
const POLL_BYTES = 16 * 1024 * 1024;

/** The end of a dead-letter table's name: a template never makes (or writes rows into) one. */
export const DEAD_LETTER_SUFFIX = '_dead_letters';

/** Where a record goes: the tables that take it, or why none does. */
export type RouteDecision = { tables: { name: string; route: RouteConfig }[] } | { reason: string };

/** A table's name from a template, or why the record makes none. */
export function templateName(t: TableTemplate, record: unknown): { name: string } | { reason: string } {
  let table = '';
  for (const part of t.parts) {
    if (typeof part === 'string') {
      table += part;
      continue;
    }
    const v = fieldValue(record, part);
    if (v === undefined || v === null) return { reason: `field '${part.join('.')}' of table template '${t.text}' is missing` };
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isSafeInteger(v))) {
      return { reason: `field '${part.join('.')}' of table template '${t.text}' is not a string or an integer` };
    }
    table += String(v);
  }
  const name = `${t.namespace.join('.')}.${table}`;
  if (table.endsWith(DEAD_LETTER_SUFFIX)) return { reason: `table name '${name.slice(0, 100)}' from template '${t.text}' ends in ${DEAD_LETTER_SUFFIX}, kept for dead-letter tables` };
  if (!t.pattern.test(name) || table.length === 0) {
    const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
    return { reason: `table name '${shown}' from template '${t.text}' does not match table.name_pattern` };
  }
  return { name };
}

/**
 * Routes one record (see the file comment): `json` is the parsed record when `isJson` (when it
 * is not JSON, no condition and no template holds).
 */
export function routeRecord(routes: readonly RouteConfig[], json: unknown, isJson: boolean): RouteDecision {
  const tables: { name: string; route: RouteConfig }[] = [];
  const reasons: string[] = [];
  // A record goes to a table once, whichever entries name it.
  const add = (name: string, route: RouteConfig) => {
    if (!tables.some((t) => t.name === name)) tables.push({ name, route });
  };
  for (const r of routes) {
    if (r.where && !(isJson && matchesRoute(r.where, json))) continue;
    if (r.template) {
      if (!isJson) {
        reasons.push(`table template '${r.template.text}' needs a JSON record`);
        continue;
      }
      const t = templateName(r.template, json);
      if ('reason' in t) reasons.push(t.reason);
      else add(t.name, r);
      continue;
    }
    add(r.config.table.name, r);
  }
  if (tables.length > 0) return { tables };
  if (!isJson && routes.some((r) => r.where)) reasons.unshift('the record is not JSON');
  return { reason: `routing: no table takes the record${reasons.length > 0 ? `: ${reasons.join('; ')}` : ' (no where condition holds)'}` };
}

/** What the hub asks of the run that owns it. */
export interface RouteHubOptions {
  source: Source;
  routes: RouteConfig[];
  initial: InitialPosition;
  /** Positions without records are handed to a table at most this often (see `RoutedSource`). */
  idleAdvanceMs: number;
  /**
   * A template names a table not yet open: create it if needed, stamp it with `positions` when
   * new, open its pipeline on the given source and run it. Returns the table's positions.
   */
  openTable(route: RouteConfig, name: string, positions: ReadonlyMap<string, string>): Promise<RoutedSource>;
  /** A record no entry takes (dead letter, skip or fail: the run decides). */
  unrouted(record: SourceRecord, reason: string): void;
}

/** The hub (see the file comment). */
export class RouteHub implements RouteHubLink {
  readonly source: Source;
  failure: unknown = undefined;
  /** Tables by name (templates' included, once open). */
  readonly tables = new Map<string, RoutedSource>();
  /** The unrouted table's source: takes part in start positions and commits like a table. */
  unroutedSource: RoutedSource | undefined;
  private readonly templateCounts = new Map<RouteConfig, number>();
  /** Sources that must call `start` before the real source starts. */
  private expected = new Set<RoutedSource>();
  private startedSources = new Set<RoutedSource>();
  private startGate: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void };
  private sourceStarted = false;
  /** Positions routed so far (the stamp of a table made while running). */
  private readonly reached = new Map<string, string>();
  private readonly stopController = new AbortController();
  private roomWaiter: (() => void) | undefined;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** The last positions passed to the real source's `markCommitted`. */
  private readonly forwarded = new Map<string, string>();

  constructor(private readonly options: RouteHubOptions) {
    this.source = options.source;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((ok, fail) => {
      resolve = ok;
      reject = fail;
    });
    promise.catch(() => undefined);
    this.startGate = { promise, resolve, reject };
  }

  /** A source for a table open before the run starts (its pipeline's `start` is awaited). */
  tableSource(name: string, positions: ReadonlyMap<string, string>): RoutedSource {
    const s = new RoutedSource(this, name, positions, this.options.idleAdvanceMs);
    this.tables.set(name, s);
    this.expected.add(s);
    return s;
  }

  /** The unrouted table's source (before the run starts). */
  unroutedTableSource(name: string, positions: ReadonlyMap<string, string>): RoutedSource {
    const s = new RoutedSource(this, name, positions, this.options.idleAdvanceMs);
    this.unroutedSource = s;
    this.expected.add(s);
    return s;
  }

  /** A source for a table made while running: starts at once. */
  lateTableSource(name: string, positions: ReadonlyMap<string, string>): RoutedSource {
    const s = new RoutedSource(this, name, positions, this.options.idleAdvanceMs);
    this.tables.set(name, s);
    return s;
  }

  /** The positions routed so far (a new table is stamped with them). */
  reachedPositions(): Map<string, string> {
    return new Map(this.reached);
  }

  async started(child: RoutedSource): Promise<void> {
    if (this.sourceStarted || !this.expected.has(child)) return;
    this.startedSources.add(child);
    if (this.startedSources.size === this.expected.size) {
      try {
        const start = this.startPositions();
        for (const [p, pos] of start) this.reached.set(p, pos);
        await this.source.start(start, this.options.initial);
        this.sourceStarted = true;
        this.startGate.resolve();
      } catch (e) {
        this.startGate.reject(e);
      }
    }
    return this.startGate.promise;
  }

  /**
   * Per partition, the smallest position over the tables; a partition some table has no position
   * for starts from the initial position (that table must see all of it).
   */
  startPositions(): Map<string, string> {
    const all = [...this.expected];
    const partitions = new Set(all.flatMap((s) => [...s.committedPositions.keys()]));
    const out = new Map<string, string>();
    for (const p of partitions) {
      let min: string | undefined;
      let everywhere = true;
      for (const s of all) {
        const pos = s.committedPositions.get(p);
        if (pos === undefined) {
          everywhere = false;
          break;
        }
        if (min === undefined || this.source.comparePositions(pos, min) < 0) min = pos;
      }
      if (everywhere && min !== undefined) out.set(p, min);
    }
    return out;
  }

  /** Tells the real source the positions every table has committed. */
  committed(_child: RoutedSource): void {
    const all = [...this.tables.values(), ...(this.unroutedSource ? [this.unroutedSource] : [])];
    const out = new Map<string, string>();
    const first = all[0];
    if (!first) return;
    for (const p of first.committedPositions.keys()) {
      let min: string | undefined;
      for (const s of all) {
        const pos = s.committedPositions.get(p);
        if (pos === undefined) {
          min = undefined;
          break;
        }
        if (min === undefined || this.source.comparePositions(pos, min) < 0) min = pos;
      }
      if (min !== undefined && this.forwarded.get(p) !== min) {
        this.forwarded.set(p, min);
        out.set(p, min);
      }
    }
    if (out.size > 0) this.source.markCommitted(out);
  }

  drained(): void {
    const w = this.roomWaiter;
    this.roomWaiter = undefined;
    w?.();
  }

  private mostQueued(): number {
    let n = this.unroutedSource?.queued ?? 0;
    for (const s of this.tables.values()) n = Math.max(n, s.queued);
    return n;
  }

  /** Waits until a table takes records (or 100 ms, or a stop). */
  private waitForRoom(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.stopController.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, 100);
      this.stopController.signal.addEventListener('abort', done, { once: true });
      this.roomWaiter = done;
    });
  }

  /**
   * Reads and routes until {@link stop}. A failure (the source's, a table that cannot be made) is
   * kept in {@link failure}, which every table's next poll throws, and rethrown.
   */
  async pump(): Promise<void> {
    const signal = this.stopController.signal;
    await this.startGate.promise;
    try {
      while (!signal.aborted) {
        if (this.mostQueued() >= MAX_QUEUED) {
          await this.waitForRoom();
          continue;
        }
        const batch = await this.source.poll({ maxRecords: POLL_RECORDS, maxBytes: POLL_BYTES, waitMs: 200, signal });
        if (batch.restarted !== undefined && batch.restarted.size > 0) {
          throw new FloeError('UNSUPPORTED', `routing: the source restarted partition(s) ${[...batch.restarted.keys()].join(', ')}, which a routed run does not support`);
        }
        await this.route(batch.records, batch.positions);
      }
    } catch (e) {
      this.failure ??= e;
      for (const s of this.tables.values()) await s.close();
      await this.unroutedSource?.close();
      throw e;
    }
  }

  /** Routes one batch and hands every table its part (see the file comment). */
  private async route(records: readonly SourceRecord[], positions: ReadonlyMap<string, string>): Promise<void> {
    const routes = this.options.routes;
    const needsJson = routes.some((r) => r.where !== undefined || r.template !== undefined);
    const perTable = new Map<string, SourceRecord[]>();
    const unrouted: SourceRecord[] = [];
    for (const record of records) {
      let json: unknown;
      let isJson = false;
      if (needsJson) {
        try {
          json = JSON.parse(this.decoder.decode(record.data));
          isJson = true;
        } catch {
          isJson = false;
        }
      }
      const decision = routeRecord(routes, json, isJson);
      if ('reason' in decision) {
        this.unroutedRecord(unrouted, record, decision.reason);
        continue;
      }
      let taken = 0;
      const refused: string[] = [];
      for (const { name, route } of decision.tables) {
        if (!this.tables.has(name)) {
          const why = await this.openLate(route, name);
          if (why !== undefined) {
            refused.push(why);
            continue;
          }
        }
        let list = perTable.get(name);
        if (!list) perTable.set(name, (list = []));
        list.push(record);
        taken++;
      }
      if (taken === 0) this.unroutedRecord(unrouted, record, `routing: no table takes the record: ${refused.join('; ')}`);
    }
    for (const [name, s] of this.tables) s.deliver(perTable.get(name) ?? [], positions);
    this.unroutedSource?.deliver(unrouted, positions);
    for (const [p, pos] of positions) this.reached.set(p, pos);
  }

  /** A record no table takes; one the unrouted table holds already (a restart) is not reported again. */
  private unroutedRecord(list: SourceRecord[], record: SourceRecord, reason: string): void {
    if (this.unroutedSource?.holds(record)) return;
    list.push(record);
    this.options.unrouted(record, reason);
  }

  /** Opens a table a template named; undefined, or why it cannot be. */
  private async openLate(route: RouteConfig, name: string): Promise<string | undefined> {
    if (!route.template) throw new ValidationError(`routing: ${name} is not open (a bug in floe; please report it)`);
    const count = this.templateCounts.get(route) ?? 0;
    if (count >= route.template.maxTables) return `table ${name}: template '${route.template.text}' has made max_tables (${route.template.maxTables}) tables already`;
    this.templateCounts.set(route, count + 1);
    await this.options.openTable(route, name, this.reachedPositions());
    return undefined;
  }

  /** Counts a table a template made before the run (toward its `max_tables`). */
  countTemplateTable(route: RouteConfig): void {
    this.templateCounts.set(route, (this.templateCounts.get(route) ?? 0) + 1);
  }

  /**
   * Stops reading (the tables' pipelines make their final commits on their own). Before the real
   * source started, the tables waiting for it go on at once (and find nothing to read).
   */
  stop(): void {
    this.stopController.abort();
    if (!this.sourceStarted) this.startGate.resolve();
    this.drained();
  }
}
