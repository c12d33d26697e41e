/**
 * Which shards to read, from where, and when: the resharding rules as a pure function.
 *
 * Rules (a shard's "read parents" are its parents that are still listed and were not skipped):
 * 1. A committed SHARD_END: the shard is done. A committed position: resume after it.
 * 2. A shard without a position but with a descendant that has one is done: the table already moved
 *    past it (its end was committed earlier and pruned from the checkpoints).
 * 3. With read parents: wait until every one of them has its SHARD_END committed, then start at
 *    TRIM_HORIZON (every record of the child is newer than the parents'). When the run started
 *    AT_TIMESTAMP and the parents too, the child starts AT_TIMESTAMP as well, so records older than
 *    the timestamp stay skipped.
 * 4. Without read parents (none, or trimmed from the stream): the initial position. With LATEST, a
 *    shard already closed at the first discovery is skipped (it can never get new records), and a
 *    shard that appears later starts at TRIM_HORIZON: it was created after we started, so all of it
 *    is new.
 */
import type { InitialPosition } from '../source.js';
import { SHARD_END } from '../source.js';
import { parseKinesisPosition, type KinesisPosition } from './position.js';

/** A shard as listed by ListShards. */
export interface ShardNode {
  shardId: string;
  parentShardId?: string;
  adjacentParentShardId?: string;
  /** True when the shard has an ending sequence number (closed by a split or merge). */
  closed: boolean;
}

/** Where a shard reader starts. */
export type ReaderStart =
  | { type: 'TRIM_HORIZON' }
  | { type: 'LATEST' }
  | { type: 'AT_TIMESTAMP'; timestampMs: number }
  /** Resume after a committed position (inside an aggregate: at it, skipping consumed sub-records). */
  | { type: 'AFTER'; position: KinesisPosition };

/** What to do with one shard. */
export type ShardDecision =
  | { kind: 'done' }
  | { kind: 'skip' }
  | { kind: 'wait'; waitingFor: string[] }
  | { kind: 'read'; start: ReaderStart };

/** Everything {@link planShards} needs to know. */
export interface LineageView {
  /** The current listing, by shard id. */
  shards: ReadonlyMap<string, ShardNode>;
  /** Positions the run started from (from the table), by shard id. */
  checkpoints: ReadonlyMap<string, string>;
  /** Final decisions made earlier in this run (read, skip, done); waits are re-evaluated. */
  decided: ReadonlyMap<string, ShardDecision>;
  /** Shards whose SHARD_END has been committed during this run. */
  endedCommitted: ReadonlySet<string>;
  initial: InitialPosition;
  /** True while planning the shards of the first listing of the run. */
  firstDiscovery: boolean;
}

/** The parents of a shard that appear in the listing. */
export function listedParents(node: ShardNode, shards: ReadonlyMap<string, ShardNode>): string[] {
  const out: string[] = [];
  for (const p of [node.parentShardId, node.adjacentParentShardId]) {
    if (p !== undefined && shards.has(p) && !out.includes(p)) out.push(p);
  }
  return out;
}

/** Shards that have a descendant with a checkpoint (rule 2). */
function shardsWithCheckpointedDescendant(view: LineageView): Set<string> {
  const out = new Set<string>();
  const mark = (id: string, seen: Set<string>): void => {
    const node = view.shards.get(id);
    if (!node) return;
    for (const p of listedParents(node, view.shards)) {
      if (seen.has(p)) continue; // a cycle can only come from a corrupt listing: stop there
      seen.add(p);
      out.add(p);
      mark(p, seen);
    }
  };
  for (const id of view.checkpoints.keys()) if (view.shards.has(id)) mark(id, new Set([id]));
  return out;
}

/**
 * Decides every listed shard that has no final decision yet (new shards and waiting ones).
 * Returns the decisions made now; parents are decided before their children.
 */
export function planShards(view: LineageView): Map<string, ShardDecision> {
  const result = new Map<string, ShardDecision>();
  const implied = shardsWithCheckpointedDescendant(view);
  const visiting = new Set<string>();

  const decisionOf = (id: string): ShardDecision | undefined => {
    const prior = view.decided.get(id);
    if (prior && prior.kind !== 'wait') return prior;
    return result.get(id) ?? decide(id);
  };

  const decide = (id: string): ShardDecision | undefined => {
    const node = view.shards.get(id);
    if (!node || visiting.has(id)) return undefined;
    visiting.add(id);
    try {
      const d = decideOne(node);
      result.set(id, d);
      return d;
    } finally {
      visiting.delete(id);
    }
  };

  const decideOne = (node: ShardNode): ShardDecision => {
    const cp = view.checkpoints.get(node.shardId);
    if (cp !== undefined) {
      const p = parseKinesisPosition(cp, `checkpoint of ${node.shardId}`);
      return p === SHARD_END ? { kind: 'done' } : { kind: 'read', start: { type: 'AFTER', position: p } };
    }
    if (implied.has(node.shardId)) return { kind: 'done' };

    const readParents: { id: string; d: ShardDecision | undefined }[] = [];
    for (const p of listedParents(node, view.shards)) {
      const d = decisionOf(p);
      if (d?.kind !== 'skip') readParents.push({ id: p, d });
    }
    if (readParents.length > 0) {
      const waitingFor = readParents
        .filter(({ id, d }) => !(d?.kind === 'done' || view.endedCommitted.has(id)))
        .map(({ id }) => id);
      if (waitingFor.length > 0) return { kind: 'wait', waitingFor };
      const init = view.initial;
      const allAtTimestamp =
        init.type === 'AT_TIMESTAMP' &&
        readParents.every(({ d }) => d?.kind === 'read' && d.start.type === 'AT_TIMESTAMP');
      return { kind: 'read', start: allAtTimestamp ? { ...init } : { type: 'TRIM_HORIZON' } };
    }

    const init = view.initial;
    if (init.type === 'AT_TIMESTAMP') return { kind: 'read', start: { ...init } };
    if (init.type === 'TRIM_HORIZON') return { kind: 'read', start: { type: 'TRIM_HORIZON' } };
    if (!view.firstDiscovery) return { kind: 'read', start: { type: 'TRIM_HORIZON' } };
    return node.closed ? { kind: 'skip' } : { kind: 'read', start: { type: 'LATEST' } };
  };

  for (const id of view.shards.keys()) {
    const prior = view.decided.get(id);
    if ((prior === undefined || prior.kind === 'wait') && !result.has(id)) decide(id);
  }
  return result;
}
