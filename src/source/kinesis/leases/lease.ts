/**
 * A shard lease as the Kinesis Client Library 2.x stores it in DynamoDB, and its (de)serialization.
 *
 * The item layout is the KCL's (`DynamoDBLeaseSerializer`), so the tools people use to inspect KCL
 * applications read floe's lease table as they read a KCL one:
 *
 * | attribute | type | meaning |
 * |---|---|---|
 * | `leaseKey` | S (hash key) | the shard id |
 * | `leaseOwner` | S | the worker holding the lease; absent when nobody does |
 * | `leaseCounter` | N | bumped by every renewal and take: a lease whose counter stops moving for the failover time is expired |
 * | `checkpoint` | S | `TRIM_HORIZON`, `LATEST`, `AT_TIMESTAMP`, `SHARD_END` or a sequence number |
 * | `checkpointSubSequenceNumber` | N | the sub-record inside a KPL aggregate (0 otherwise) |
 * | `ownerSwitchesSinceCheckpoint` | N | owner changes since the last checkpoint |
 * | `parentShardId` | SS | the shard's parents (absent when none) |
 * | `childShardIds` | SS | the shard's children, once known (absent when none) |
 * | `startingHashKey`, `endingHashKey` | S | the shard's hash key range (decimal) |
 *
 * In floe the Iceberg table holds the positions; `checkpoint` mirrors it after each commit, for
 * tooling and for one decision only: a child shard is taken once every parent's checkpoint is
 * `SHARD_END` (written after that end was committed to the table).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { FloeError, ValidationError } from '../../../errors.js';
import { SHARD_END } from '../../source.js';
import { parseKinesisPosition } from '../position.js';

/** The attribute names of the KCL lease item. */
export const LEASE_ATTR = {
  leaseKey: 'leaseKey',
  leaseOwner: 'leaseOwner',
  leaseCounter: 'leaseCounter',
  checkpoint: 'checkpoint',
  checkpointSubSequenceNumber: 'checkpointSubSequenceNumber',
  ownerSwitchesSinceCheckpoint: 'ownerSwitchesSinceCheckpoint',
  parentShardId: 'parentShardId',
  childShardIds: 'childShardIds',
  startingHashKey: 'startingHashKey',
  endingHashKey: 'endingHashKey',
} as const;

/** The checkpoint sentinels the KCL writes instead of a sequence number. */
export type CheckpointSentinel = 'TRIM_HORIZON' | 'LATEST' | 'AT_TIMESTAMP' | typeof SHARD_END;

/** One lease item. */
export interface Lease {
  /** The shard id (`leaseKey`). */
  shardId: string;
  /** The worker holding it; undefined when nobody does (new, released or finished). */
  owner: string | undefined;
  /** `leaseCounter`: changes with every renewal, take and release. */
  counter: bigint;
  /** A sentinel or a decimal sequence number. */
  checkpoint: string;
  /** Sub-record of the KPL aggregate at `checkpoint` (0 when not inside an aggregate). */
  checkpointSubSequenceNumber: bigint;
  ownerSwitchesSinceCheckpoint: bigint;
  /** Parent shard ids (`parentShardId`), empty when none. */
  parentShardIds: string[];
  /** Child shard ids (`childShardIds`), empty until known. */
  childShardIds: string[];
  startingHashKey?: string;
  endingHashKey?: string;
}

/** What a new lease needs: a shard as ListShards describes it, and where it starts. */
export interface NewLease {
  shardId: string;
  parentShardIds: string[];
  startingHashKey?: string;
  endingHashKey?: string;
  /** The initial checkpoint (the KCL writes the initial position; children get TRIM_HORIZON). */
  checkpoint: CheckpointSentinel;
}

/** True when the lease's shard was read to its end and that end is committed. */
export function isFinished(lease: Lease): boolean {
  return lease.checkpoint === SHARD_END;
}

const str = (s: string): AttributeValue => ({ S: s });
const num = (n: bigint): AttributeValue => ({ N: n.toString() });

/** The item of a new lease, unowned, counter 0 (the KCL's layout; empty sets are left out). */
export function newLeaseItem(lease: NewLease): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    [LEASE_ATTR.leaseKey]: str(lease.shardId),
    [LEASE_ATTR.leaseCounter]: num(0n),
    [LEASE_ATTR.checkpoint]: str(lease.checkpoint),
    [LEASE_ATTR.checkpointSubSequenceNumber]: num(0n),
    [LEASE_ATTR.ownerSwitchesSinceCheckpoint]: num(0n),
  };
  // DynamoDB refuses empty sets: a shard without parents has no parentShardId attribute.
  if (lease.parentShardIds.length > 0) item[LEASE_ATTR.parentShardId] = { SS: [...new Set(lease.parentShardIds)] };
  if (lease.startingHashKey !== undefined && lease.endingHashKey !== undefined) {
    item[LEASE_ATTR.startingHashKey] = str(lease.startingHashKey);
    item[LEASE_ATTR.endingHashKey] = str(lease.endingHashKey);
  }
  return item;
}

