/**
 * KPL record aggregation: many user records packed into one Kinesis record.
 *
 * Layout: magic `F3 89 9A C2`, a protobuf `AggregatedRecord`, then the 16-byte MD5 of the protobuf
 * bytes.
 *
 *     message AggregatedRecord {
 *       repeated string partition_key_table     = 1;
 *       repeated string explicit_hash_key_table = 2;
 *       repeated Record records                 = 3;
 *     }
 *     message Record {
 *       required uint64 partition_key_index     = 1;
 *       optional uint64 explicit_hash_key_index = 2;
 *       required bytes  data                    = 3;
 *       repeated Tag    tags                    = 4;   // Tag { required string key = 1; optional string value = 2; }
 *     }
 *
 * Like the KCL, a record whose magic matches but whose checksum or protobuf is wrong is handed on
 * as one plain record: its producer may simply have sent bytes that happen to start with the magic.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '../../errors.js';
import { ProtoReader, ProtoWriter, WIRE_LENGTH_DELIMITED, WIRE_VARINT } from './protobuf.js';

/** The four bytes every aggregated record starts with. */
export const KPL_MAGIC: Uint8Array = Uint8Array.of(0xf3, 0x89, 0x9a, 0xc2);
const MD5_LENGTH = 16;

/** One user record inside (or destined for) an aggregate. */
export interface UserRecord {
  partitionKey: string;
  /** Decimal 128-bit hash key overriding the partition key's hash, when the producer set one. */
  explicitHashKey?: string;
  data: Uint8Array;
}

/** Outcome of {@link deaggregate}. */
export type DeaggregateResult =
  | { aggregated: true; records: UserRecord[] }
  /** `reason` is set when the magic matched but the rest did not (checksum, protobuf). */
  | { aggregated: false; reason?: string };

/** True when `data` starts with the KPL magic (the checksum is not verified). */
export function hasKplMagic(data: Uint8Array): boolean {
  if (data.length < KPL_MAGIC.length) return false;
  for (let i = 0; i < KPL_MAGIC.length; i++) if (data[i] !== KPL_MAGIC[i]) return false;
  return true;
}

function md5(bytes: Uint8Array): Uint8Array {
  return createHash('md5').update(bytes).digest();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function expectWire(fieldWire: number, want: number, what: string): void {
  if (fieldWire !== want) throw new ValidationError(`kpl: ${what} has wire type ${fieldWire}, expected ${want}`);
}

/** Parses the protobuf body; throws ValidationError when it is not a valid AggregatedRecord. */
function parseAggregatedRecord(body: Uint8Array): UserRecord[] {
  const partitionKeys: string[] = [];
  const hashKeys: string[] = [];
  const raw: { pk: number; ehk: number | undefined; data: Uint8Array }[] = [];
  const top = new ProtoReader(body);
  while (!top.done) {
    const f = top.next();
    if (f.field === 1 || f.field === 2) {
      expectWire(f.wireType, WIRE_LENGTH_DELIMITED, f.field === 1 ? 'partition_key_table' : 'explicit_hash_key_table');
      (f.field === 1 ? partitionKeys : hashKeys).push(utf8.decode(f.value as Uint8Array));
    } else if (f.field === 3) {
      expectWire(f.wireType, WIRE_LENGTH_DELIMITED, 'records');
      const r = new ProtoReader(f.value as Uint8Array);
      let pk: number | undefined;
      let ehk: number | undefined;
      let data: Uint8Array | undefined;
      while (!r.done) {
        const g = r.next();
        if (g.field === 1) {
          expectWire(g.wireType, WIRE_VARINT, 'partition_key_index');
          pk = g.value as number;
        } else if (g.field === 2) {
          expectWire(g.wireType, WIRE_VARINT, 'explicit_hash_key_index');
          ehk = g.value as number;
        } else if (g.field === 3) {
          expectWire(g.wireType, WIRE_LENGTH_DELIMITED, 'data');
          data = g.value as Uint8Array;
        }
        // Field 4 (tags) and unknown fields are skipped: nothing downstream uses them.
      }
      if (pk === undefined) throw new ValidationError('kpl: record without partition_key_index');
      if (data === undefined) throw new ValidationError('kpl: record without data');
      raw.push({ pk, ehk, data });
    }
    // Unknown top-level fields are skipped, as protobuf parsers do.
  }
  return raw.map((r, i) => {
    const partitionKey = partitionKeys[r.pk];
    if (partitionKey === undefined) {
      throw new ValidationError(`kpl: record ${i} has partition_key_index ${r.pk} outside the table (${partitionKeys.length})`);
    }
    const out: UserRecord = { partitionKey, data: r.data };
    if (r.ehk !== undefined) {
      const ehk = hashKeys[r.ehk];
      if (ehk === undefined) {
        throw new ValidationError(`kpl: record ${i} has explicit_hash_key_index ${r.ehk} outside the table (${hashKeys.length})`);
      }
      out.explicitHashKey = ehk;
    }
    return out;
  });
}

/**
 * Splits a Kinesis record into its user records when it is a valid KPL aggregate. The returned
 * `data` arrays are views into `data` (no copy).
 */
export function deaggregate(data: Uint8Array): DeaggregateResult {
  if (!hasKplMagic(data)) return { aggregated: false };
  if (data.length < KPL_MAGIC.length + MD5_LENGTH) {
    return { aggregated: false, reason: 'kpl: record too short for an aggregate' };
  }
  const body = data.subarray(KPL_MAGIC.length, data.length - MD5_LENGTH);
  const digest = data.subarray(data.length - MD5_LENGTH);
  const actual = md5(body);
  for (let i = 0; i < MD5_LENGTH; i++) {
    if (actual[i] !== digest[i]) return { aggregated: false, reason: 'kpl: MD5 checksum mismatch' };
  }
  try {
    return { aggregated: true, records: parseAggregatedRecord(body) };
  } catch (e) {
    return { aggregated: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Packs user records into one KPL aggregate (magic + protobuf + MD5). Partition keys and explicit
 * hash keys are deduplicated into their tables as the KPL does. The caller puts the result with
 * the first record's partition key (and explicit hash key), which decides its shard.
 */
export function aggregate(records: readonly UserRecord[]): Uint8Array {
  if (records.length === 0) throw new ValidationError('kpl: cannot aggregate zero records');
  const pkIndex = new Map<string, number>();
  const ehkIndex = new Map<string, number>();
  const w = new ProtoWriter();
  const inner: Uint8Array[] = [];
  for (const r of records) {
    let pk = pkIndex.get(r.partitionKey);
    if (pk === undefined) {
      pk = pkIndex.size;
      pkIndex.set(r.partitionKey, pk);
    }
    const rec = new ProtoWriter().uint(1, pk);
    if (r.explicitHashKey !== undefined) {
      let ehk = ehkIndex.get(r.explicitHashKey);
      if (ehk === undefined) {
        ehk = ehkIndex.size;
        ehkIndex.set(r.explicitHashKey, ehk);
      }
      rec.uint(2, ehk);
    }
    rec.bytes(3, r.data);
    inner.push(rec.finish());
  }
  for (const k of pkIndex.keys()) w.string(1, k);
  for (const k of ehkIndex.keys()) w.string(2, k);
  for (const rec of inner) w.bytes(3, rec);
  const body = w.finish();
  const out = new Uint8Array(KPL_MAGIC.length + body.length + MD5_LENGTH);
  out.set(KPL_MAGIC, 0);
  out.set(body, KPL_MAGIC.length);
  out.set(md5(body), KPL_MAGIC.length + body.length);
  return out;
}
