/**
 * Writing deletion vectors (format v3): one Puffin file holding a vector per data file, and the
 * manifest entries that describe them, as Iceberg Java's `BaseDVFileWriter` writes them: blob type
 * `deletion-vector-v1`, field `_pos`, snapshot id and sequence number -1 (inherited), properties
 * `referenced-data-file` and `cardinality`; entries POSITION_DELETES, format PUFFIN, the data
 * file's spec and partition, `record_count` = cardinality, `file_size_in_bytes` = the whole Puffin
 * file's size (shared by its vectors), `referenced_data_file`, `content_offset` and
 * `content_size_in_bytes` = the blob's offset and length, no metrics. Used by delete conversion
 * (`maintenance/convert-to-vectors.ts`) and by upserts that delete by position
 * (`upsert-vectors.ts`).
 */
import { randomUUID } from 'node:crypto';
import { FileContent, type DataFile } from '../iceberg/manifest-types.js';
import type { TableMetadata } from '../iceberg/metadata.js';
import { deletionVectorPuffinBlob, writePuffin } from '../iceberg/puffin.js';
import type { FileIO } from '../io/file-io.js';
import { joinLocation } from '../io/location.js';
import { dataLocation } from './write.js';

/**
 * One data file's vector to write: every deleted position, ascending and unique, or as set bits
 * (bit `p % 32` of word `p / 32`) with their count.
 */
export interface VectorToWrite {
  data: DataFile;
  specId: number;
  positions: ArrayLike<number> | { bits: Uint32Array; cardinality: number };
}

/** A written vector's manifest entry and the spec of its data file. */
export interface WrittenVector {
  file: DataFile;
  specId: number;
}

/**
 * Writes one Puffin file (`dv-<uuid>.puffin` under the table's data location) with a vector per
 * entry of `vectors`, in their order, and returns its path and the vectors' entries. Nothing is
 * committed: the caller deletes the file when its commit fails.
 */
export async function writeDeletionVectors(io: FileIO, md: TableMetadata, vectors: readonly VectorToWrite[]): Promise<{ path: string; vectors: WrittenVector[] }> {
  const { bytes, blobs } = writePuffin(vectors.map((v) => deletionVectorPuffinBlob(v.data.file_path, v.positions)));
  const path = joinLocation(dataLocation(md), `dv-${randomUUID()}.puffin`);
  await io.write(path, bytes);
  const out: WrittenVector[] = vectors.map((v, i) => {
    const blob = blobs[i]!;
    return {
      specId: v.specId,
      file: {
        content: FileContent.POSITION_DELETES,
        file_path: path,
        file_format: 'PUFFIN',
        partition: v.data.partition,
        record_count: 'bits' in v.positions ? v.positions.cardinality : v.positions.length,
        file_size_in_bytes: bytes.length,
        referenced_data_file: v.data.file_path,
        content_offset: blob.offset,
        content_size_in_bytes: blob.length,
      },
    };
  });
  return { path, vectors: out };
}