function readString(item: Record<string, AttributeValue>, key: string, where: string): string | undefined {
  const v = item[key];
  if (v === undefined || v.NULL === true) return undefined;
  if (typeof v.S !== 'string') throw new FloeError('LEASE_TABLE', `leases: ${where}: attribute ${key} is not a string`);
  return v.S;
}

function readNumber(item: Record<string, AttributeValue>, key: string, where: string): bigint | undefined {
  const v = item[key];
  if (v === undefined || v.NULL === true) return undefined;
  if (typeof v.N !== 'string' || !/^-?\d+$/.test(v.N)) throw new FloeError('LEASE_TABLE', `leases: ${where}: attribute ${key} is not an integer`);
  return BigInt(v.N);
}

function readSet(item: Record<string, AttributeValue>, key: string, where: string): string[] {
  const v = item[key];
  if (v === undefined || v.NULL === true) return [];
  if (!Array.isArray(v.SS)) throw new FloeError('LEASE_TABLE', `leases: ${where}: attribute ${key} is not a string set`);
  return [...v.SS].sort();
}

/**
 * Reads a lease item. Missing numbers read as 0 and a missing checkpoint as TRIM_HORIZON, as the
 * KCL reads them; attributes of later KCL versions are ignored.
 * @throws FloeError (LEASE_TABLE) when an attribute has the wrong type
 */
export function leaseFromItem(item: Record<string, AttributeValue>): Lease {
  const shardId = readString(item, LEASE_ATTR.leaseKey, 'lease item');
  if (shardId === undefined) throw new FloeError('LEASE_TABLE', 'leases: lease item without leaseKey');
  const where = `lease ${shardId}`;
  const lease: Lease = {
    shardId,
    owner: readString(item, LEASE_ATTR.leaseOwner, where),
    counter: readNumber(item, LEASE_ATTR.leaseCounter, where) ?? 0n,
    checkpoint: readString(item, LEASE_ATTR.checkpoint, where) ?? 'TRIM_HORIZON',
    checkpointSubSequenceNumber: readNumber(item, LEASE_ATTR.checkpointSubSequenceNumber, where) ?? 0n,
    ownerSwitchesSinceCheckpoint: readNumber(item, LEASE_ATTR.ownerSwitchesSinceCheckpoint, where) ?? 0n,
    parentShardIds: readSet(item, LEASE_ATTR.parentShardId, where),
    childShardIds: readSet(item, LEASE_ATTR.childShardIds, where),
  };
  const start = readString(item, LEASE_ATTR.startingHashKey, where);
  const end = readString(item, LEASE_ATTR.endingHashKey, where);
  if (start !== undefined) lease.startingHashKey = start;
  if (end !== undefined) lease.endingHashKey = end;
  return lease;
}

/** A lease checkpoint: the `checkpoint` and `checkpointSubSequenceNumber` attributes. */
export interface LeaseCheckpoint {
  checkpoint: string;
  subSequenceNumber: bigint;
}

/**
 * The lease checkpoint of a floe position (`<seq>`, `<seq>:<sub>` or SHARD_END). `<seq>` (the whole
 * record consumed) and `<seq>:0` both become sub-sequence 0: the mirror is for tooling, floe reads
 * only SHARD_END back.
 * @throws ValidationError on a malformed position
 */
export function checkpointOfPosition(position: string, shardId: string): LeaseCheckpoint {
  const p = parseKinesisPosition(position, `checkpoint of shard ${shardId}`);
  if (p === SHARD_END) return { checkpoint: SHARD_END, subSequenceNumber: 0n };
  return { checkpoint: p.sequenceNumber, subSequenceNumber: BigInt(p.subSequence ?? 0) };
}

/** DynamoDB table names: 3 to 255 of `a-z A-Z 0-9 _ - .`. */
export function checkLeaseTableName(name: string, where: string): void {
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(name)) {
    throw new ValidationError(`${where}: '${name}' cannot name a DynamoDB table (3 to 255 characters of a-z, A-Z, 0-9, _, -, .)`);
  }
}
