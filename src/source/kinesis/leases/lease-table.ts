/**
 * The DynamoDB lease table of one application: creation, reads, and the conditional writes that
 * make a lease belong to one worker at a time.
 *
 * Every write that changes who holds a lease is conditional on `leaseCounter` (take) or on
 * `leaseOwner` and `leaseCounter` (renew), as the KCL's: of two workers writing against the same
 * counter, exactly one wins; the other gets ConditionalCheckFailedException. Because the SDK retries
 * a request whose answer was lost, a failed condition can also mean "our own first attempt landed":
 * after every failed condition the item is read again (consistently) and a lease found in our
 * hands counts as won.
 */
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { FloeError } from '../../../errors.js';
import { sleep } from '../../../retry.js';
import { describeDynamoError, isRetriableDynamoError } from './dynamodb-client.js';
import { checkLeaseTableName, LEASE_ATTR, leaseFromItem, newLeaseItem, type Lease, type LeaseCheckpoint, type NewLease } from './lease.js';

/** The outcome of a conditional write on a lease. */
export type LeaseWrite =
  /** Written (or found already in our hands): the lease's counter now. */
  | { ok: true; counter: bigint }
  /** The condition failed: the lease as it is now (undefined when it no longer exists). */
  | { ok: false; current: Lease | undefined };

/** Options of {@link LeaseTable}. */
export interface LeaseTableOptions {
  client: DynamoDBClient;
  /** The table name: the application name (`source.application`), as the KCL names it. */
  tableName: string;
}

const CONDITION_FAILED = 'ConditionalCheckFailedException';
const isConditionFailed = (e: unknown): boolean => (e as { name?: unknown } | null)?.name === CONDITION_FAILED;
const num = (n: bigint): AttributeValue => ({ N: n.toString() });

/** One application's lease table. See the module comment. */
export class LeaseTable {
  readonly tableName: string;
  private readonly client: DynamoDBClient;

  constructor(options: LeaseTableOptions) {
    checkLeaseTableName(options.tableName, 'leases: table name');
    this.client = options.client;
    this.tableName = options.tableName;
  }

  private fail(op: string, e: unknown): FloeError {
    return new FloeError('LEASE_TABLE', `leases: ${op} on table ${this.tableName} failed: ${describeDynamoError(e)}`, {
      cause: e,
      retriable: isRetriableDynamoError(e),
    });
  }

  private async describe(): Promise<TableDescription | undefined> {
    try {
      const res = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      return res.Table;
    } catch (e) {
      if ((e as { name?: unknown }).name === 'ResourceNotFoundException') return undefined;
      throw this.fail('DescribeTable', e);
    }
  }

