/**
 * A record whose text is base64 of JSON (AWS CLI v1 sends `put-record --data` as the text given,
 * so `--data "$(echo '{…}' | base64)"` stores base64) becomes a dead letter that says so, on
 * every read path; text that only looks like base64 gets no such hint.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqlCatalog } from '../../src/catalog/sql/sql-catalog.js';
import { validateConfig } from '../../src/pipeline/config.js';
import { base64JsonHint } from '../../src/pipeline/dead-letter-hint.js';
import { Pipeline, type PipelineEvent } from '../../src/pipeline/pipeline.js';
import { QueryEngine } from '../../src/query/engine.js';
import { MemorySource } from '../../src/source/memory.js';
import type { PollOptions, SourceBatch } from '../../src/source/source.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const EVENT = '{"event_id":"e1","event_type":"click","amount":12.5}';

test('base64 of a JSON object or array is recognized, with a preview and what to do', () => {
  const hint = base64JsonHint(b64(EVENT));
  assert.match(hint, /^ \(the record is base64 of JSON: \{"event_id":"e1","event_type":"click","amount":12\.5\}; /);
  assert.match(hint, /AWS CLI v1 sends --data as the text given/);
  assert.match(hint, /AWS CLI v2, which decodes --data from base64/);
  assert.notEqual(base64JsonHint(b64('[1,2,3]')), '');
  // `echo '…' | base64`: a trailing newline inside and outside, and lines wrapped at 76 characters.
  const long = JSON.stringify({ text: 'x'.repeat(200) }) + '\n';
  const wrapped = b64(long).replace(/(.{76})/g, '$1\n') + '\n';
  assert.match(base64JsonHint(wrapped), /base64 of JSON: \{"text":"x{40}.*…;/);
  // The URL-safe alphabet and missing padding decode too.
  assert.notEqual(base64JsonHint(Buffer.from('{"a":"~~~>>>???"}').toString('base64url')), '');
});

test('anything else gets no hint', () => {
  for (const text of [
    undefined,
    '',
    'hello world', // not base64 (a space inside a word pair is not wrapping)
    'plaintext', // base64 alphabet, decodes to bytes that are not UTF-8
    b64('just text, not json'),
    b64('"a JSON string"'), // JSON, but not an object or array
    b64('12345'),
    b64('{"broken": '), // starts like JSON, is not
    b64('{"a":1}').slice(0, -4), // cut short
    '{"a":1', // JSON-ish text, not base64
  ]) {
    assert.equal(base64JsonHint(text), '', String(text));
  }
});

class OneShotSource extends MemorySource {
  onDrained: (() => void) | undefined;
  override async poll(options: PollOptions): Promise<SourceBatch> {
    const batch = await super.poll(options);
    if (this.drained) this.onDrained?.();
    return batch;
  }
}

for (const mode of ['general', 'js', 'native'] as const) {
  test(`a base64-encoded record's dead letter says so (${mode} path); a plain bad record's does not`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'floe-dl-hint-'));
    const catalog = new SqlCatalog({ name: 'floe', uri: join(dir, 'catalog.db'), warehouse: dir });
    try {
      const records = [EVENT, b64(EVENT), 'not json at all'].map((t) => new TextEncoder().encode(t));
      const source = new OneShotSource({
        id: 'events',
        partitions: [{ id: 'shardId-000000000000', length: records.length, record: (i) => ({ data: records[i]!, partitionKey: 'k', arrivalTimeMs: 1_767_885_400_000 }) }],
      });
      const events: PipelineEvent[] = [];
      const pipeline = await Pipeline.open({
        config: validateConfig({
          source: { stream: 'events' },
          catalog: { warehouse: dir },
          table: { name: 'db.events' },
          transform: { columns: [{ name: 'event_id', type: 'string', required: true }, { name: 'amount', type: 'double' }] },
          commit: { interval: '1h' },
          maintenance: false,
        }),
        catalog,
        source,
        ...(mode === 'general' ? { jsonFastPath: false } : mode === 'js' ? { nativeScanner: false } : {}),
        onEvent: (e) => events.push(e),
      });
      source.onDrained = () => pipeline.stop();
      await pipeline.run();
      const reasons = events.flatMap((e) => (e.type === 'dead-letter' ? [e.error] : []));
      assert.equal(reasons.length, 2, reasons.join(' | '));
      assert.match(reasons[0]!, /^decode: record is not JSON: .* \(the record is base64 of JSON: \{"event_id":"e1",.*AWS CLI v1/);
      assert.match(reasons[1]!, /^decode: record is not JSON: /);
      assert.doesNotMatch(reasons[1]!, /base64/);
      const engine = await QueryEngine.open({ catalog });
      try {
        const dl = (await engine.query('SELECT error, text FROM db.events_dead_letters ORDER BY sequence_number')).rows;
        assert.equal(dl.length, 2);
        assert.match(String(dl[0]![0]), /the record is base64 of JSON/, 'the hint is in the dead-letter table too');
        assert.equal(String(dl[0]![1]), b64(EVENT));
        const rows = (await engine.query('SELECT event_id, amount FROM db.events')).rows;
        assert.deepEqual(rows, [['e1', 12.5]]);
      } finally {
        engine.close();
      }
    } finally {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
