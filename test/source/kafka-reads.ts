/**
 * Reading a topic exactly once through a {@link KafkaSource}, as the authentication tests do: `n`
 * records produced straight into the mock cluster, then read through the source under test.
 */
import assert from 'node:assert/strict';
import type { KafkaSource } from '../../src/source/kafka/kafka-source.js';
import { produce } from './kafka-mock.js';
import { pollUntil } from './kinesis-test-helpers.js';

/** Produces `n` records `{id: i}` into `topic` at `bootstrap` and reads them through `s` (closed after): every id once. */
export async function readsExactly(bootstrap: string, s: KafkaSource, topic: string, n: number): Promise<void> {
  await produce(bootstrap, topic, Array.from({ length: n }, (_, i) => ({ value: JSON.stringify({ id: i }), key: `k${i}` })));
  try {
    await s.start(new Map(), { type: 'TRIM_HORIZON' });
    const c = await pollUntil(s, (c) => c.records.length >= n, { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const more = await s.poll({ maxRecords: 1000, maxBytes: 1 << 20, waitMs: 0 });
    const ids = [...c.records, ...more.records].map((r) => (JSON.parse(new TextDecoder().decode(r.data)) as { id: number }).id).sort((a, b) => a - b);
    assert.deepEqual(ids, Array.from({ length: n }, (_, i) => i));
  } finally {
    await s.close();
  }
}
