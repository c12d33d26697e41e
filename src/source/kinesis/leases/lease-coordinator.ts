/**
 * One worker's side of the lease protocol: it creates leases for new shards, renews the leases it
 * holds, takes a fair share of the others, mirrors checkpoints, and releases its leases when it
 * stops, telling its listeners whenever it gains or loses a shard.
 *
 * Timing (the KCL's defaults): renewals every failoverTime / 3, a take pass (scan, plan, take)
 * every failoverTime * 2. A lease this worker could not renew for failoverTime is dropped here
 * first (the renewal that last succeeded was sent at least failoverTime ago), before any other
 * worker can see it expired: others date a counter value from the moment they read it, which is
 * after it was written. A paused process cannot drop anything, which is why the Iceberg commit
 * fences a shard moved by another worker; the lease only keeps workers from reading the same
 * shards in the normal case.
 *
 * Writes on one lease (renew, take, checkpoint, release) run one after the other, so a renewal
 * never races this worker's own checkpoint or release.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { FloeError, ValidationError } from '../../../errors.js';
import type { SourceLogger } from '../../source.js';
import { SHARD_END } from '../../source.js';
import { checkpointOfPosition, type CheckpointSentinel, type Lease } from './lease.js';
import { LeaseObserver, parentsDone, planTakes, type TakePlan } from './lease-taker.js';
import type { LeaseTable } from './lease-table.js';

/** The lease settings of `floe run` (`source.lease`). */
export interface LeaseSettings {
  /** A lease not renewed for this long is expired and taken by another worker. Default 10 s. */
  failoverTimeMs: number;
  /** How often held leases are renewed. Default failoverTimeMs / 3. */
  renewIntervalMs?: number;
  /** At most this many leases per worker. Default unlimited. */
  maxLeasesPerWorker?: number;
}

/** Default lease settings (the KCL's). */
export const LEASE_DEFAULTS: Readonly<LeaseSettings> = Object.freeze({ failoverTimeMs: 10_000 });

/** A shard as the lease layer needs it (from ListShards). */
export interface ShardLeaseInfo {
  shardId: string;
  /** Parent shard ids (ParentShardId, AdjacentParentShardId), empty when none. */
  parentShardIds: string[];
  startingHashKey?: string;
  endingHashKey?: string;
}

/** Why this worker stopped holding a lease. */
export type LeaseLossReason =
  /** Another worker took it (a renewal found another owner or counter). */
  | 'stolen'
  /** No renewal succeeded for the failover time (DynamoDB unreachable, process starved). */
  | 'expired'
  /** This worker released it ({@link LeaseCoordinator.release} or a graceful stop). */
  | 'released'
  /** Its SHARD_END checkpoint was written: the shard is finished. */
  | 'ended'
  /** The coordinator stopped without releasing (others take it once it expires). */
  | 'stopped';

/** What listeners hear. */
export type LeaseEvent =
  | { type: 'gained'; shardId: string; lease: Lease; previousOwner: string | undefined }
  | { type: 'lost'; shardId: string; reason: LeaseLossReason; newOwner?: string };

/** Options of {@link LeaseCoordinator}. */
export interface LeaseCoordinatorOptions {
  table: LeaseTable;
  /** This worker's identifier (`leaseOwner`). Default `<hostname>-<uuid>`. */
  workerId?: string;
  /** Default 10 s. */
  failoverTimeMs?: number;
  /** Default failoverTimeMs / 3. */
  renewIntervalMs?: number;
  /** Default failoverTimeMs * 2. */
  takeIntervalMs?: number;
  /** Default unlimited. */
  maxLeasesPerWorker?: number;
  /** Leases stolen per take pass. Default 1 (the KCL's). */
  maxLeasesToSteal?: number;
  /** Initial checkpoint of new leases of shards without listed parents. Default TRIM_HORIZON. */
  initialCheckpoint?: Exclude<CheckpointSentinel, typeof SHARD_END>;
  log?: SourceLogger;
  /** Monotonic clock, ms (tests). Default performance.now. */
  now?: () => number;
  /** Random source for choosing leases (tests). Default Math.random. */
  random?: () => number;
}

interface Held {
  lease: Lease;
  counter: bigint;
  /** Local time the last successful renewal (or the take) was sent. */
  renewedAt: number;
  /** Fires when the lease expires here unless renewed first (see `arm`). */
  expiry?: NodeJS.Timeout;
}

