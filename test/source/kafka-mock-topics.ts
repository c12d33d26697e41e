/**
 * librdkafka's mock cluster with topics of a chosen partition count. The mock has no CreateTopics
 * (kcat's mock, `kafka-mock.ts`, creates every topic with 4 partitions on first use), but
 * librdkafka exports `rd_kafka_mock_topic_create`: a 30-line C program, compiled here with `gcc`
 * against Debian's `librdkafka.so.1` (no headers needed: the few prototypes are declared in it),
 * starts a mock cluster, creates the topics, prints the bootstrap servers and runs until its
 * stdin closes (so it ends with the test process, whatever happens). Listens on 127.0.0.1 only,
 * like the kcat one.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockKafka } from './kafka-mock.js';

const SOURCE = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_conf_s rd_kafka_conf_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;
rd_kafka_conf_t *rd_kafka_conf_new(void);
int rd_kafka_conf_set(rd_kafka_conf_t *, const char *, const char *, char *, size_t);
rd_kafka_t *rd_kafka_new(int type, rd_kafka_conf_t *conf, char *errstr, size_t errstr_size);
rd_kafka_mock_cluster_t *rd_kafka_mock_cluster_new(rd_kafka_t *rk, int broker_cnt);
const char *rd_kafka_mock_cluster_bootstraps(const rd_kafka_mock_cluster_t *mcluster);
int rd_kafka_mock_topic_create(rd_kafka_mock_cluster_t *mcluster, const char *topic, int partition_cnt, int replication_factor);
/* argv: broker count, then topic name and partition count pairs. */
int main(int argc, char **argv) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t *rk = rd_kafka_new(0 /* producer */, conf, err, sizeof err);
  if (!rk) { fprintf(stderr, "rd_kafka_new: %s\\n", err); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, atoi(argv[1]));
  if (!mc) { fprintf(stderr, "rd_kafka_mock_cluster_new failed\\n"); return 1; }
  for (int i = 2; i + 1 < argc; i += 2) {
    int e = rd_kafka_mock_topic_create(mc, argv[i], atoi(argv[i + 1]), 1);
    if (e) { fprintf(stderr, "rd_kafka_mock_topic_create %s: error %d\\n", argv[i], e); return 1; }
  }
  printf("%s\\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {}
  return 0;
}
`;

let built: string | undefined;

/** Skip reason when gcc or librdkafka.so.1 is missing; false when the helper builds. */
export function skipNoMockTopics(): string | false {
  try {
    build();
    return false;
  } catch (e) {
    return `kafka-mock-topics: ${(e as Error).message}: tests with chosen partition counts skipped`;
  }
}

function build(): string {
  if (built && existsSync(built)) return built;
  const dir = mkdtempSync(join(tmpdir(), 'floe-kafka-mock-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'mock.c'), SOURCE);
  const out = join(dir, 'mock');
  const r = spawnSync('gcc', ['-O1', '-o', out, join(dir, 'mock.c'), '-l:librdkafka.so.1'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build the mock helper (gcc and Debian's librdkafka1 are needed): ${r.error?.message ?? r.stderr.slice(0, 500)}`);
  built = out;
  return out;
}

/** Starts a mock cluster of `brokers` brokers with `topics` (name → partition count) created. */
export async function startMockKafkaWithTopics(topics: Record<string, number>, options: { brokers?: number } = {}): Promise<MockKafka> {
  const bin = build();
  const args = [String(options.brokers ?? 3), ...Object.entries(topics).flatMap(([t, n]) => [t, String(n)])];
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    child.stdin!.end();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  let out = '';
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8').slice(0, 2000)));
  const bootstrap = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kafka-mock-topics: no bootstrap servers after 10 s: ${err}`)), 10_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl).trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`kafka-mock-topics: the helper exited (${code}): ${err}`));
    });
  }).catch(async (e: unknown) => {
    await stop();
    throw e;
  });
  const brokers = bootstrap.split(',');
  if (brokers.some((b) => !b.startsWith('127.0.0.1:'))) {
    await stop();
    throw new Error(`kafka-mock-topics: the mock cluster must listen on 127.0.0.1 only: ${bootstrap}`);
  }
  return { bootstrap, brokers, pid: child.pid!, stop };
}
