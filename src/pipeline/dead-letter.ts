/**
 * Dead letters: records that cannot become rows (not UTF-8, not JSON, a value that cannot be cast,
 * a required value missing) go to a dead-letter Iceberg table with everything needed to inspect
 * and replay them: the raw bytes, the text when it is valid UTF-8, the error, and where the record
 * came from. The pipeline keeps going.
 */
import type { IcebergValue, Schema } from '../iceberg/types.js';
import type { SourceRecord } from '../source/source.js';

/** The dead-letter table's schema. */
export const DEAD_LETTER_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'stream', required: true, type: 'string' },
    { id: 2, name: 'shard', required: true, type: 'string' },
    { id: 3, name: 'sequence_number', required: true, type: 'string' },
    { id: 4, name: 'partition_key', required: false, type: 'string' },
    { id: 5, name: 'arrival_time', required: false, type: 'timestamptz' },
    { id: 6, name: 'failed_at', required: true, type: 'timestamptz' },
    { id: 7, name: 'error', required: true, type: 'string' },
    { id: 8, name: 'text', required: false, type: 'string' },
    { id: 9, name: 'raw', required: true, type: 'binary' },
  ],
};

/** A dead-letter row in {@link DEAD_LETTER_SCHEMA} order. */
export function deadLetterRow(
  stream: string,
  record: SourceRecord,
  error: string,
  text: string | undefined,
  failedAtUs: bigint,
): IcebergValue[] {
  return [
    stream,
    record.partitionId,
    record.position,
    record.partitionKey,
    // A source's odd arrival time (NaN, a fraction) must not turn the dead letter itself into a crash.
    Number.isSafeInteger(record.arrivalTimeMs) ? BigInt(record.arrivalTimeMs) * 1000n : null,
    failedAtUs,
    error,
    text ?? null,
    // A copy: the record's bytes may be a view of a source's buffer reused once its block is
    // released (RecordBlock.release), and this row waits for the commit.
    record.data.slice(),
  ];
}
