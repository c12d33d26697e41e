/**
 * The `metrics` section of a `floe run` config: where the Prometheus endpoint (`/metrics`) and
 * the health checks (`/healthz`, `/readyz`) listen, and when `/readyz` calls a worker stalled.
 * Kept apart from `config.ts` (one concept per file); `validateConfig` calls it with its duration
 * parser (passed in: no import cycle).
 */
import { ValidationError } from '../errors.js';

/** `metrics`: the HTTP endpoint of `floe run` (`run/metrics-server.ts`). */
export interface MetricsConfig {
  /** TCP port; 0 lets the OS choose (the `metrics: listening` log line names it). */
  port: number;
  /**
   * Interface to listen on (default `127.0.0.1`: only the host itself, e.g. a container's own
   * health check; `0.0.0.0` for a scraper on the network).
   */
  host: string;
  /**
   * `/readyz` fails when records are waiting and no commit has landed for this long (default:
   * 10 × `commit.interval`, at least 30 s).
   */
  readyCommitAgeMs: number;
}

/** Default `metrics.host`. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Default of `metrics.ready_commit_age` for a commit interval. */
export function defaultReadyCommitAgeMs(commitIntervalMs: number): number {
  return Math.max(30_000, 10 * commitIntervalMs);
}

/** A TCP port number (0 = any free port). */
export function parsePort(v: unknown, where: string): number {
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  throw new ValidationError(`config: ${where}: must be a port number 0-65535, got ${JSON.stringify(v)}`);
}

/**
 * Parses the `metrics` section: absent or `false` is off; otherwise a mapping with `port`
 * (required), `host`, `ready_commit_age`.
 */
export function parseMetricsConfig(
  raw: unknown,
  commitIntervalMs: number,
  parseDuration: (v: unknown, where: string) => number,
): MetricsConfig | undefined {
  if (raw === undefined || raw === false || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ValidationError('config: metrics: must be a mapping (port, host, ready_commit_age) or false');
  }
  const m = raw as Record<string, unknown>;
  const allowed = ['port', 'host', 'ready_commit_age'];
  for (const k of Object.keys(m)) {
    if (!allowed.includes(k)) throw new ValidationError(`config: metrics.${k}: unknown key (allowed: ${allowed.join(', ')})`);
  }
  if (m.port === undefined) throw new ValidationError('config: metrics.port: required (e.g. 9464)');
  const port = parsePort(m.port, 'metrics.port');
  if (m.host !== undefined && (typeof m.host !== 'string' || m.host.trim() === '')) {
    throw new ValidationError(`config: metrics.host: must be a host name or address, got ${JSON.stringify(m.host)}`);
  }
  const host = m.host === undefined ? DEFAULT_METRICS_HOST : m.host.trim();
  const readyCommitAgeMs =
    m.ready_commit_age === undefined ? defaultReadyCommitAgeMs(commitIntervalMs) : parseDuration(m.ready_commit_age, 'metrics.ready_commit_age');
  return { port, host, readyCommitAgeMs };
}
