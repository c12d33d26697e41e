/**
 * Stream positions inside the table: every commit records, in its snapshot summary, the position of
 * each partition (shard) it covers, as `floe.checkpoint.<stream>.<partition>` = position, merged
 * with the positions already in the table. Nothing outside the table holds progress, so losing
 * a machine or a folder can never replay committed records.
 */
import type { Snapshot } from '../iceberg/metadata.js';
import { CHECKPOINT_PREFIX } from '../table/snapshot-producer.js';

/** The summary key prefix of one stream's positions. */
export function checkpointPrefix(stream: string): string {
  return `${CHECKPOINT_PREFIX}${stream}.`;
}

/** The positions of `stream` recorded in a snapshot's summary. */
export function readCheckpoint(snapshot: Snapshot | undefined, stream: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!snapshot) return out;
  const prefix = checkpointPrefix(stream);
  for (const [k, v] of Object.entries(snapshot.summary)) {
    if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  }
  return out;
}

/** Summary entries for positions. */
export function checkpointSummary(stream: string, positions: ReadonlyMap<string, string>): Record<string, string> {
  const prefix = checkpointPrefix(stream);
  const out: Record<string, string> = {};
  for (const [partition, position] of positions) out[prefix + partition] = position;
  return out;
}

/** True when both maps hold exactly the same positions. */
export function samePositions(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** Describes how two position maps differ (for the fencing error). */
export function diffPositions(expected: ReadonlyMap<string, string>, actual: ReadonlyMap<string, string>): string {
  const keys = new Set([...expected.keys(), ...actual.keys()]);
  const parts: string[] = [];
  for (const k of keys) {
    const e = expected.get(k);
    const a = actual.get(k);
    if (e !== a) parts.push(`${k}: expected ${e ?? '(none)'}, table has ${a ?? '(none)'}`);
  }
  return parts.slice(0, 4).join('; ') + (parts.length > 4 ? `; … ${parts.length - 4} more` : '');
}
