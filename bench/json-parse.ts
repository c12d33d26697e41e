/** Node's bare JSON.parse rate on the same events (decode + parse, nothing else). */
import { averageSize, emitResult, eventPool, flag } from './common.js';

const events = Number(flag('events', '1000000'));
const size = Number(flag('size', '150')) as 150 | 1024;
const pool = eventPool(size);
const dec = new TextDecoder();
let sink = 0;
const t0 = performance.now();
for (let i = 0; i < events; i++) {
  const o = JSON.parse(dec.decode(pool[i % pool.length]!)) as { event_id: string };
  sink += o.event_id.length;
}
const seconds = (performance.now() - t0) / 1000;
emitResult({ bench: 'json-parse', events, size, seconds, eventsPerSecond: events / seconds, mbPerSecond: (events * averageSize(pool)) / 1e6 / seconds, sink });
