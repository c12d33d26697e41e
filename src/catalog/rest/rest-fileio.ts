/**
 * The FileIO of a table loaded from a REST catalog. The server may hand out storage settings with
 * the table (the LoadTableResult's `config`, and `storage-credentials` scoped by location prefix,
 * which take precedence): vended S3 credentials (`s3.access-key-id`, `s3.secret-access-key`,
 * `s3.session-token`), `client.region`, `s3.endpoint`, `s3.path-style-access`. When a table on S3
 * comes with any of them, its FileIO uses them; otherwise `fileIOFor(location)` (the environment's
 * S3 settings).
 */
import { ValidationError } from '../../errors.js';
import type { JsonValue } from '../../iceberg/json.js';
import type { FileIO } from '../../io/file-io.js';
import { locationScheme } from '../../io/location.js';
import { fileIOFor } from '../../io/resolve.js';
import { LazyS3FileIO } from '../../io/s3-lazy.js';
import type { S3FileIOOptions } from '../../io/s3.js';
import { asObject, stringMap } from './rest-json.js';

const S3_KEYS = ['s3.access-key-id', 's3.secret-access-key', 's3.session-token', 'client.region', 's3.endpoint', 's3.path-style-access'];

/** Vended settings change with every load (session tokens), so only the latest few are kept. */
const MAX_CACHED = 8;
const cache = new Map<string, LazyS3FileIO>();

function s3Options(config: Record<string, string>): S3FileIOOptions {
  const keyId = config['s3.access-key-id'];
  const secret = config['s3.secret-access-key'];
  if ((keyId === undefined) !== (secret === undefined)) {
    throw new ValidationError('catalog: rest: the table config has only one of s3.access-key-id and s3.secret-access-key');
  }
  const pathStyle = config['s3.path-style-access'];
  return {
    ...(keyId !== undefined && secret !== undefined
      ? { credentials: { accessKeyId: keyId, secretAccessKey: secret, ...(config['s3.session-token'] ? { sessionToken: config['s3.session-token'] } : {}) } }
      : {}),
    ...(config['client.region'] ? { region: config['client.region'] } : {}),
    ...(config['s3.endpoint'] ? { endpoint: config['s3.endpoint'] } : {}),
    ...(pathStyle !== undefined ? { forcePathStyle: pathStyle.toLowerCase() === 'true' } : {}),
  };
}

/**
 * The table config in effect for a location: `config`, overridden by the `storage-credentials`
 * entry with the longest prefix of the location.
 */
export function effectiveTableConfig(location: string, config: Record<string, string>, storageCredentials: JsonValue | undefined): Record<string, string> {
  if (storageCredentials === undefined || storageCredentials === null) return config;
  if (!Array.isArray(storageCredentials)) throw new ValidationError("catalog: rest: LoadTableResult 'storage-credentials' must be a list");
  let best: { prefix: string; config: Record<string, string> } | undefined;
  storageCredentials.forEach((c, i) => {
    const what = `LoadTableResult.storage-credentials[${i}]`;
    const o = asObject(c, what);
    const prefix = typeof o.prefix === 'string' ? o.prefix : '';
    if (location.startsWith(prefix) && (best === undefined || prefix.length > best.prefix.length)) {
      best = { prefix, config: stringMap(o.config, `${what}.config`) };
    }
  });
  return best ? { ...config, ...best.config } : config;
}

/** The FileIO for a loaded table (see the file comment). */
export function tableFileIO(location: string, config: Record<string, string>): FileIO {
  const scheme = locationScheme(location);
  if ((scheme !== 's3' && scheme !== 's3a') || !S3_KEYS.some((k) => config[k] !== undefined)) return fileIOFor(location);
  const options = s3Options(config);
  const key = JSON.stringify(options);
  let io = cache.get(key);
  if (io) {
    cache.delete(key); // re-insert: most recently used last
  } else {
    io = new LazyS3FileIO(options);
    if (cache.size >= MAX_CACHED) {
      const [oldestKey, oldest] = cache.entries().next().value as [string, LazyS3FileIO];
      cache.delete(oldestKey);
      // Give in-flight calls on the evicted FileIO time to finish before its sockets close.
      setTimeout(() => void oldest.close(), 60_000).unref();
    }
  }
  cache.set(key, io);
  return io;
}
