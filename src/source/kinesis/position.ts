/**
 * Kinesis positions as strings: `<sequenceNumber>` for a plain record (or the last sub-record of a
 * KPL aggregate: the whole Kinesis record is consumed), `<sequenceNumber>:<subSequence>` for a
 * sub-record of an aggregate that is not its last one, or SHARD_END.
 *
 * Why the last sub-record gets the bare sequence number: a position always means "consumed up to
 * here", so resuming after it is a plain AFTER_SEQUENCE_NUMBER and never re-reads the aggregate.
 * Only a position inside an aggregate needs AT_SEQUENCE_NUMBER plus skipping the sub-records
 * already consumed.
 */
import { ValidationError } from '../../errors.js';
import { SHARD_END } from '../source.js';

/** A parsed Kinesis position (not SHARD_END). */
export interface KinesisPosition {
  /** Decimal sequence number as Kinesis returns it (up to 128 digits). */
  sequenceNumber: string;
  /**
   * Index of the last consumed sub-record of the aggregate at `sequenceNumber`; undefined when the
   * whole Kinesis record is consumed.
   */
  subSequence?: number;
}

const SEQUENCE_RE = /^(0|[1-9]\d{0,127})$/;
const SUB_RE = /^(0|[1-9]\d{0,8})$/;

/** Formats a position; `subSequence` undefined means the whole record at `sequenceNumber`. */
export function formatKinesisPosition(p: KinesisPosition): string {
  if (!SEQUENCE_RE.test(p.sequenceNumber)) {
    throw new ValidationError(`kinesis: invalid sequence number "${p.sequenceNumber}"`);
  }
  if (p.subSequence === undefined) return p.sequenceNumber;
  if (!Number.isSafeInteger(p.subSequence) || p.subSequence < 0) {
    throw new ValidationError(`kinesis: invalid sub-sequence number ${p.subSequence}`);
  }
  return `${p.sequenceNumber}:${p.subSequence}`;
}

/**
 * Parses a position string; returns SHARD_END as is. `what` names the value in errors (e.g. the
 * checkpoint key it came from).
 */
export function parseKinesisPosition(s: string, what = 'position'): KinesisPosition | typeof SHARD_END {
  if (s === SHARD_END) return SHARD_END;
  const colon = s.indexOf(':');
  const seq = colon < 0 ? s : s.slice(0, colon);
  if (!SEQUENCE_RE.test(seq)) {
    throw new ValidationError(
      `kinesis: ${what} "${s}" is not a Kinesis position (<sequenceNumber>[:<subSequence>] or ${SHARD_END})`,
    );
  }
  if (colon < 0) return { sequenceNumber: seq };
  const sub = s.slice(colon + 1);
  if (!SUB_RE.test(sub)) {
    throw new ValidationError(`kinesis: ${what} "${s}" has an invalid sub-sequence number "${sub}"`);
  }
  return { sequenceNumber: seq, subSequence: Number(sub) };
}

/**
 * Orders two positions of one shard: by sequence number (numerically), then sub-sequence, where a
 * bare sequence number (whole record consumed) comes after all of its sub-records; SHARD_END last.
 */
export function compareKinesisPositions(a: string, b: string): number {
  const pa = parseKinesisPosition(a);
  const pb = parseKinesisPosition(b);
  if (pa === SHARD_END) return pb === SHARD_END ? 0 : 1;
  if (pb === SHARD_END) return -1;
  const sa = BigInt(pa.sequenceNumber);
  const sb = BigInt(pb.sequenceNumber);
  if (sa !== sb) return sa < sb ? -1 : 1;
  const subA = pa.subSequence ?? Number.POSITIVE_INFINITY;
  const subB = pb.subSequence ?? Number.POSITIVE_INFINITY;
  return subA === subB ? 0 : subA < subB ? -1 : 1;
}
