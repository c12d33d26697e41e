/**
 * The `source` section of a `floe run` config with `type: kafka`: brokers, topics (or a topic
 * regex), the consumer group, where partitions the table has never seen start, TLS and SASL.
 * Kept apart from `config.ts` (one concept per file); `validateConfig` calls it, and takes from
 * it the view of the keys it shares with the Kinesis source (`initial_position`, the checkpoint
 * id) so the rest of the config is validated the same way for both.
 */
import { ValidationError } from '../errors.js';
import type { KafkaSaslSettings, KafkaTlsSettings } from '../source/kafka/kafka-client.js';
import { KAFKA_SOURCE_ID } from '../source/kafka/kafka-position.js';
import { parseTimestampMicros } from '../iceberg/timestamp-text.js';

/** A validated Kafka source (`source.type: kafka`). */
export interface KafkaSourceConfig {
  /** `host:port` of the bootstrap brokers (`source.brokers`: a list or one comma-separated string). */
  brokers: string[];
  /** `source.topics`; or {@link topicPattern}. */
  topics?: string[];
  /** `source.topic_pattern`: a regex over topic names (existing at start, and created later). */
  topicPattern?: string;
  /** `source.group`: the consumer group the members of one pipeline share. */
  group: string;
  /** `source.ssl`: TLS (true, or a mapping with `ca_file` and `verify`). */
  tls?: KafkaTlsSettings;
  /** `source.sasl`. */
  sasl?: KafkaSaslSettings;
  /** `source.client_id` (default `floe`). */
  clientId?: string;
  /**
   * `source.session_timeout` (default 30s): how long the group waits for a silent member (a
   * killed process) before its partitions go to the others. Heartbeats every third of it.
   */
  sessionTimeoutMs: number;
  /**
   * `source.metadata_max_age` (default 30s; Kafka's `metadata.max.age.ms`): how often topics
   * matching `topic_pattern` are listed again and partition counts read again; new ones join
   * within this time.
   */
  metadataMaxAgeMs: number;
}

/** The keys of a Kafka `source` section. */
export const KAFKA_SOURCE_KEYS = ['type', 'brokers', 'topics', 'topic_pattern', 'group', 'initial_position', 'initial_timestamp', 'ssl', 'sasl', 'client_id', 'session_timeout', 'metadata_max_age'];

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Topic names Kafka accepts. */
const TOPIC_RE = /^[A-Za-z0-9._-]{1,249}$/;

function str(o: Obj, key: string, where: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw new ValidationError(`config: ${where}.${key}: must be a non-empty string`);
  return v;
}

function checkKeys(o: Obj, allowed: string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ValidationError(`config: ${where}.${k}: unknown key (allowed: ${allowed.join(', ')})`);
  }
}

/** `source.brokers`: a list, or one comma-separated string, of `host:port`. */
function parseBrokers(v: unknown): string[] {
  const list = typeof v === 'string' ? v.split(',').map((b) => b.trim()) : Array.isArray(v) ? v : undefined;
  if (list === undefined || list.length === 0) throw new ValidationError('config: source.brokers: required: a list of host:port, or one comma-separated string');
  return list.map((b, i) => {
    if (typeof b !== 'string' || !/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.test(b) || Number(b.split(':').pop()) < 1 || Number(b.split(':').pop()) > 65535) {
      throw new ValidationError(`config: source.brokers[${i}]: expected host:port, got ${JSON.stringify(b)}`);
    }
    return b;
  });
}

function parseTls(v: unknown): KafkaTlsSettings | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  if (v === true) return { verify: true };
  if (!isObj(v)) throw new ValidationError('config: source.ssl: must be true, false or a mapping (ca_file, verify)');
  checkKeys(v, ['ca_file', 'verify'], 'source.ssl');
  if (v.verify !== undefined && typeof v.verify !== 'boolean') throw new ValidationError('config: source.ssl.verify: must be true or false');
  const caFile = str(v, 'ca_file', 'source.ssl');
  return { verify: v.verify !== false, ...(caFile ? { caFile } : {}) };
}

function parseSasl(v: unknown): KafkaSaslSettings | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw new ValidationError('config: source.sasl: must be a mapping (mechanism, username, password, region)');
  const mechanism = str(v, 'mechanism', 'source.sasl')?.toLowerCase();
  if (mechanism === 'aws-msk-iam' || mechanism === 'aws_msk_iam') {
    checkKeys(v, ['mechanism', 'region'], 'source.sasl');
    const region = str(v, 'region', 'source.sasl');
    return { mechanism: 'aws-msk-iam', ...(region ? { region } : {}) };
  }
  if (mechanism === 'plain' || mechanism === 'scram-sha-256' || mechanism === 'scram-sha-512') {
    checkKeys(v, ['mechanism', 'username', 'password'], 'source.sasl');
    const username = str(v, 'username', 'source.sasl');
    const password = str(v, 'password', 'source.sasl');
    if (!username || !password) throw new ValidationError(`config: source.sasl: ${mechanism} needs username and password`);
    return { mechanism, username, password };
  }
  throw new ValidationError(`config: source.sasl.mechanism: must be plain, scram-sha-256, scram-sha-512 or aws-msk-iam, got ${JSON.stringify(v.mechanism)}`);
}

