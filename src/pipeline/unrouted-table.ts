/**
 * The table of records a routed run (`tables:`) could give to no table: dead-letter rows (the
 * dead-letter schema, the error saying why no entry took the record), committed like a table's
 * rows, with the positions they reach, so they are there exactly once across restarts: the
 * hub starts no later than this table's positions, and records at or before them are not handed
 * out again (`RoutedSource`).
 *
 * Each commit asserts that the table's positions of the partitions it carries are still the ones
 * this run last committed (a second process on the same config stops instead of duplicating).
 */
import { FencedError } from '../errors.js';
import { ColumnBatchBuilder } from '../data/column-batch.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { snapshotForRef } from '../iceberg/snapshot.js';
import type { IcebergValue } from '../iceberg/types.js';
import type { SourceRecord } from '../source/source.js';
import type { Table } from '../table/table.js';
import { writeDataFiles } from '../table/write.js';
import { checkpointSummary, diffPositions, readCheckpoint } from './checkpoint.js';
import { deadLetterRow } from './dead-letter.js';
import type { RoutedSource } from './route-source.js';

/** What one commit of the unrouted table did. */
export interface UnroutedCommit {
  table: string;
  snapshotId: string;
  deadLetters: number;
}

/** Writes the records no table took (see the file comment). */
export class UnroutedTable {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private rows: IcebergValue[][] = [];
  private readonly pending = new Map<string, string>();
  private readonly stopController = new AbortController();
  /** Dead letters taken from the hub (committed, or in the next commit). */
  taken = 0;
  /** Per record handed to the hub as unrouted: why no table took it. */
  readonly reasons = new WeakMap<SourceRecord, string>();

  constructor(
    readonly table: Table,
    private readonly source: RoutedSource,
    private readonly intervalMs: number,
    private readonly onCommit: (c: UnroutedCommit) => void,
  ) {}

  /** Takes records and commits them every interval until {@link stop}; then a last commit. */
  async run(): Promise<void> {
    const signal = this.stopController.signal;
    let last = Date.now();
    while (!signal.aborted) {
      const batch = await this.source.poll({ maxRecords: 10_000, maxBytes: 64 * 1024 * 1024, waitMs: Math.max(1, last + this.intervalMs - Date.now()), signal });
      const nowUs = BigInt(Date.now()) * 1000n;
      this.taken += batch.records.length;
      for (const r of batch.records) {
        let text: string | undefined;
        try {
          text = this.decoder.decode(r.data);
        } catch {
          text = undefined;
        }
        this.rows.push(deadLetterRow(this.source.id, r, this.reasons.get(r) ?? 'routing: no table takes the record', text, nowUs));
      }
      for (const [p, pos] of batch.positions) this.pending.set(p, pos);
      if (Date.now() - last >= this.intervalMs && this.pending.size > 0) {
        await this.commit();
        last = Date.now();
      }
    }
    if (this.pending.size > 0) await this.commit();
    await this.source.close();
  }

  stop(): void {
    this.stopController.abort();
  }

  private async commit(): Promise<void> {
    const stream = this.source.id;
    const positions = new Map(this.pending);
    const expected = new Map<string, string>();
    for (const p of positions.keys()) {
      const pos = this.source.committedPositions.get(p);
      if (pos !== undefined) expected.set(p, pos);
    }
    const builder = new ColumnBatchBuilder(this.table.schema());
    for (const r of this.rows) builder.append(r);
    const { files, specId } = await writeDataFiles(this.table.io, this.table.metadata, builder.build());
    const result = await this.table
      .newAppend({
        summary: checkpointSummary(stream, positions),
        validate: (base: TableMetadata) => {
          const all = readCheckpoint(snapshotForRef(base, 'main'), stream);
          const moved = [...positions.keys()].filter((p) => all.get(p) !== expected.get(p));
          if (moved.length > 0) {
            const actual = new Map(moved.flatMap((p) => (all.has(p) ? [[p, all.get(p)!] as const] : [])));
            throw new FencedError(`routing: fenced: the positions of ${stream} in ${this.table.name} moved under this run (${diffPositions(new Map(moved.flatMap((p) => (expected.has(p) ? [[p, expected.get(p)!] as const] : []))), actual)}); another writer is active, stopping without committing`);
          }
        },
      })
      .appendFiles(files, specId)
      .commit();
    const count = this.rows.length;
    this.rows = [];
    this.pending.clear();
    this.source.markCommitted(positions);
    this.onCommit({ table: this.table.name, snapshotId: result.snapshot['snapshot-id'].toString(), deadLetters: count });
  }
}
