/**
 * The take rules as pure functions: expiry on the local clock, the target, taking before
 * stealing, stealing one lease from the most loaded worker, parents before children.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease } from '../../src/source/kinesis/leases/lease.js';
import { LeaseObserver, planTakes, type ObservedLease } from '../../src/source/kinesis/leases/lease-taker.js';

const lease = (shardId: string, owner: string | undefined, counter = 1n, extra: Partial<Lease> = {}): Lease => ({
  shardId,
  owner,
  counter,
  checkpoint: 'TRIM_HORIZON',
  checkpointSubSequenceNumber: 0n,
  ownerSwitchesSinceCheckpoint: 0n,
  parentShardIds: [],
  childShardIds: [],
  ...extra,
});

/** Leases observed as freshly renewed at `at` (unowned ones available at once). */
function observed(leases: Lease[], at = 1000): Map<string, ObservedLease> {
  const o = new LeaseObserver();
  o.observe(leases, at);
  return new Map(o.leases());
}

const owners = (spec: Record<string, number>, unowned = 0): Lease[] => {
  const out: Lease[] = [];
  let i = 0;
  for (const [owner, n] of Object.entries(spec)) for (let k = 0; k < n; k++) out.push(lease(`s${String(i++).padStart(2, '0')}`, owner));
  for (let k = 0; k < unowned; k++) out.push(lease(`s${String(i++).padStart(2, '0')}`, undefined));
  return out;
};

describe('expiry on the local clock', () => {
  it('a counter unchanged for the failover time expires; one that moved does not', () => {
    const o = new LeaseObserver();
    o.observe([lease('a', 'w1', 5n), lease('b', 'w1', 5n)], 0);
    o.observe([lease('a', 'w1', 5n), lease('b', 'w1', 6n)], 900);
    const plan = planTakes({ workerId: 'me', leases: o.leases(), now: 1001, failoverTimeMs: 1000 });
    assert.deepEqual(plan.take.map((l) => l.shardId), ['a'], 'a: unchanged since 0; b: changed at 900');
    const before = planTakes({ workerId: 'me', leases: o.leases(), now: 1000, failoverTimeMs: 1000 });
    assert.deepEqual(before.take, [], 'exactly the failover time is not yet expired');
  });

  it('an owned lease seen for the first time counts as just renewed, an unowned one as available', () => {
    const leases = observed([lease('a', 'w1'), lease('b', undefined)], 5000);
    const plan = planTakes({ workerId: 'me', leases, now: 5000 + 10 ** 6, failoverTimeMs: 10 ** 7 });
    assert.deepEqual(plan.take.map((l) => l.shardId), ['b']);
  });
});

describe('target and taking', () => {
  it('alone: takes every available lease', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({}, 8)), now: 1000, failoverTimeMs: 100 });
    assert.equal(plan.target, 8);
    assert.equal(plan.take.length, 8);
  });

  it('target is ceil(workable / live workers); takes only up to it', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({ w1: 2, w2: 1 }, 5)), now: 1000, failoverTimeMs: 100 });
    assert.equal(plan.workers, 3, 'w1, w2 and me');
    assert.equal(plan.target, 3);
    assert.equal(plan.take.length, 3);
    assert.deepEqual(plan.steal, []);
  });

  it('maxLeasesPerWorker caps the target', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({}, 8)), now: 1000, failoverTimeMs: 100, maxLeasesPerWorker: 2 });
    assert.equal(plan.target, 2);
    assert.equal(plan.take.length, 2);
  });

  it('at target: takes nothing, even with leases available', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({ me: 4, w1: 3 }, 1)), now: 1000, failoverTimeMs: 100 });
    assert.equal(plan.target, 4);
    assert.deepEqual(plan.take, []);
  });
});