/**
 * Validates a Kafka `source` section. Returns the settings and `shared`: the keys `config.ts`
 * validates for every source, in their Kinesis spelling (`stream` = the checkpoint id `kafka`,
 * `initial_position` earliest → TRIM_HORIZON, latest → LATEST, timestamp → AT_TIMESTAMP, and
 * an ISO-8601 time given as `initial_position` itself → AT_TIMESTAMP with it).
 */
export function parseKafkaSource(src: Obj, parseDuration: (v: unknown, where: string) => number): { settings: KafkaSourceConfig; shared: Obj } {
  checkKeys(src, KAFKA_SOURCE_KEYS, 'source');
  const brokers = parseBrokers(src.brokers);
  const topicPattern = str(src, 'topic_pattern', 'source');
  let topics: string[] | undefined;
  if (src.topics !== undefined && src.topics !== null) {
    const raw = typeof src.topics === 'string' ? src.topics.split(',').map((t) => t.trim()) : src.topics;
    if (!Array.isArray(raw) || raw.length === 0) throw new ValidationError('config: source.topics: must be a non-empty list of topic names');
    topics = raw.map((t, i) => {
      if (typeof t !== 'string' || !TOPIC_RE.test(t)) throw new ValidationError(`config: source.topics[${i}]: not a Kafka topic name ([A-Za-z0-9._-], at most 249): ${JSON.stringify(t)}`);
      return t;
    });
    if (new Set(topics).size !== topics.length) throw new ValidationError('config: source.topics: a topic is named twice');
  }
  if (topics && topicPattern) throw new ValidationError('config: source.topics and source.topic_pattern: give one of them');
  if (!topics && !topicPattern) throw new ValidationError('config: source.topics: required (a list of topics), or source.topic_pattern (a regex)');
  if (topicPattern !== undefined) {
    try {
      new RegExp(topicPattern);
    } catch (e) {
      throw new ValidationError(`config: source.topic_pattern: not a regular expression: ${(e as Error).message}`);
    }
  }
  const group = str(src, 'group', 'source');
  if (!group) throw new ValidationError('config: source.group: required (the consumer group the members of this pipeline share)');
  if (group.length > 255) throw new ValidationError('config: source.group: at most 255 characters');
  const rawPos = str(src, 'initial_position', 'source') ?? 'earliest';
  let pos = rawPos.toLowerCase();
  let initialTimestamp = src.initial_timestamp;
  // `initial_position: 2026-01-08T15:16:52Z`: the time itself, as the users write it.
  if (/^\d{4}-\d{2}-\d{2}/.test(rawPos)) {
    if (parseTimestampMicros(rawPos) === undefined) throw new ValidationError(`config: source.initial_position: not an ISO-8601 time: '${rawPos}'`);
    if (initialTimestamp !== undefined) throw new ValidationError('config: source.initial_timestamp: the time is already given by source.initial_position');
    pos = 'timestamp';
    initialTimestamp = rawPos;
  }
  const kinesisPos = { earliest: 'TRIM_HORIZON', latest: 'LATEST', timestamp: 'AT_TIMESTAMP' }[pos];
  if (kinesisPos === undefined) throw new ValidationError(`config: source.initial_position: must be earliest, latest, timestamp (with initial_timestamp) or an ISO-8601 time, got '${rawPos}'`);
  if (pos !== 'timestamp' && initialTimestamp !== undefined) {
    throw new ValidationError(`config: source.initial_timestamp: only used with initial_position timestamp (initial_position is ${pos})`);
  }
  const tls = parseTls(src.ssl);
  const sasl = parseSasl(src.sasl);
  const clientId = str(src, 'client_id', 'source');
  const sessionTimeoutMs = src.session_timeout === undefined ? 30_000 : parseDuration(src.session_timeout, 'source.session_timeout');
  if (sessionTimeoutMs < 1000 || sessionTimeoutMs > 3_600_000) throw new ValidationError('config: source.session_timeout: must be between 1s and 1h');
  const metadataMaxAgeMs = src.metadata_max_age === undefined ? 30_000 : parseDuration(src.metadata_max_age, 'source.metadata_max_age');
  // A timer (at most 2^31-1 ms); below 100 ms it would list topics in a loop.
  if (metadataMaxAgeMs < 100 || metadataMaxAgeMs > 86_400_000) throw new ValidationError('config: source.metadata_max_age: must be between 100ms and 24h');
  return {
    settings: {
      brokers,
      ...(topics ? { topics } : {}),
      ...(topicPattern !== undefined ? { topicPattern } : {}),
      group,
      ...(tls ? { tls } : {}),
      ...(sasl ? { sasl } : {}),
      ...(clientId ? { clientId } : {}),
      sessionTimeoutMs,
      metadataMaxAgeMs,
    },
    shared: {
      stream: KAFKA_SOURCE_ID,
      initial_position: kinesisPos,
      ...(initialTimestamp !== undefined ? { initial_timestamp: initialTimestamp } : {}),
    },
  };
}
