/**
 * A reader in a thread of its own for `bench/upserts.ts`: `floe query`'s engine (a fresh
 * `QueryEngine` per query: open, plan, run, close) over the bench's SQLite catalog, timed here.
 * A reader is its own process in practice (`floe query` beside `floe run`): it shares the
 * machine's cores with the writer, not the writer's event loop, where every commit's JavaScript
 * would delay the reader's planning by whole commits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqlCatalog } from '../src/catalog/sql/sql-catalog.js';
import { QueryEngine } from '../src/query/engine.js';

/** What the bench asks: a statement to time. */
export interface QueryRequest {
  id: number;
  sql: string;
}

/** What the worker answers. */
export interface QueryAnswer {
  id: number;
  ms: number;
  rows: unknown[][];
  error?: string;
}

const { uri, warehouse, threads } = workerData as { uri: string; warehouse: string; threads?: number };
const catalog = new SqlCatalog({ name: 'bench', uri, warehouse });
parentPort!.on('message', (req: QueryRequest | 'close') => {
  if (req === 'close') {
    void catalog.close().then(() => process.exit(0));
    return;
  }
  void (async () => {
    const t0 = performance.now();
    try {
      const engine = await QueryEngine.open({ catalog, ...(threads ? { threads } : {}) });
      try {
        const r = await engine.query(req.sql);
        parentPort!.postMessage({ id: req.id, ms: performance.now() - t0, rows: r.rows as unknown[][] } satisfies QueryAnswer);
      } finally {
        engine.close();
      }
    } catch (e) {
      parentPort!.postMessage({ id: req.id, ms: performance.now() - t0, rows: [], error: e instanceof Error ? e.message : String(e) } satisfies QueryAnswer);
    }
  })();
});
