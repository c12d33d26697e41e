/**
 * The Kafka path section of `npm run bench` (issue 15): `floe run` from librdkafka's mock
 * cluster to committed files (`kafka-path.ts`), next to the Kinesis path on as many shards as the
 * Kafka run has partitions and the in-memory pipeline, same events, same run. `run.ts` calls
 * {@link kafkaPath} with its `runChild` and renders {@link kafkaPathMarkdown}.
 *
 *   npm run bench -- --only kafka-path [--kafka-events 200000]
 */
import { flag } from './common.js';

type Result = Record<string, unknown>;
/** `run.ts`'s child runner: `bench/<script>.js` in a child process, its last JSON line. */
export type RunChild = (script: string, args: string[], opts?: { cpus?: string }) => Promise<Result>;

/** The three runs of the section. */
export interface KafkaPathResults {
  kafka: Result;
  kinesis: Result | undefined;
  memory: Result;
}

const num = (r: Result | undefined, k: string): number => (r?.[k] === null || r?.[k] === undefined ? NaN : Number(r[k]));
const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a';
const us = (n: number): string => (Number.isFinite(n) ? `${fmt(n, 2)} µs` : 'n/a');
const failed = (what: Result) => (e: Error) => ({ ...what, error: e.message }) as Result;

/** Runs the Kafka path, then the Kinesis path on as many shards, then the in-memory pipeline. */
export async function kafkaPath(runChild: RunChild, quick: boolean): Promise<KafkaPathResults> {
  // Enough for several commits (one a second) after the first: the steady window.
  const events = flag('kafka-events', quick ? '400000' : '1000000');
  const kafka = await runChild('kafka-path', ['--events', events]).catch(failed({ bench: 'kafka-path' }));
  // The mock holds 20,000 events per partition (kafka-path.ts): the same shard count for Kinesis.
  const shards = Number.isFinite(num(kafka, 'partitions')) ? num(kafka, 'partitions') : 4 * Math.ceil(Number(events) / 80_000);
  const kinesis = await runChild('kinesis-path', ['--shards', String(shards), '--events', events]).catch(failed({ bench: 'kinesis-path', shards }));
  const memory = await runChild('throughput', ['--events', events, '--size', '150'], { cpus: '0' }).catch(failed({ bench: 'throughput' }));
  return { kafka, kinesis, memory };
}

