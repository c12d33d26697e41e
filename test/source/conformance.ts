/**
 * Source conformance suite: the contract of `src/source/source.ts` that every Source (memory,
 * Kinesis, Kafka) must keep, written once, as `test/catalog/conformance.ts` is for catalogs. An
 * implementation's test file calls `sourceConformance(name, harness)`.
 *
 * Every test makes its own stream (`harness.stream()`), so the tests are independent on a server
 * shared by the suite. Records are JSON objects `{"id": n}`.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { InitialPosition, Source, SourceBatch, SourceRecord } from '../../src/source/source.js';

/** One stream of the implementation under test. */
export interface StreamUnderTest {
  /** A new source over this stream (a new reader: a new consumer, a new set of shard readers). */
  open(): Source;
  /** Appends records with ids `from … from+n-1`, spread over the stream's partitions. */
  put(from: number, n: number): Promise<void>;
}

/** What an implementation provides. */
export interface SourceHarness {
  /** A new stream with at least two partitions. */
  stream(): Promise<StreamUnderTest>;
  /** After the suite. */
  cleanup?(): Promise<void>;
  /** How long reading may take to see a record just put (ms); default 15,000. */
  timeoutMs?: number;
}

const dec = new TextDecoder();
const idOf = (r: SourceRecord): number => (JSON.parse(dec.decode(r.data)) as { id: number }).id;

/** Polls until `n` records came (failing after `timeoutMs`); returns them and the batches. */
async function take(source: Source, n: number, timeoutMs: number, bounds: { maxRecords?: number; maxBytes?: number } = {}): Promise<{ records: SourceRecord[]; batches: SourceBatch[] }> {
  const records: SourceRecord[] = [];
  const batches: SourceBatch[] = [];
  const deadline = Date.now() + timeoutMs;
  while (records.length < n) {
    if (Date.now() > deadline) throw new Error(`conformance: ${records.length} of ${n} records after ${timeoutMs} ms`);
    const b = await source.poll({ maxRecords: bounds.maxRecords ?? 1000, maxBytes: bounds.maxBytes ?? 1 << 24, waitMs: 200 });
    batches.push(b);
    records.push(...b.records);
  }
  return { records, batches };
}

const TRIM: InitialPosition = { type: 'TRIM_HORIZON' };

/** Registers the conformance tests for one Source implementation. */
export function sourceConformance(name: string, makeHarness: () => Promise<SourceHarness>, options: { skip?: string | false } = {}): void {
  describe(`Source conformance: ${name}`, { skip: options.skip ?? false }, () => {
    let harness: SourceHarness | undefined;
    const get = async (): Promise<SourceHarness> => (harness ??= await makeHarness());
    after(async () => {
      await harness?.cleanup?.();
    });

    it('hands out every record once, in order per partition; positions are the last record of each partition', async () => {
      const h = await get();
      const s = await h.stream();
      await s.put(0, 60);
      const source = s.open();
      try {
        await source.start(new Map(), TRIM);
        const { records, batches } = await take(source, 60, h.timeoutMs ?? 15_000);
        assert.deepEqual(records.map(idOf).sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i));
        const last = new Map<string, string>();
        for (const b of batches) {
          const inBatch = new Map<string, string>();
          for (const r of b.records) {
            const prev = last.get(r.partitionId);
            if (prev !== undefined) assert.ok(source.comparePositions(prev, r.position) < 0, `${r.partitionId}: ${prev} before ${r.position}`);
            last.set(r.partitionId, r.position);
            inBatch.set(r.partitionId, r.position);
          }
          for (const [p, pos] of inBatch) assert.equal(b.positions.get(p), pos, `batch position of ${p} is its last record's`);
        }
        assert.ok(last.size >= 2, `records from ${last.size} partitions`);
      } finally {
        await source.close();
      }
    });

    it('respects the bounds of a poll: maxRecords, maxBytes (one larger record alone), waitMs and its abort', async () => {
      const h = await get();
      const s = await h.stream();
      await s.put(0, 40);
      const source = s.open();
      try {
        await source.start(new Map(), TRIM);
        const { batches } = await take(source, 40, h.timeoutMs ?? 15_000, { maxRecords: 7 });
        for (const b of batches) assert.ok(b.records.length <= 7, `${b.records.length} records for maxRecords 7`);
        await s.put(100, 20);
        const byBytes = await take(source, 20, h.timeoutMs ?? 15_000, { maxBytes: 30 });
        for (const b of byBytes.batches) {
          const bytes = b.records.reduce((a, r) => a + r.data.length, 0);
          assert.ok(b.records.length <= 1 || bytes <= 30, `${bytes} bytes in ${b.records.length} records for maxBytes 30`);
        }
        // Nothing left: a poll waits at most about waitMs, an abort ends it early.
        let t = Date.now();
        const empty = await source.poll({ maxRecords: 10, maxBytes: 1 << 20, waitMs: 300 });
        assert.equal(empty.records.length, 0);
        assert.ok(Date.now() - t < 2000, `an empty poll took ${Date.now() - t} ms`);
        const ac = new AbortController();
        t = Date.now();
        setTimeout(() => ac.abort(), 50);
        const aborted = await source.poll({ maxRecords: 10, maxBytes: 1 << 20, waitMs: 10_000, signal: ac.signal });
        assert.equal(aborted.records.length, 0);
        assert.ok(Date.now() - t < 3000, `an aborted poll took ${Date.now() - t} ms`);
      } finally {
        await source.close();
      }
    });

    it('resumes exactly after the positions it is given, and reads records put meanwhile', async () => {
      const h = await get();
      const s = await h.stream();
      await s.put(0, 50);
      const first = s.open();
      const positions = new Map<string, string>();
      const seen: number[] = [];
      try {
        await first.start(new Map(), TRIM);
        const { records, batches } = await take(first, 20, h.timeoutMs ?? 15_000, { maxRecords: 5 });
        for (const b of batches) for (const [p, pos] of b.positions) positions.set(p, pos);
        seen.push(...records.map(idOf));
        first.markCommitted(positions);
      } finally {
        await first.close();
      }
      await s.put(50, 10);
      const second = s.open();
      try {
        await second.start(positions, TRIM);
        const { records } = await take(second, 60 - seen.length, h.timeoutMs ?? 15_000);
        seen.push(...records.map(idOf));
        const extra = await second.poll({ maxRecords: 100, maxBytes: 1 << 20, waitMs: 500 });
        seen.push(...extra.records.map(idOf));
        assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: 60 }, (_, i) => i), 'every record once across the two readers');
      } finally {
        await second.close();
      }
    });

    it('LATEST skips what the stream held at start; close ends polls and is idempotent', async () => {
      const h = await get();
      const s = await h.stream();
      await s.put(0, 10);
      const source = s.open();
      try {
        await source.start(new Map(), { type: 'LATEST' });
        await new Promise((r) => setTimeout(r, 300));
        await s.put(10, 10);
        const { records } = await take(source, 10, h.timeoutMs ?? 15_000);
        const extra = await source.poll({ maxRecords: 100, maxBytes: 1 << 20, waitMs: 300 });
        assert.deepEqual([...records, ...extra.records].map(idOf).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => 10 + i));
      } finally {
        await source.close();
      }
      await source.close();
      const after = await source.poll({ maxRecords: 10, maxBytes: 1 << 20, waitMs: 5000 });
      assert.equal(after.records.length, 0);
    });
  });
}
