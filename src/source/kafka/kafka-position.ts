/**
 * Kafka partition ids and positions as the Source interface holds them: a partition is
 * `<topic>:<partition>` (topic names never contain ':'), a position is the decimal offset of the
 * last record consumed (`"41"`: offsets up to and including 41 are in the table). In code offsets
 * are bigint; in the snapshot summary they are the decimal strings.
 */
import { ValidationError } from '../../errors.js';

/** The checkpoint id of the Kafka source: `floe.checkpoint.kafka.<topic>:<partition>`. */
export const KAFKA_SOURCE_ID = 'kafka';

/** `events`, 3 → `events:3`. */
export function kafkaPartitionId(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** `events:3` → { topic: 'events', partition: 3 }; undefined when `id` is not a Kafka partition id. */
export function parseKafkaPartitionId(id: string): { topic: string; partition: number } | undefined {
  const colon = id.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const p = id.slice(colon + 1);
  if (!/^(0|[1-9]\d{0,9})$/.test(p)) return undefined;
  const partition = Number(p);
  if (partition > 2_147_483_647) return undefined;
  return { topic: id.slice(0, colon), partition };
}

const OFFSET_RE = /^(0|[1-9]\d{0,18})$/;

/** Parses a position (a non-negative 64-bit offset); `what` names it in the error. */
export function parseKafkaOffset(s: string, what = 'position'): bigint {
  if (!OFFSET_RE.test(s)) throw new ValidationError(`kafka: ${what} "${s}" is not a Kafka offset (a non-negative integer)`);
  const v = BigInt(s);
  if (v > 0x7fff_ffff_ffff_ffffn) throw new ValidationError(`kafka: ${what} "${s}" is beyond the largest Kafka offset`);
  return v;
}

/** Orders two positions of one partition. */
export function compareKafkaOffsets(a: string, b: string): number {
  const x = parseKafkaOffset(a);
  const y = parseKafkaOffset(b);
  return x === y ? 0 : x < y ? -1 : 1;
}