describe('stealing', () => {
  it('steals one lease per pass from the most loaded worker when nothing is available', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({ w1: 6, w2: 2 })), now: 1000, failoverTimeMs: 100 });
    assert.equal(plan.target, 3);
    assert.deepEqual(plan.take, []);
    assert.equal(plan.steal.length, 1);
    assert.equal(plan.victim, 'w1');
    assert.equal(plan.steal[0]?.owner, 'w1');
  });

  it('never steals when the most loaded worker holds the target and one lease is missing (no ping-pong)', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({ w1: 3, w2: 3, me: 2 })), now: 1000, failoverTimeMs: 100 });
    assert.deepEqual(plan.steal, []);
  });

  it('steals one when the most loaded worker holds exactly the target and more than one is missing', () => {
    const plan = planTakes({ workerId: 'me', leases: observed(owners({ w1: 2, w2: 2 })), now: 1000, failoverTimeMs: 100 });
    assert.equal(plan.target, 2);
    assert.equal(plan.steal.length, 1);
  });

  it('expired leases are taken before anything is stolen', () => {
    const o = new LeaseObserver();
    o.observe([...owners({ w1: 6 }), lease('dead', 'w9', 7n)], 0);
    o.observe([...owners({ w1: 6 }).map((l) => ({ ...l, counter: 2n })), lease('dead', 'w9', 7n)], 500);
    const plan = planTakes({ workerId: 'me', leases: o.leases(), now: 600, failoverTimeMs: 400 });
    assert.deepEqual(plan.take.map((l) => l.shardId), ['dead']);
    assert.deepEqual(plan.steal, []);
    assert.equal(plan.workers, 2, 'w9 owns only an expired lease: not a live worker');
  });

  it('converges to 4/4 and 3/3/2 when workers steal in turns', () => {
    for (const n of [2, 3]) {
      const workers = ['a', 'b', 'c'].slice(0, n);
      // Worker a holds all 8; the others steal, in turns, until no one takes anything.
      const state = new Map(owners({ a: 8 }).map((l) => [l.shardId, l]));
      let seed = 1;
      const random = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      for (let round = 0; round < 20; round++) {
        let moved = 0;
        for (const w of workers) {
          const plan = planTakes({ workerId: w, leases: observed([...state.values()]), now: 1000, failoverTimeMs: 100, random });
          for (const l of [...plan.take, ...plan.steal]) {
            state.set(l.shardId, { ...l, owner: w });
            moved++;
          }
        }
        if (moved === 0) break;
      }
      const counts = workers.map((w) => [...state.values()].filter((l) => l.owner === w).length).sort();
      assert.deepEqual(counts, n === 2 ? [4, 4] : [2, 3, 3]);
    }
  });
});

describe('parents before children', () => {
  it('a child is not workable while a parent lease is not at SHARD_END', () => {
    const leases = observed([lease('p', 'w1'), lease('c1', undefined, 0n, { parentShardIds: ['p'] }), lease('c2', undefined, 0n, { parentShardIds: ['p'] })]);
    const plan = planTakes({ workerId: 'me', leases, now: 1000, failoverTimeMs: 100 });
    assert.equal(plan.workable, 1);
    assert.deepEqual(plan.take, []);
  });

  it('once every parent is at SHARD_END (or has no lease) the child is taken; finished leases are never taken', () => {
    const leases = observed([
      lease('p1', undefined, 3n, { checkpoint: 'SHARD_END' }),
      lease('p2', undefined, 3n, { checkpoint: 'SHARD_END' }),
      lease('merged', undefined, 0n, { parentShardIds: ['p1', 'p2'] }),
      lease('orphan', undefined, 0n, { parentShardIds: ['trimmed-away'] }),
      lease('half', undefined, 0n, { parentShardIds: ['p1', 'open'] }),
      lease('open', 'w1', 2n),
    ]);
    const plan = planTakes({ workerId: 'me', leases, now: 1000, failoverTimeMs: 100 });
    assert.deepEqual(plan.take.map((l) => l.shardId).sort(), ['merged', 'orphan']);
  });
});