/** The section's markdown. */
export function kafkaPathMarkdown(k: KafkaPathResults, section = 9): string[] {
  const md = [`## ${section}. The Kafka path`, ''];
  const f = k.kafka;
  md.push(
    '`floe run` (pinned to core 0) reads 150-byte reference events from librdkafka\'s mock cluster (Debian\'s `kcat`, 3 brokers in one process pinned to core 1; `bench/kafka-path.ts`) through a consumer group (kafkajs), with the config of `examples/reference.yaml` (maintenance off), until every event is committed. ' +
      'The mock keeps about 5 MB per partition, so the events are spread 20,000 to a partition over as many 4-partition topics as that takes, all produced (with `kcat -P`) before floe starts. ' +
      'Kafka\'s rate and CPU run from floe\'s first commit to the commit that completes the events (the group join before the first commit is a fixed cost, shown in the whole window beside it); the Kinesis path runs from its `started` line (`bench/kinesis-path.ts`, the fast local endpoint on core 1, as many shards as Kafka has partitions). ' +
      'Commits come once a second, so a window ends on a commit: a short run understates the rate. ' +
      'CPU is the floe process only (all threads, `/proc/<pid>/stat`); the broker\'s is its kcat process over the same window.',
    '',
    '| path | partitions / shards | events | events/s | floe CPU per event | floe\'s share of its core | peak RSS | broker / endpoint CPU per event | exact |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
  );
  const mem = k.memory;
  if (mem.error === undefined) {
    md.push(`| in-memory (MemorySource) | 1 | ${fmt(num(mem, 'events'))} | ${fmt(num(mem, 'eventsPerSecond'))} | ${fmt((num(mem, 'cpuSeconds') / num(mem, 'events')) * 1e6, 2)} µs | — | ${fmt(num(mem, 'peakRssMB'))} MB | — | — |`);
  } else md.push(`| in-memory (MemorySource) | failed: ${String(mem.error).split('\n')[0]!.slice(0, 160)} | | | | | | | |`);
  const kin = k.kinesis;
  if (kin && kin.error === undefined) {
    md.push(
      `| Kinesis protocol (fast endpoint) | ${fmt(num(kin, 'shards'))} | ${fmt(num(kin, 'events'))} | ${fmt(num(kin, 'eventsPerSecond'))} | ${fmt(num(kin, 'cpuMicrosPerEvent'), 2)} µs | ${fmt((num(kin, 'cpuMicrosPerEvent') * num(kin, 'eventsPerSecond')) / 1e6, 2)} | ${fmt(num(kin, 'peakRssMB'))} MB | ${fmt(num(kin, 'serverCpuMicrosPerEvent'), 2)} µs | ${kin.exact ? 'yes' : '**no**'} |`,
    );
  } else if (kin) md.push(`| Kinesis protocol (fast endpoint) | ${fmt(num(kin, 'shards'))} | failed: ${String(kin.error).split('\n')[0]!.slice(0, 160)} | | | | | | |`);
  if (f.error !== undefined) {
    md.push(`| Kafka (mock cluster) | failed: ${String(f.error).split('\n')[0]!.slice(0, 200)} | | | | | | | |`, '');
    return md;
  }
  const exact = f.exact ? 'yes' : '**no**';
  if (Number.isFinite(num(f, 'eventsPerSecond'))) {
    md.push(
      `| Kafka (mock cluster), first → last commit | ${fmt(num(f, 'partitions'))} (${fmt(num(f, 'topics'))} topics) | ${fmt(num(f, 'steadyEvents'))} | ${fmt(num(f, 'eventsPerSecond'))} | ${us(num(f, 'cpuMicrosPerEvent'))} | ${fmt(num(f, 'floeCoreShare'), 2)} | ${fmt(num(f, 'peakRssMB'))} MB | ${us(num(f, 'brokerCpuMicrosPerEvent'))} | ${exact} |`,
    );
  }
  md.push(
    `| Kafka (mock cluster), \`started\` → last commit | ${fmt(num(f, 'partitions'))} (${fmt(num(f, 'topics'))} topics) | ${fmt(num(f, 'events'))} | ${fmt(num(f, 'wholeEventsPerSecond'))} | ${us(num(f, 'wholeCpuMicrosPerEvent'))} | ${fmt(num(f, 'wholeFloeCoreShare'), 2)} | ${fmt(num(f, 'peakRssMB'))} MB | ${us(num(f, 'wholeBrokerCpuMicrosPerEvent'))} | ${exact} |`,
    '',
  );
  const floeCpu = num(f, 'cpuMicrosPerEvent');
  const bareCpu = num(f, 'bareKafkajsCpuMicrosPerEvent');
  md.push(
    `The broker with bare clients on core 0: \`kcat -G\` (librdkafka; it prints a byte per record) read all ${fmt(num(f, 'events'))} events in ${fmt(num(f, 'nativeReadSeconds'), 2)} s, **${fmt(num(f, 'nativeReadEventsPerSecond'))} events/s**, the broker spending ${fmt(num(f, 'brokerCpuMicrosPerEventNativeRead'), 2)} µs of CPU per event. ` +
      (f.bareKafkajsError
        ? `kafkajs alone: failed (${String(f.bareKafkajsError).split('\n')[0]!.slice(0, 160)}). `
        : `kafkajs alone, in floe's consumer settings on core 0 (fetching, decoding the record batches, resolving offsets; no pipeline): **${fmt(num(f, 'bareKafkajsEventsPerSecond'))} events/s** at **${fmt(bareCpu, 2)} µs** of CPU per event` +
          (Number.isFinite(floeCpu) && Number.isFinite(bareCpu) ? `, ${fmt((bareCpu / floeCpu) * 100)}% of floe's ${fmt(floeCpu, 2)} µs on this path (the rest, roughly ${fmt(floeCpu - bareCpu, 2)} µs, is the pipeline: records, the JSON fast path, Parquet, commits). ` : '. ')),
  );
  const share = num(f, 'floeCoreShare');
  let verdict: string;
  if (f.brokerBound === null || f.brokerBound === undefined) verdict = 'The run was too short for a steady window (fewer than 3 commits or 2 s): read the whole window.';
  else if (f.brokerBound === true) {
    verdict = `**The broker is the bottleneck** here (its process used ${fmt(num(f, 'brokerCoreShare') * 100)}% of its core, or floe came within 10% of the faster bare client's ${fmt(num(f, 'brokerShownEventsPerSecond'))} events/s): floe's events/s is the broker's, and floe's own cost is its CPU per event, ${fmt(floeCpu, 2)} µs.`;
  } else if (share >= 0.9) {
    verdict = `The broker is not the bottleneck (its process used ${fmt(num(f, 'brokerCoreShare') * 100)}% of its core; a bare client read ${fmt(num(f, 'brokerShownEventsPerSecond') / num(f, 'eventsPerSecond'), 1)} × faster): floe is, using ${fmt(share * 100)}% of its core.`;
  } else {
    verdict =
      `The broker is not the bottleneck (its process used ${fmt(num(f, 'brokerCoreShare') * 100)}% of its core; a bare client read ${fmt(num(f, 'brokerShownEventsPerSecond') / num(f, 'eventsPerSecond'), 1)} × faster), nor is floe's CPU (${fmt(share * 100)}% of its core); the rest is waiting: on fetch round trips (kafkajs hands over one partition's batch at a time, at most 1 MB per partition a fetch) on the last commit's interval once everything is read, and, on a shared machine, on other work on the same core. ` +
      `floe's own cost is its CPU per event, ${fmt(floeCpu, 2)} µs.`;
  }
  md.push(verdict, '');
  return md;
}
