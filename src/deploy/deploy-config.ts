/**
 * The `deploy` section of a `floe run` config: how `floe deploy` stands the pipeline up on AWS
 * (`deploy/README.md`). `floe run` validates it and does nothing with it, so one file serves both.
 */
import { ValidationError } from '../errors.js';

/** Created by the stack, or already there (named by the config). */
export type Provision = 'create' | 'existing';

/** The `deploy` section, validated. */
export interface DeployConfig {
  /** CloudFormation stack name (default `floe-<table>`, `_` → `-`). */
  stack: string;
  /** The container image built from the Dockerfile (ECR or any registry Fargate can pull from). */
  image: string;
  /** `source.stream`: a new ON_DEMAND stream (default) or an existing one. */
  stream: Provision;
  /** The bucket of `catalog.warehouse`: created (default) or existing. */
  bucket: Provision;
  /** Task count: fixed (`min` = `max`) or scaled between them on the stream's iterator age. */
  tasks: { min: number; max: number };
  /** Target of the scaling: the stream's `GetRecords.IteratorAgeMilliseconds` (maximum), ms. */
  scaleAtBehindMs: number;
  /** Fargate task size: vCPU units and MiB. */
  cpu: number;
  memory: number;
  /** Existing subnets (and security groups) for the tasks; none: a small VPC of two public subnets. */
  subnets: string[];
  securityGroups: string[];
  /** Give tasks a public IP (needed without a NAT gateway or VPC endpoints); default true. */
  assignPublicIp: boolean;
  /** Grant the task role Lake Formation permissions on the database and its tables. */
  lakeFormation: boolean;
  /** Days the log group keeps the tasks' logs. */
  logRetentionDays: number;
}

/** Fargate's valid CPU/memory pairs (MiB), per CPU size. */
const FARGATE_MEMORY: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
  2048: Array.from({ length: 13 }, (_, k) => 4096 + k * 1024),
  4096: Array.from({ length: 23 }, (_, k) => 8192 + k * 1024),
};

/** Days CloudWatch Logs accepts as a retention. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const KEYS = ['stack', 'image', 'stream', 'bucket', 'tasks', 'scale_at_behind', 'cpu', 'memory', 'subnets', 'security_groups', 'assign_public_ip', 'lake_formation', 'log_retention_days'];

function fail(key: string, message: string): never {
  throw new ValidationError(`config: deploy.${key}: ${message}`);
}

function intIn(v: unknown, key: string, min: number, max: number): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  return fail(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
}

function provision(v: unknown, key: string): Provision {
  if (v === undefined) return 'create';
  if (v === 'create' || v === 'existing') return v;
  return fail(key, `must be create or existing, got ${JSON.stringify(v)}`);
}

function ids(v: unknown, key: string, prefix: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && new RegExp(`^${prefix}-[0-9a-f]{8,17}$`).test(s))) {
    return fail(key, `must be a list of ${prefix}-… ids, got ${JSON.stringify(v)}`);
  }
  return v as string[];
}

function bool(v: unknown, key: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  return fail(key, `must be true or false, got ${JSON.stringify(v)}`);
}

/**
 * Parses the `deploy` section (absent: undefined). `table` names the default stack;
 * `parseDuration` is the config's own (passed in: this module stays below `pipeline/config.ts`).
 */
export function parseDeployConfig(raw: unknown, table: string, parseDuration: (v: unknown, where: string) => number): DeployConfig | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError('config: deploy: must be a mapping (image, stack, tasks, …)');
  const d = raw as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!KEYS.includes(k)) throw new ValidationError(`config: deploy.${k}: unknown key (allowed: ${KEYS.join(', ')})`);
  }
  const stack = d.stack === undefined ? `floe-${table.replace(/[^A-Za-z0-9-]/g, '-')}`.slice(0, 128) : d.stack;
  if (typeof stack !== 'string' || !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stack)) {
    fail('stack', `a stack name is a letter then letters, digits and -, at most 128, got ${JSON.stringify(stack)}`);
  }
  if (typeof d.image !== 'string' || !/^[a-z0-9][^\s]*$/.test(d.image)) {
    fail('image', `required: the image built from floe's Dockerfile (e.g. 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/floe:0.1.0), got ${JSON.stringify(d.image)}`);
  }
  let tasks: { min: number; max: number };
  if (d.tasks === undefined) tasks = { min: 1, max: 1 };
  else if (typeof d.tasks === 'number') {
    const n = intIn(d.tasks, 'tasks', 1, 100);
    tasks = { min: n, max: n };
  } else if (typeof d.tasks === 'object' && d.tasks !== null && !Array.isArray(d.tasks)) {
    const t = d.tasks as Record<string, unknown>;
    for (const k of Object.keys(t)) if (k !== 'min' && k !== 'max') fail(`tasks.${k}`, 'unknown key (allowed: min, max)');
    const min = intIn(t.min ?? 1, 'tasks.min', 1, 100);
    const max = intIn(t.max ?? min, 'tasks.max', 1, 100);
    if (max < min) fail('tasks.max', `must be at least tasks.min (${min}), got ${max}`);
    tasks = { min, max };
  } else return fail('tasks', `must be a count or { min, max }, got ${JSON.stringify(d.tasks)}`);
  const cpu = d.cpu === undefined ? 1024 : d.cpu;
  if (typeof cpu !== 'number' || !(cpu in FARGATE_MEMORY)) fail('cpu', `must be one of Fargate's ${Object.keys(FARGATE_MEMORY).join(', ')}, got ${JSON.stringify(d.cpu)}`);
  const memory = d.memory === undefined ? 2048 : d.memory;
  if (typeof memory !== 'number' || !FARGATE_MEMORY[cpu]!.includes(memory)) {
    fail('memory', `Fargate takes ${FARGATE_MEMORY[cpu]!.join(', ')} MiB with cpu ${cpu}, got ${JSON.stringify(d.memory)}`);
  }
  const subnets = ids(d.subnets, 'subnets', 'subnet');
  const securityGroups = ids(d.security_groups, 'security_groups', 'sg');
  if (securityGroups.length > 0 && subnets.length === 0) fail('security_groups', 'only with deploy.subnets (a new VPC gets its own security group)');
  const logRetentionDays = d.log_retention_days === undefined ? 30 : d.log_retention_days;
  if (typeof logRetentionDays !== 'number' || !LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    fail('log_retention_days', `must be one of ${LOG_RETENTION_DAYS.join(', ')}, got ${JSON.stringify(d.log_retention_days)}`);
  }
  const scaleAtBehindMs = d.scale_at_behind === undefined ? 60_000 : parseDuration(d.scale_at_behind, 'deploy.scale_at_behind');
  if (scaleAtBehindMs < 1000) fail('scale_at_behind', `must be at least 1s, got ${JSON.stringify(d.scale_at_behind)}`);
  return {
    stack,
    image: d.image,
    stream: provision(d.stream, 'stream'),
    bucket: provision(d.bucket, 'bucket'),
    tasks,
    scaleAtBehindMs,
    cpu,
    memory,
    subnets,
    securityGroups,
    assignPublicIp: bool(d.assign_public_ip, 'assign_public_ip', true),
    lakeFormation: bool(d.lake_formation, 'lake_formation', false),
    logRetentionDays,
  };
}