function positive(v: number | undefined, fallback: number, name: string): number {
  const n = v ?? fallback;
  if (!Number.isFinite(n) || n <= 0) throw new ValidationError(`leases: ${name} must be a positive number, got ${String(v)}`);
  return n;
}

/** Orders shards so that every parent given comes before its children. */
function parentsFirst(shards: readonly ShardLeaseInfo[]): ShardLeaseInfo[] {
  const byId = new Map(shards.map((s) => [s.shardId, s]));
  const out: ShardLeaseInfo[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  // Iterative depth-first walk: lineages can be long (a stream resharded for years).
  for (const root of shards) {
    const stack: { s: ShardLeaseInfo; next: number }[] = [{ s: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as { s: ShardLeaseInfo; next: number };
      if (state.get(top.s.shardId) === 'done') {
        stack.pop();
        continue;
      }
      state.set(top.s.shardId, 'visiting');
      const parentId = top.s.parentShardIds[top.next++];
      if (parentId !== undefined) {
        const parent = byId.get(parentId);
        if (parent !== undefined && state.get(parentId) === undefined) stack.push({ s: parent, next: 0 });
        continue;
      }
      state.set(top.s.shardId, 'done');
      out.push(top.s);
      stack.pop();
    }
  }
  return out;
}

/** One worker's lease loop. See the module comment. */
export class LeaseCoordinator {
  readonly workerId: string;
  readonly failoverTimeMs: number;
  readonly renewIntervalMs: number;
  readonly takeIntervalMs: number;
  private readonly table: LeaseTable;
  private readonly maxLeasesPerWorker: number | undefined;
  private readonly maxLeasesToSteal: number;
  private readonly initialCheckpoint: Exclude<CheckpointSentinel, typeof SHARD_END>;
  private readonly log: SourceLogger;
  private readonly now: () => number;
  private readonly random: () => number;

  private readonly observer = new LeaseObserver();
  private readonly held = new Map<string, Held>();
  private readonly listeners = new Set<(e: LeaseEvent) => void>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private ready: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private takeTimer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  private taking: Promise<TakePassResult> | undefined;

  constructor(options: LeaseCoordinatorOptions) {
    this.table = options.table;
    this.workerId = options.workerId ?? `${hostname()}-${randomUUID()}`;
    if (this.workerId.length === 0) throw new ValidationError('leases: workerId must not be empty');
    this.failoverTimeMs = positive(options.failoverTimeMs, LEASE_DEFAULTS.failoverTimeMs, 'failoverTimeMs');
    this.renewIntervalMs = positive(options.renewIntervalMs, this.failoverTimeMs / 3, 'renewIntervalMs');
    if (this.renewIntervalMs > this.failoverTimeMs / 2) {
      // Fewer than two renewals per failover time: one slow call would let the lease expire.
      throw new ValidationError(`leases: renewIntervalMs (${this.renewIntervalMs}) must be at most half of failoverTimeMs (${this.failoverTimeMs})`);
    }
    this.takeIntervalMs = positive(options.takeIntervalMs, this.failoverTimeMs * 2, 'takeIntervalMs');
    if (options.maxLeasesPerWorker !== undefined && !(Number.isInteger(options.maxLeasesPerWorker) && options.maxLeasesPerWorker > 0)) {
      throw new ValidationError(`leases: maxLeasesPerWorker must be a positive integer, got ${options.maxLeasesPerWorker}`);
    }
    this.maxLeasesPerWorker = options.maxLeasesPerWorker;
    this.maxLeasesToSteal = positive(options.maxLeasesToSteal, 1, 'maxLeasesToSteal');
    this.initialCheckpoint = options.initialCheckpoint ?? 'TRIM_HORIZON';
    this.log = options.log ?? (() => {});
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  /** Listens to gained/lost events; returns the function that stops listening. */
  subscribe(listener: (e: LeaseEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: LeaseEvent): void {
    this.log(e.type === 'gained' ? 'info' : e.reason === 'released' || e.reason === 'ended' ? 'info' : 'warn', `leases: ${e.type} shard ${e.shardId}${e.type === 'lost' ? ` (${e.reason})` : ''}`, {
      shardId: e.shardId,
      workerId: this.workerId,
      ...(e.type === 'lost' ? { reason: e.reason, ...(e.newOwner ? { newOwner: e.newOwner } : {}) } : { previousOwner: e.previousOwner }),
    });
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log('error', `leases: a lease listener failed: ${(err as Error).message}`, {});
      }
    }
  }

  /** Runs `fn` after every earlier write on the same lease (see the module comment). */
  private serial<T>(shardId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(shardId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.chains.set(shardId, tail);
    void tail.then(() => {
      if (this.chains.get(shardId) === tail) this.chains.delete(shardId);
    });
    return run;
  }

  private ensureReady(): Promise<void> {
    this.ready ??= this.table.ensureTable().then(() => undefined);
    // A failed creation is retried by the next caller rather than remembered.
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  /**
   * Creates the lease table when missing, runs a first take pass, and starts the renew and take
   * loops. Call {@link syncShards} first (or soon after) so that the table has leases to take.
   */
  async start(): Promise<void> {
    if (this.started) throw new FloeError('LEASE_STATE', 'leases: coordinator already started');
    this.started = true;
    await this.ensureReady();
    await this.takePass();
    this.scheduleRenew();
    this.scheduleTake(this.takeIntervalMs);
  }

  /** Shard ids this worker holds (renewed within the failover time), sorted. */
  heldShards(): string[] {
    const now = this.now();
    return [...this.held.entries()].filter(([, h]) => now - h.renewedAt <= this.failoverTimeMs).map(([id]) => id).sort();
  }

  /** True when this worker holds the shard's lease and renewed it within the failover time. */
  holds(shardId: string): boolean {
    const h = this.held.get(shardId);
    return h !== undefined && this.now() - h.renewedAt <= this.failoverTimeMs;
  }

  /** The leases as last seen (scans, plus this worker's own writes since), by shard id. */
  leases(): ReadonlyMap<string, Lease> {
    const out = new Map<string, Lease>();
    for (const [id, o] of this.observer.leases()) out.set(id, o.lease);
    return out;
  }

  /** True when every parent of the shard's lease is finished (SHARD_END) or has no lease. */
  parentsDone(shardId: string): boolean {
    const o = this.observer.get(shardId);
    return o === undefined || parentsDone(o.lease, this.observer.leases());
  }

  /**
   * Creates leases for the shards that have none (parents first; children start at TRIM_HORIZON,
   * shards without listed parents at the initial checkpoint), and records each new child in its
   * parents' `childShardIds`. Idempotent and safe to run on every worker at once (conditional
   * creation). Shards already seen in the table are skipped without a call.
   * @returns the shard ids whose lease this call created
   */
  async syncShards(shards: readonly ShardLeaseInfo[]): Promise<string[]> {
    await this.ensureReady();
    const known = this.observer.leases();
    const listed = new Set(shards.map((s) => s.shardId));
    const created: string[] = [];
    for (const s of parentsFirst(shards)) {
      if (known.has(s.shardId)) continue;
      const hasParent = s.parentShardIds.some((p) => listed.has(p) || known.has(p));
      const ok = await this.table.createLease({
        shardId: s.shardId,
        parentShardIds: s.parentShardIds,
        checkpoint: hasParent ? 'TRIM_HORIZON' : this.initialCheckpoint,
        ...(s.startingHashKey !== undefined && s.endingHashKey !== undefined ? { startingHashKey: s.startingHashKey, endingHashKey: s.endingHashKey } : {}),
      });
      if (!ok) continue;
      created.push(s.shardId);
      for (const p of s.parentShardIds) {
        if (listed.has(p) || known.has(p)) await this.table.addChildShardIds(p, [s.shardId]);
      }
    }
    if (created.length > 0) this.log('info', `leases: created ${created.length} lease(s)`, { shards: created });
    return created;
  }

  /**
   * Mirrors a committed position into the lease (`checkpoint`), if this worker still holds it.
   * SHARD_END also releases the lease (a finished shard needs no worker) and lets the children's
   * leases be taken: a take pass follows at once.
   * @returns true when written; false when this worker does not hold the lease (nothing written)
   */
  async checkpoint(shardId: string, position: string): Promise<boolean> {
    const cp = checkpointOfPosition(position, shardId);
    if (!this.holds(shardId)) return false;
    const end = cp.checkpoint === SHARD_END;
    return this.serial(shardId, async () => {
      const h = this.held.get(shardId);
      if (h === undefined) return false;
      const ok = await this.table.updateCheckpoint(shardId, this.workerId, cp, { release: end });
      if (!ok) {
        // Read who holds it now, for the event (a failed read leaves the new owner unnamed).
        this.drop(shardId, 'stolen', await this.table.getLease(shardId).catch(() => undefined));
        return false;
      }
      const lease: Lease = { ...h.lease, checkpoint: cp.checkpoint, checkpointSubSequenceNumber: cp.subSequenceNumber, ownerSwitchesSinceCheckpoint: 0n };
      if (end) {
        this.observer.update({ ...lease, owner: undefined, counter: h.counter + 1n }, this.now());
        this.drop(shardId, 'ended');
        this.scheduleTake(0);
      } else {
        h.lease = lease;
      }
      return true;
    });
  }

  /** Stops holding a lease locally and tells the listeners. */
  private drop(shardId: string, reason: LeaseLossReason, current?: Lease): void {
    const h = this.held.get(shardId);
    if (h === undefined) return;
    clearTimeout(h.expiry);
    this.held.delete(shardId);
    if (current !== undefined) this.observer.update(current, this.now());
    this.emit({ type: 'lost', shardId, reason, ...(current?.owner !== undefined ? { newOwner: current.owner } : {}) });
  }

  /**
   * Releases leases this worker holds (after committing their records), so another worker takes
   * them at its next take pass instead of after the failover time.
   */
  async release(shardIds: readonly string[]): Promise<void> {
    await Promise.all(
      shardIds.map((id) =>
        this.serial(id, async () => {
          if (!this.held.has(id)) return;
          try {
            await this.table.evictLease(id, this.workerId);
          } finally {
            this.drop(id, 'released');
          }
        }),
      ),
    );
  }

  /** One renewal round over every held lease. */
  async renewPass(): Promise<void> {
    const started = this.now();
    await Promise.all(
      [...this.held.keys()].map((id) =>
        this.serial(id, async () => {
          const h = this.held.get(id);
          if (h === undefined) return;
          if (this.now() - h.renewedAt > this.failoverTimeMs) {
            this.drop(id, 'expired');
            return;
          }
          const sentAt = this.now();
          try {
            const r = await this.table.renewLease(id, this.workerId, h.counter);
            if (this.held.get(id) !== h) return;
            if (r.ok) {
              h.counter = r.counter;
              h.renewedAt = sentAt;
              h.lease = { ...h.lease, counter: r.counter };
              this.observer.update(h.lease, sentAt);
              this.arm(id, h);
            } else {
              this.drop(id, 'stolen', r.current);
            }
          } catch (e) {
            this.log('warn', `leases: renewing shard ${id} failed: ${(e as Error).message}`, { shardId: id });
            if (this.held.get(id) === h && this.now() - h.renewedAt > this.failoverTimeMs) this.drop(id, 'expired');
          }
        }),
      ),
    );
    const took = this.now() - started;
    if (took > this.failoverTimeMs / 2) this.log('warn', `leases: a renewal round took ${Math.round(took)} ms (failover time ${this.failoverTimeMs} ms)`, {});
  }

  /**
   * One take pass: scans the table, decides (see `lease-taker.ts`) and takes. Runs by itself every
   * takeIntervalMs; callable directly (tests, or right after new shards appeared).
   */
  takePass(): Promise<TakePassResult> {
    if (this.taking) return this.taking;
    const run = this.doTakePass().finally(() => {
      if (this.taking === run) this.taking = undefined;
    });
    this.taking = run;
    return run;
  }

  private async doTakePass(): Promise<TakePassResult> {
    await this.ensureReady();
    const leases = await this.table.listLeases();
    const scanEnd = this.now();
    this.observer.observe(leases, scanEnd);
    const plan = planTakes({
      workerId: this.workerId,
      leases: this.observer.leases(),
      now: scanEnd,
      failoverTimeMs: this.failoverTimeMs,
      ...(this.maxLeasesPerWorker !== undefined ? { maxLeasesPerWorker: this.maxLeasesPerWorker } : {}),
      maxLeasesToSteal: this.maxLeasesToSteal,
      random: this.random,
    });
    const gained: string[] = [];
    const wanted = [...plan.take, ...plan.steal];
    await Promise.all(
      wanted.map((lease) =>
        this.serial(lease.shardId, async () => {
          if (this.stopped || this.held.has(lease.shardId)) return;
          const sentAt = this.now();
          try {
            const r = await this.table.takeLease(lease.shardId, this.workerId, lease.counter, lease.owner);
            if (!r.ok) {
              this.log('debug', `leases: shard ${lease.shardId} was taken by ${r.current?.owner ?? 'nobody'} first`, { shardId: lease.shardId });
              if (r.current !== undefined) this.observer.update(r.current, this.now());
              return;
            }
            if (this.stopped) {
              // Stopped while the take was in flight: hand it straight back.
              await this.table.evictLease(lease.shardId, this.workerId);
              return;
            }
            const switched = lease.owner !== undefined && lease.owner !== this.workerId;
            const mine: Lease = {
              ...lease,
              owner: this.workerId,
              counter: r.counter,
              ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint + (switched ? 1n : 0n),
            };
            const h: Held = { lease: mine, counter: r.counter, renewedAt: sentAt };
            this.held.set(lease.shardId, h);
            this.arm(lease.shardId, h);
            this.observer.update(mine, sentAt);
            gained.push(lease.shardId);
            this.emit({ type: 'gained', shardId: lease.shardId, lease: mine, previousOwner: lease.owner });
          } catch (e) {
            this.log('warn', `leases: taking shard ${lease.shardId} failed: ${(e as Error).message}`, { shardId: lease.shardId });
          }
        }),
      ),
    );
    return { ...plan, gained: gained.sort() };
  }

  /**
   * Renewal rounds at a fixed rate (as the KCL's): a slow round is followed by the next one at
   * once rather than a whole interval later, which would eat into the failover time.
   */
  private scheduleRenew(delayMs = this.renewIntervalMs): void {
    if (this.stopped) return;
    this.renewTimer = setTimeout(() => {
      const started = this.now();
      this.renewing = this.renewPass()
        .catch((e: unknown) => this.log('warn', `leases: renewal round failed: ${(e as Error).message}`, {}))
        .finally(() => {
          this.renewing = undefined;
          this.scheduleRenew(Math.max(0, this.renewIntervalMs - (this.now() - started)));
        });
    }, delayMs);
  }

  /**
   * Drops a held lease the moment it expires here (failover time after its last successful
   * renewal was sent), so listeners hear of it then rather than at the next renewal round;
   * {@link holds} already answers false from that moment on.
   */
  private arm(shardId: string, h: Held): void {
    clearTimeout(h.expiry);
    const fire = (): void => {
      if (this.held.get(shardId) !== h) return;
      const left = h.renewedAt + this.failoverTimeMs - this.now();
      if (left < 0) this.drop(shardId, 'expired');
      else h.expiry = setTimeout(fire, left + 1);
    };
    h.expiry = setTimeout(fire, Math.max(0, h.renewedAt + this.failoverTimeMs - this.now()) + 1);
  }

  /** (Re)schedules the next take pass in `delayMs` (0: as soon as possible). */
  private scheduleTake(delayMs: number): void {
    if (this.stopped || !this.started) return;
    if (this.takeTimer) clearTimeout(this.takeTimer);
    this.takeTimer = setTimeout(() => {
      this.takeTimer = undefined;
      void this.takePass()
        .catch((e: unknown) => this.log('warn', `leases: take pass failed: ${(e as Error).message}`, {}))
        .finally(() => {
          if (this.takeTimer === undefined) this.scheduleTake(this.takeIntervalMs);
        });
    }, delayMs);
  }

  /**
   * Stops the loops. With `release` (the default: a graceful shutdown, after the last commit)
   * every held lease is released so other workers take it at once; without, the leases are left
   * to expire (as after a crash). Idempotent.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    if (this.takeTimer) clearTimeout(this.takeTimer);
    await Promise.allSettled([this.renewing, this.taking]);
    const ids = [...this.held.keys()];
    if (options.release === false) {
      for (const id of ids) this.drop(id, 'stopped');
      return;
    }
    const results = await Promise.allSettled([this.release(ids)]);
    for (const r of results) if (r.status === 'rejected') this.log('warn', `leases: releasing leases failed: ${(r.reason as Error).message}`, {});
  }
}

/** What {@link LeaseCoordinator.takePass} did: its plan, and the shards it took. */
export interface TakePassResult extends TakePlan {
  gained: string[];
}
