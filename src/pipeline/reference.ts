/**
 * The reference system's pipeline (`../shared/reference-system.md`) as a floe config: stream
 * `glue-streaming-iceberg-stream`, table `glue_streaming_iceberg_db.streaming_events` with
 * event_id, user_id, event_type, page, event_time (from the record's `timestamp`) and
 * processed_time. The quickstart runs it; `examples/reference.yaml` is the same as a file.
 */
import { validateConfig, type PipelineConfig } from './config.js';

export const REFERENCE_STREAM = 'glue-streaming-iceberg-stream';
export const REFERENCE_TABLE = 'glue_streaming_iceberg_db.streaming_events';

/** The reference table's columns as `transform.columns` (whatever the source: Kinesis or Kafka). */
export const REFERENCE_COLUMNS = [
  { name: 'event_id', type: 'string' },
  { name: 'user_id', type: 'string' },
  { name: 'event_type', type: 'string' },
  { name: 'page', type: 'string' },
  { name: 'event_time', type: 'timestamptz', path: 'timestamp' },
  { name: 'processed_time', type: 'timestamptz', value: 'processing_time' },
] as const;

/** The reference pipeline's config, with the given catalog and Kinesis endpoint. */
export function referenceConfig(options: { warehouse: string; endpoint?: string; catalogUri?: string; intervalMs?: number }): PipelineConfig {
  return validateConfig({
    source: {
      type: 'kinesis',
      stream: REFERENCE_STREAM,
      initial_position: 'TRIM_HORIZON',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    },
    catalog: { warehouse: options.warehouse, ...(options.catalogUri ? { uri: options.catalogUri } : {}) },
    table: { name: REFERENCE_TABLE, create: true },
    transform: {
      columns: REFERENCE_COLUMNS,
    },
    commit: { interval: options.intervalMs ?? 1000 },
    dead_letter: { policy: 'dlq' },
  });
}
