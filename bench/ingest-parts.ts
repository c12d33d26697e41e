/**
 * The per-record parts of ingest, each timed alone over the same pre-encoded events: decode,
 * JSON.parse, transform, column append (JavaScript values, or encoded as the pipeline does), and
 * all of them together. Shows where a record's microseconds go (CPU µs per record).
 *
 *   node dist/bench/ingest-parts.js --events 500000 --size 150
 */
import { clearRawStage, ColumnBatchBuilder, newRawStage } from '../src/data/column-batch.js';
import type { IcebergValue } from '../src/iceberg/types.js';
import { validateConfig } from '../src/pipeline/config.js';
import { NO_ROOM, RecordScanner, STAGED } from '../src/pipeline/record-scan.js';
import { compileTransform, schemaForTransform } from '../src/pipeline/transform.js';
import type { SourceRecord } from '../src/source/source.js';
import { emitResult, eventPool, flag } from './common.js';
import { REFERENCE_COLUMNS } from './reference.js';

const events = Number(flag('events', '500000'));
const size = Number(flag('size', '150')) as 150 | 1024;
const pool = eventPool(size);
const config = validateConfig({ source: { stream: 's' }, table: { name: 'a.b' }, transform: { columns: REFERENCE_COLUMNS } });
const schema = schemaForTransform(config.transform);
const transform = compileTransform(config.transform, schema);
const dec = new TextDecoder('utf-8', { fatal: true });
const records: SourceRecord[] = pool.map((data, i) => ({ partitionId: 'p', position: String(i), data, partitionKey: 'k', arrivalTimeMs: 0, meta: {} }));

function time(name: string, fn: () => void): [string, number] {
  fn(); // warm up
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return [name, (t.user + t.system) / events];
}

const texts = records.map((r) => dec.decode(r.data));
const objs = texts.map((t) => JSON.parse(t) as unknown);
const ctx = { record: records[0]!, streamName: 's', processingTimeUs: 1_767_885_412_000_000n };
const rows = objs.map((o) => transform.apply(o, ctx));
let sink = 0;
const results = [
  time('decode', () => {
    for (let i = 0; i < events; i++) sink += dec.decode(records[i % records.length]!.data).length;
  }),
  time('JSON.parse', () => {
    for (let i = 0; i < events; i++) sink += (JSON.parse(texts[i % texts.length]!) as { page: string }).page.length;
  }),
  time('transform', () => {
    for (let i = 0; i < events; i++) sink += transform.apply(objs[i % objs.length], ctx).length;
  }),
  time('append (values)', () => {
    const b = new ColumnBatchBuilder(schema);
    for (let i = 0; i < events; i++) b.append(rows[i % rows.length]!);
    sink += b.build().length;
  }),
  time('append (encoded)', () => {
    const b = new ColumnBatchBuilder(schema, { encode: true });
    for (let i = 0; i < events; i++) b.append(rows[i % rows.length]!);
    sink += b.build().length;
  }),
  time('all', () => {
    // As the pipeline does it: one reused row and context, rows encoded as they come.
    const b = new ColumnBatchBuilder(schema, { encode: true });
    const row = new Array<IcebergValue>(schema.fields.length);
    const c = { record: records[0]!, streamName: 's', processingTimeUs: 1n };
    for (let i = 0; i < events; i++) {
      c.record = records[i % records.length]!;
      transform.applyInto(JSON.parse(dec.decode(c.record.data)), c, row);
      b.append(row);
    }
    sink += b.build().length;
  }),
  time('fast path: scan (JS)', () => {
    const scanner = RecordScanner.for(transform, { native: false })!;
    for (let i = 0; i < events; i++) if (scanner.scan(records[i % records.length]!.data, ctx)) sink++;
  }),
  time('scan + append (JS)', () => {
    // The fast path row by row: bytes → raw row → encoded columns, no strings or objects.
    const scanner = RecordScanner.for(transform, { native: false })!;
    const b = new ColumnBatchBuilder(schema, { encode: true });
    for (let i = 0; i < events; i++) if (scanner.scan(records[i % records.length]!.data, ctx)) b.appendRaw(scanner.row);
    sink += b.build().length;
  }),
  time('scan (native)', () => {
    const scanner = RecordScanner.for(transform)!;
    if (!scanner.native) throw new Error('bench: the native scanner is not built (npm ci builds it)');
    for (let i = 0; i < events; i++) if (scanner.scan(records[i % records.length]!.data, ctx)) sink++;
  }),
  time('scan (native, strict keys)', () => {
    // transform.unmapped other than ignore: a key the mapping does not read declines the record
    // (none in these events); the cost of watching for new fields on records without any.
    const scanner = RecordScanner.for(transform, { strictKeys: true })!;
    if (!scanner.native) throw new Error('bench: the native scanner is not built (npm ci builds it)');
    for (let i = 0; i < events; i++) if (scanner.scan(records[i % records.length]!.data, ctx)) sink++;
  }),
  time('scan + append (native, staged)', () => {
    // What the pipeline does for an unpartitioned table: the native scanner writes rows into a
    // stage of columns, taken in bulk every 2,048 rows.
    const scanner = RecordScanner.for(transform)!;
    const stage = newRawStage(schema.fields.length, 2048, 128 * 1024);
    scanner.attachStage(stage);
    const b = new ColumnBatchBuilder(schema, { encode: true });
    for (let i = 0; i < events; i++) {
      const data = records[i % records.length]!.data;
      let r = scanner.scanStaged(data, ctx);
      if (r === NO_ROOM || stage.state[0] === stage.capacity) {
        b.appendStaged(stage);
        clearRawStage(stage);
        if (r === NO_ROOM) r = scanner.scanStaged(data, ctx);
      }
      if (r === STAGED) sink++;
    }
    b.appendStaged(stage);
    clearRawStage(stage);
    sink += b.build().length;
  }),
];
emitResult({ bench: 'ingest-parts', events, size, microsPerRecord: Object.fromEntries(results.map(([k, v]) => [k, Number(v.toFixed(3))])), sink });
