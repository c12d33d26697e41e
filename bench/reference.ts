import { validateConfig, type PipelineConfig } from '../src/pipeline/config.js';

/** The reference mapping (examples/reference.yaml) that every benchmark uses. */
export const REFERENCE_COLUMNS = {
  event_id: 'string',
  user_id: 'string',
  event_type: 'string',
  page: 'string',
  event_time: { type: 'timestamptz', path: 'timestamp' },
  processed_time: { type: 'timestamptz', value: 'processing_time' },
};

/**
 * The config of the in-process ingest benchmarks (throughput, scale, overload): the reference
 * mapping into `table` of an embedded catalog in `dir`, failing on a bad record, and without
 * table maintenance: background compaction (on by default in `floe run`) would compete for the
 * same cores and memory at moments unrelated to the load under test.
 */
export function ingestConfig(stream: string, dir: string, table: { name: string; partition_by?: string }, commit: Record<string, unknown> = {}): PipelineConfig {
  return validateConfig({
    source: { stream },
    catalog: { warehouse: dir },
    table,
    transform: { columns: REFERENCE_COLUMNS },
    commit,
    dead_letter: { policy: 'fail' },
    maintenance: false,
  });
}