  /**
   * Creates the table when missing (hash key `leaseKey` of type S, on-demand billing, as the KCL
   * creates it) and waits until it is ACTIVE. Several workers may call it at once.
   * @returns true when this call created the table
   * @throws FloeError (LEASE_TABLE) when the table exists with another key, or is not ACTIVE in time
   */
  async ensureTable(options: { timeoutMs?: number; pollMs?: number } = {}): Promise<boolean> {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    let created = false;
    let table = await this.describe();
    if (table === undefined) {
      try {
        await this.client.send(
          new CreateTableCommand({
            TableName: this.tableName,
            AttributeDefinitions: [{ AttributeName: LEASE_ATTR.leaseKey, AttributeType: 'S' }],
            KeySchema: [{ AttributeName: LEASE_ATTR.leaseKey, KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
        created = true;
      } catch (e) {
        // Another worker created it first: wait for it like for ours.
        if ((e as { name?: unknown }).name !== 'ResourceInUseException') throw this.fail('CreateTable', e);
      }
      table = await this.describe();
    }
    for (;;) {
      if (table !== undefined) {
        const key = table.KeySchema ?? [];
        const attr = table.AttributeDefinitions?.find((a) => a.AttributeName === LEASE_ATTR.leaseKey);
        if (key.length !== 1 || key[0]?.AttributeName !== LEASE_ATTR.leaseKey || key[0]?.KeyType !== 'HASH' || attr?.AttributeType !== 'S') {
          throw new FloeError(
            'LEASE_TABLE',
            `leases: table ${this.tableName} exists but is not a lease table (its key must be the string hash key leaseKey); choose another source.application`,
          );
        }
        if (table.TableStatus === 'ACTIVE') return created;
      }
      if (Date.now() >= deadline) {
        throw new FloeError('LEASE_TABLE', `leases: table ${this.tableName} is not ACTIVE after waiting (status ${table?.TableStatus ?? 'missing'})`, {
          retriable: true,
        });
      }
      await sleep(options.pollMs ?? 250);
      table = await this.describe();
    }
  }

  /** Every lease, read consistently (all pages of a Scan). */
  async listLeases(): Promise<Lease[]> {
    const out: Lease[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      let res;
      try {
        res = await this.client.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ...(start ? { ExclusiveStartKey: start } : {}) }));
      } catch (e) {
        throw this.fail('Scan', e);
      }
      for (const item of res.Items ?? []) out.push(leaseFromItem(item));
      start = res.LastEvaluatedKey && Object.keys(res.LastEvaluatedKey).length > 0 ? res.LastEvaluatedKey : undefined;
    } while (start !== undefined);
    return out;
  }

  /** One lease, read consistently; undefined when it does not exist. */
  async getLease(shardId: string): Promise<Lease | undefined> {
    try {
      const res = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [LEASE_ATTR.leaseKey]: { S: shardId } }, ConsistentRead: true }),
      );
      return res.Item ? leaseFromItem(res.Item) : undefined;
    } catch (e) {
      throw this.fail('GetItem', e);
    }
  }

  /**
   * Creates the lease of a shard unless it exists (`attribute_not_exists(leaseKey)`).
   * @returns true when this call created it
   */
  async createLease(lease: NewLease): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: newLeaseItem(lease), ConditionExpression: 'attribute_not_exists(#k)', ExpressionAttributeNames: { '#k': LEASE_ATTR.leaseKey } }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw this.fail('PutItem', e);
    }
  }

  /** Runs a conditional update; on a failed condition reads the lease and lets `mine` judge it. */
  private async conditional(op: string, shardId: string, input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName' | 'Key'>, next: bigint, owner: string | undefined): Promise<LeaseWrite> {
    try {
      await this.client.send(new UpdateItemCommand({ TableName: this.tableName, Key: { [LEASE_ATTR.leaseKey]: { S: shardId } }, ...input }));
      return { ok: true, counter: next };
    } catch (e) {
      if (!isConditionFailed(e)) throw this.fail(op, e);
    }
    const current = await this.getLease(shardId);
    // Our own earlier attempt landed (the SDK retried a request whose answer was lost).
    if (owner !== undefined && current !== undefined && current.owner === owner) return { ok: true, counter: current.counter };
    return { ok: false, current };
  }

  /**
   * Renews a lease this worker holds: `leaseCounter` + 1, if the counter is still `counter` and the
   * owner still `owner`. A lease found still ours with another counter is adopted (the KCL's rule).
   */
  renewLease(shardId: string, owner: string, counter: bigint): Promise<LeaseWrite> {
    return this.conditional(
      'UpdateItem (renew)',
      shardId,
      {
        UpdateExpression: 'SET #c = :next',
        ConditionExpression: '#c = :c AND #o = :o',
        ExpressionAttributeNames: { '#c': LEASE_ATTR.leaseCounter, '#o': LEASE_ATTR.leaseOwner },
        ExpressionAttributeValues: { ':c': num(counter), ':next': num(counter + 1n), ':o': { S: owner } },
      },
      counter + 1n,
      owner,
    );
  }

  /**
   * Takes a lease (expired, released or stolen): owner := `owner`, counter + 1, if the counter is
   * still the `counter` this worker observed. Counts an owner switch when it had another owner.
   */
  takeLease(shardId: string, owner: string, counter: bigint, previousOwner: string | undefined): Promise<LeaseWrite> {
    const switched = previousOwner !== undefined && previousOwner !== owner;
    return this.conditional(
      'UpdateItem (take)',
      shardId,
      {
        UpdateExpression: `SET #c = :next, #o = :o${switched ? ' ADD #s :one' : ''}`,
        ConditionExpression: '#c = :c',
        ExpressionAttributeNames: { '#c': LEASE_ATTR.leaseCounter, '#o': LEASE_ATTR.leaseOwner, ...(switched ? { '#s': LEASE_ATTR.ownerSwitchesSinceCheckpoint } : {}) },
        ExpressionAttributeValues: { ':c': num(counter), ':next': num(counter + 1n), ':o': { S: owner }, ...(switched ? { ':one': num(1n) } : {}) },
      },
      counter + 1n,
      owner,
    );
  }

  /**
   * Releases a lease this worker holds (graceful shutdown): removes `leaseOwner` and bumps the
   * counter, if `owner` still holds it. An unowned lease is taken by the next worker at once.
   * @returns true when this call released it; false when it was not `owner`'s anymore
   */
  async evictLease(shardId: string, owner: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEASE_ATTR.leaseKey]: { S: shardId } },
          UpdateExpression: 'REMOVE #o SET #c = #c + :one',
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: { '#o': LEASE_ATTR.leaseOwner, '#c': LEASE_ATTR.leaseCounter },
          ExpressionAttributeValues: { ':o': { S: owner }, ':one': num(1n) },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw this.fail('UpdateItem (release)', e);
    }
  }

  /**
   * Writes a checkpoint (a mirror of the Iceberg table's position), if `owner` still holds the
   * lease, and resets `ownerSwitchesSinceCheckpoint`. With `release`, the same write also releases
   * the lease (a shard at SHARD_END needs no worker).
   * @returns true when written; false when `owner` does not hold the lease
   */
  async updateCheckpoint(shardId: string, owner: string, cp: LeaseCheckpoint, options: { release?: boolean } = {}): Promise<boolean> {
    const release = options.release === true;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEASE_ATTR.leaseKey]: { S: shardId } },
          UpdateExpression: `SET #cp = :cp, #sub = :sub, #sw = :zero${release ? ', #c = #c + :one REMOVE #o' : ''}`,
          ConditionExpression: '#o = :o',
          ExpressionAttributeNames: {
            '#cp': LEASE_ATTR.checkpoint,
            '#sub': LEASE_ATTR.checkpointSubSequenceNumber,
            '#sw': LEASE_ATTR.ownerSwitchesSinceCheckpoint,
            '#o': LEASE_ATTR.leaseOwner,
            ...(release ? { '#c': LEASE_ATTR.leaseCounter } : {}),
          },
          ExpressionAttributeValues: {
            ':cp': { S: cp.checkpoint },
            ':sub': num(cp.subSequenceNumber),
            ':zero': num(0n),
            ':o': { S: owner },
            ...(release ? { ':one': num(1n) } : {}),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw this.fail('UpdateItem (checkpoint)', e);
    }
  }

  /**
   * Adds child shard ids to a parent's lease (`childShardIds`), if the parent's lease exists.
   * @returns false when there is no lease for `shardId`
   */
  async addChildShardIds(shardId: string, children: string[]): Promise<boolean> {
    if (children.length === 0) return true;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [LEASE_ATTR.leaseKey]: { S: shardId } },
          UpdateExpression: 'ADD #ch :ch',
          ConditionExpression: 'attribute_exists(#k)',
          ExpressionAttributeNames: { '#ch': LEASE_ATTR.childShardIds, '#k': LEASE_ATTR.leaseKey },
          ExpressionAttributeValues: { ':ch': { SS: [...new Set(children)] } },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailed(e)) return false;
      throw this.fail('UpdateItem (children)', e);
    }
  }

  /** Deletes a lease (cleanup of a finished shard). */
  async deleteLease(shardId: string): Promise<void> {
    try {
      await this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: { [LEASE_ATTR.leaseKey]: { S: shardId } } }));
    } catch (e) {
      throw this.fail('DeleteItem', e);
    }
  }
}
