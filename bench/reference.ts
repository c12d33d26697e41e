/** The reference mapping (examples/reference.yaml) that every benchmark uses. */
export const REFERENCE_COLUMNS = {
  event_id: 'string',
  user_id: 'string',
  event_type: 'string',
  page: 'string',
  event_time: { type: 'timestamptz', path: 'timestamp' },
  processed_time: { type: 'timestamptz', value: 'processing_time' },
};
