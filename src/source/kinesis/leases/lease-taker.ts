/**
 * Which leases a worker takes, as the KCL 2.x decides it (`DynamoDBLeaseTaker`), as pure functions
 * over what the worker has observed of the lease table.
 *
 * Expiry is judged on the observing worker's own clock, never on a time written in the table
 * (clocks of different hosts disagree): a lease is expired when its `leaseCounter` has not changed
 * for the failover time since this worker first saw that value. A lease without an owner (new,
 * released at shutdown, or finished) is available at once.
 *
 * Balance: the live workers are the distinct owners of unexpired leases, plus this worker; the
 * target is ceil(workable leases / live workers) (capped by maxLeasesPerWorker). Below target, a
 * worker first takes available leases; when there are none, it steals from the most loaded worker,
 * at most `maxLeasesToSteal` per pass (default 1), and only what that worker holds beyond the
 * target (or one lease when it holds exactly the target and this worker needs more than one), so
 * workers converge instead of trading leases back and forth.
 *
 * Parents before children: a lease is workable only once every parent's lease is finished
 * (checkpoint SHARD_END, written after that end was committed to the Iceberg table) or gone.
 * Finished leases need no worker and are not counted.
 */
import { isFinished, type Lease } from './lease.js';

/** A lease as last seen, with the local time its counter was last seen to change. */
export interface ObservedLease {
  lease: Lease;
  /** Local (monotonic) time the current counter value was first seen; -Infinity for an unowned lease seen first. */
  lastChangeAt: number;
}

/**
 * What a worker has seen of the lease table across scans: the KCL's `updateAllLeases`, which
 * carries the time of the last counter change from one scan to the next.
 */
export class LeaseObserver {
  private seen = new Map<string, ObservedLease>();

  /**
   * Records a full scan. `scanEndAt` is the local time the scan finished: a counter value is
   * dated no earlier than the moment it was certainly read, so an expiry is never judged early.
   */
  observe(leases: readonly Lease[], scanEndAt: number): void {
    const next = new Map<string, ObservedLease>();
    for (const lease of leases) {
      const old = this.seen.get(lease.shardId);
      let lastChangeAt: number;
      if (old !== undefined && old.lease.counter === lease.counter) lastChangeAt = old.lastChangeAt;
      else if (old === undefined && lease.owner === undefined) lastChangeAt = Number.NEGATIVE_INFINITY;
      else lastChangeAt = scanEndAt;
      next.set(lease.shardId, { lease, lastChangeAt });
    }
    this.seen = next;
  }

  /** Replaces what is known of one lease after this worker wrote it (its counter changed now). */
  update(lease: Lease, at: number): void {
    this.seen.set(lease.shardId, { lease, lastChangeAt: at });
  }

  get(shardId: string): ObservedLease | undefined {
    return this.seen.get(shardId);
  }

  /** Every lease of the last scan, by shard id. */
  leases(): ReadonlyMap<string, ObservedLease> {
    return this.seen;
  }
}

/** True when nobody holds the lease, or its counter has not moved for `failoverTimeMs`. */
export function isAvailable(o: ObservedLease, now: number, failoverTimeMs: number): boolean {
  return o.lease.owner === undefined || now - o.lastChangeAt > failoverTimeMs;
}

/** True when every parent of `lease` is finished or has no lease (trimmed, cleaned up). */
export function parentsDone(lease: Lease, all: ReadonlyMap<string, ObservedLease>): boolean {
  return lease.parentShardIds.every((p) => {
    const parent = all.get(p);
    return parent === undefined || isFinished(parent.lease);
  });
}

/** True when the lease needs a worker now: not finished and its parents done. */
export function isWorkable(lease: Lease, all: ReadonlyMap<string, ObservedLease>): boolean {
  return !isFinished(lease) && parentsDone(lease, all);
}

/** Input of {@link planTakes}. */
export interface TakePlanInput {
  workerId: string;
  leases: ReadonlyMap<string, ObservedLease>;
  now: number;
  failoverTimeMs: number;
  /** Default unlimited. */
  maxLeasesPerWorker?: number;
  /** Default 1 (the KCL's). */
  maxLeasesToSteal?: number;
  /** Random source for choosing among candidates (tests pass a seeded one). Default Math.random. */
  random?: () => number;
}

/** What one take pass should do. */
export interface TakePlan {
  /** Leases that need a worker: not finished, parents done. */
  workable: number;
  /** Live workers: owners of unexpired workable leases, plus this one. */
  workers: number;
  /** Leases per worker this worker aims at. */
  target: number;
  /** Unexpired workable leases this worker holds according to the table. */
  held: number;
  /** Available leases to take (unowned or expired). */
  take: Lease[];
  /** Leases to steal from the most loaded worker (only when nothing is available). */
  steal: Lease[];
  /** The worker stolen from. */
  victim?: string;
}

function pick<T>(items: T[], n: number, random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a.slice(0, Math.max(0, n));
}

/** Decides one take pass. See the module comment for the rules. */
export function planTakes(input: TakePlanInput): TakePlan {
  const { workerId, leases, now, failoverTimeMs } = input;
  const random = input.random ?? Math.random;
  const maxSteal = input.maxLeasesToSteal ?? 1;
  const counts = new Map<string, number>();
  const available: Lease[] = [];
  const owned = new Map<string, Lease[]>();
  let workable = 0;
  for (const o of leases.values()) {
    if (!isWorkable(o.lease, leases)) continue;
    workable++;
    if (isAvailable(o, now, failoverTimeMs)) {
      available.push(o.lease);
      continue;
    }
    const owner = o.lease.owner as string;
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
    const list = owned.get(owner) ?? [];
    list.push(o.lease);
    owned.set(owner, list);
  }
  if (!counts.has(workerId)) counts.set(workerId, 0);
  const workers = counts.size;
  let target = workable === 0 ? 0 : Math.ceil(workable / workers);
  if (input.maxLeasesPerWorker !== undefined) target = Math.min(target, input.maxLeasesPerWorker);
  const held = counts.get(workerId) ?? 0;
  const needed = target - held;
  const plan: TakePlan = { workable, workers, target, held, take: [], steal: [] };
  if (needed <= 0) return plan;
  if (available.length > 0) {
    // Sorted first so that a seeded random source gives the same choice whatever the scan order.
    available.sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
    plan.take = pick(available, needed, random);
    return plan;
  }
  let victim: string | undefined;
  let most = -1;
  for (const [owner, n] of counts) {
    if (owner === workerId) continue;
    if (n > most || (n === most && victim !== undefined && owner < victim)) {
      victim = owner;
      most = n;
    }
  }
  if (victim === undefined || most < target) return plan;
  const over = most - target;
  let n = Math.min(needed, over);
  if (needed > 1 && over === 0) n = 1;
  n = Math.min(n, maxSteal);
  if (n <= 0) return plan;
  const candidates = (owned.get(victim) ?? []).sort((a, b) => (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : 0));
  plan.steal = pick(candidates, n, random);
  plan.victim = victim;
  return plan;
}
