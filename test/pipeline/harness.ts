/**
 * The harness of the pipeline tests that feed records to a real Pipeline and read back what it
 * stored (`pipeline.hostile`, `pipeline.row-refused`, `pipeline.stage-refused`): a fresh SQL catalog
 * in a temporary folder, a memory source that stops the pipeline once drained, one run on a chosen
 * read path and dead-letter policy, then the table and its dead-letter table read by a query.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { Pipeline, type PipelineEvent, type PipelineStats } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { MemorySource, type MemoryPartition } from '../../src/source/memory.js';
import type { PollOptions, SourceBatch } from '../../src/source/source.js';

/** A memory source (stream `events`) that calls `onDrained` on every poll once all is read. */
export class DrainingSource extends MemorySource {
  onDrained: (() => void) | undefined;
  constructor(partitions: MemoryPartition[], blocks = false) {
    super({ id: 'events', partitions, blocks });
  }
  override async poll(options: PollOptions): Promise<SourceBatch> {
    const batch = await super.poll(options);
    if (this.drained) this.onDrained?.();
    return batch;
  }
}

/** A pipeline config for stream `events` into `db.events` with these columns (no catalog, no dead_letter). */
export function eventsConfig(columns: Record<string, unknown>[]) {
  return {
    source: { stream: 'events' },
    table: { name: 'db.events' },
    transform: { columns },
    commit: { interval: '1h' },
    maintenance: false,
  };
}

/** The read path: general (`off`), the JavaScript scanner, or the native scanner (the default). */
export type ReadPath = 'off' | 'js' | 'native';

/** The dead letters, in order, as `[shard, position, error, text]`. */
export const DEAD_LETTERS_SQL = 'SELECT shard, sequence_number, error, text FROM db.events_dead_letters ORDER BY sequence_number';

/** Every value as a string, null kept. */
export const stringRows = (rows: unknown[][]): (string | null)[][] => rows.map((r) => r.map((v) => (v === null ? null : String(v))));

export interface RunOptions<T> {
  /** Prefix of the temporary folder's name. */
  tmpPrefix: string;
  /** What `eventsConfig` gives. */
  config: ReturnType<typeof eventsConfig>;
  policy: 'dlq' | 'fail';
  partitions: MemoryPartition[];
  readPath: ReadPath;
  /** Records handed out as runs of blocks (the Kinesis source's way), not objects. Default false. */
  blocks?: boolean;
  /** Called as soon as the run ends, whether it stopped or failed (before anything is read). */
  afterRun?: () => void;
  /** Reads what the run stored, while the catalog is open. */
  read: (engine: QueryEngine) => Promise<T>;
}

/**
 * One run to the end of the source. Returns the run's error if it failed, else its stats and what
 * `read` gave. On the native read path, asserts that the scanner staged rows.
 */
export async function runPipeline<T>(o: RunOptions<T>): Promise<{ error: Error } | { stats: PipelineStats; read: T }> {
  const dir = await mkdtemp(join(tmpdir(), o.tmpPrefix));
  const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
  try {
    const source = new DrainingSource(o.partitions, o.blocks);
    const events: PipelineEvent[] = [];
    const pipeline = await Pipeline.open({
      config: validateConfig({ ...o.config, catalog: { warehouse: dir }, dead_letter: { policy: o.policy } }),
      catalog,
      source,
      ...(o.readPath === 'off' ? { jsonFastPath: false } : o.readPath === 'js' ? { nativeScanner: false } : {}),
      onEvent: (e) => events.push(e),
    });
    source.onDrained = () => pipeline.stop();
    let stats: PipelineStats;
    try {
      stats = await pipeline.run();
    } catch (e) {
      return { error: e as Error };
    } finally {
      o.afterRun?.();
    }
    if (o.readPath === 'native') {
      const started = events.find((e) => e.type === 'started');
      assert.equal(started?.type === 'started' && started.jsonFastPath, 'native, staged', 'the native scanner stages rows');
    }
    const engine = await QueryEngine.open({ catalog });
    try {
      return { stats, read: await o.read(engine) };
    } finally {
      engine.close();
    }
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}
