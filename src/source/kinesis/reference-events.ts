/**
 * The test events of the reference system (`../shared/reference-system.md`), for `floe produce`
 * and the quickstart:
 *
 *     {"event_id": "evt_<unix seconds>_<i>", "user_id": "user_00<0-4>",
 *      "event_type": "click" | "page_view" | "purchase", "page": "/products/<100+i>",
 *      "timestamp": "2026-01-08T15:16:52Z"}
 *
 * sent with partition key `pk_<i>`.
 */
import type { PutEntry } from './producer.js';

/** One reference event, with the reference system's field names. */
export interface ReferenceEvent {
  event_id: string;
  user_id: string;
  event_type: 'click' | 'page_view' | 'purchase';
  page: string;
  timestamp: string;
}

/** The event types the reference producer picks from. */
export const REFERENCE_EVENT_TYPES: readonly ReferenceEvent['event_type'][] = ['click', 'page_view', 'purchase'];

/** ISO-8601 UTC at second precision with `Z`, as the reference producer writes timestamps. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * Event number `i` produced at `nowMs`. `random` (in [0, 1)) picks the user and the event type, as
 * the reference producer does; pass a seeded one for reproducible output.
 */
export function referenceEvent(i: number, nowMs: number = Date.now(), random: () => number = Math.random): ReferenceEvent {
  const pick = <T>(xs: readonly T[]): T => xs[Math.min(xs.length - 1, Math.floor(random() * xs.length))] as T;
  return {
    event_id: `evt_${Math.floor(nowMs / 1000)}_${i}`,
    user_id: `user_00${pick([0, 1, 2, 3, 4])}`,
    event_type: pick(REFERENCE_EVENT_TYPES),
    page: `/products/${100 + i}`,
    timestamp: isoSeconds(nowMs),
  };
}

/** Event `i` as a Kinesis record: JSON bytes with partition key `pk_<i>`. */
export function referenceEntry(i: number, nowMs: number = Date.now(), random: () => number = Math.random): PutEntry {
  return { data: new TextEncoder().encode(JSON.stringify(referenceEvent(i, nowMs, random))), partitionKey: `pk_${i}` };
}

/** `count` reference records numbered from `first` (default 0), all stamped `nowMs`. */
export function referenceEntries(count: number, options: { first?: number; nowMs?: number; random?: () => number } = {}): PutEntry[] {
  const first = options.first ?? 0;
  const now = options.nowMs ?? Date.now();
  return Array.from({ length: count }, (_, k) => referenceEntry(first + k, now, options.random));
}
