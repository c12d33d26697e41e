/**
 * The manifest entry (`data_file`) of a written Parquet file.
 */
import { FileContent, type DataFile } from '../iceberg/manifest-types.js';
import type { IcebergValue } from '../iceberg/types.js';
import type { ParquetWriteResult } from './parquet-writer.js';

/** A data file ready for a manifest, with the id of the partition spec it was written for. */
export interface NewDataFile {
  file: DataFile;
  specId: number;
}

/**
 * The manifest `data_file` of a written file: content DATA, format PARQUET, the metrics, and
 * the given partition tuple (in the spec's field order).
 * @param filePath the location recorded in the manifest (e.g. the object-store URI the local
 *   file was uploaded to); the written path when absent
 */
export function toDataFile(
  result: ParquetWriteResult,
  partition: IcebergValue[],
  specId: number,
  filePath: string = result.path,
): NewDataFile {
  const m = result.metrics;
  const file: DataFile = {
    content: FileContent.DATA,
    file_path: filePath,
    file_format: 'PARQUET',
    partition,
    record_count: result.recordCount,
    file_size_in_bytes: result.fileSizeInBytes,
    column_sizes: m.columnSizes,
    value_counts: m.valueCounts,
    null_value_counts: m.nullValueCounts,
    nan_value_counts: m.nanValueCounts,
    lower_bounds: m.lowerBounds,
    upper_bounds: m.upperBounds,
    split_offsets: result.splitOffsets,
  };
  return { file, specId };
}
