/**
 * A Kafka-protocol proxy in front of librdkafka's mock cluster (`kafka-mock.ts`), for the two
 * things the mock lacks (librdkafka 2.0.2, as Debian ships it in kcat; its ApiVersions lists no
 * CreateTopics or CreatePartitions, and it answers ListOffsets with a timestamp with offset -1):
 *
 * - Partitions added to a topic: {@link KafkaProxy.limitPartitions} makes Metadata responses show
 *   only a topic's first partitions; lifting the limit is, to a client behind the proxy, what
 *   CreatePartitions is (more partitions in the next metadata). Producers write to the mock
 *   directly, so the hidden partitions already hold records, as new partitions do once
 *   producers see them.
 * - ListOffsets by timestamp: a partition the mock answers with offset -1 for a timestamp >= 0
 *   is answered with the first offset whose record timestamp is at or after it, found in the
 *   partition's own records as the mock stores them (read with `kcat -C -f '%o %T'`), or -1
 *   when there is none (a real broker's answer: the client then starts at the end).
 *
 * Everything else is forwarded byte for byte, except the broker and coordinator ports in
 * Metadata and FindCoordinator responses, which point at the proxy's listeners (one per mock
 * broker, on 127.0.0.1). Only the request versions kafkajs sends to this mock are parsed
 * (Metadata 0–2, FindCoordinator 0–2, ListOffsets 1–5); any other version of those three fails the
 * connection with an error naming it.
 */
import net from 'node:net';
import { spawn } from 'node:child_process';
import type { MockKafka } from './kafka-mock.js';

/** A running proxy. */
export interface KafkaProxy {
  /** `127.0.0.1:port,…` of the proxy's listeners (one per mock broker). */
  bootstrap: string;
  brokers: string[];
  /** Metadata shows only partitions `0..count-1` of `topic`; `undefined` shows them all again. */
  limitPartitions(topic: string, count: number | undefined): void;
  /** Timestamp lookups answered (topic, partition, timestamp → offset), in order. */
  readonly lookups: { topic: string; partition: number; timestamp: bigint; offset: bigint }[];
  /** Errors that failed a connection (a request version this proxy does not parse). */
  readonly errors: string[];
  close(): Promise<void>;
}

const METADATA = 3;
const LIST_OFFSETS = 2;
const FIND_COORDINATOR = 10;

/** A cursor over a frame. */
class Cursor {
  constructor(
    readonly b: Buffer,
    public o = 0,
  ) {}
  i8(): number {
    return this.b.readInt8((this.o += 1) - 1);
  }
  i16(): number {
    return this.b.readInt16BE((this.o += 2) - 2);
  }
  i32(): number {
    return this.b.readInt32BE((this.o += 4) - 4);
  }
  i64(): bigint {
    return this.b.readBigInt64BE((this.o += 8) - 8);
  }
  str(): string | null {
    const n = this.i16();
    if (n < 0) return null;
    const s = this.b.toString('utf8', this.o, this.o + n);
    this.o += n;
    return s;
  }
}

/** Reads length-prefixed frames from a stream of chunks. */
function framer(onFrame: (frame: Buffer) => void): (chunk: Buffer) => void {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const n = buf.readInt32BE(0);
      if (buf.length < 4 + n) break;
      onFrame(buf.subarray(4, 4 + n));
      buf = buf.subarray(4 + n);
    }
  };
}

const withLength = (body: Buffer): Buffer => {
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length);
  return Buffer.concat([len, body]);
};

/** The first offset of `topic`/`partition` whose timestamp is >= `timestamp` (-1: none), read from the mock with kcat. */
export function kcatOffsetForTimestamp(bootstrap: string): (topic: string, partition: number, timestamp: bigint) => Promise<bigint> {
  return (topic, partition, timestamp) =>
    new Promise((resolve, reject) => {
      const child = spawn('kcat', ['-C', '-b', bootstrap, '-t', topic, '-p', String(partition), '-o', 'beginning', '-e', '-q', '-f', '%o %T\n'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
      child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8').slice(0, 2000)));
      child.once('error', reject);
      child.once('exit', (code) => {
        if (code !== 0) return reject(new Error(`kafka-metadata-proxy: kcat -C exited ${code}: ${err}`));
        for (const line of out.split('\n')) {
          const [o, t] = line.split(' ');
          if (o !== undefined && t !== undefined && BigInt(t) >= timestamp) return resolve(BigInt(o));
        }
        resolve(-1n);
      });
    });
}

/** Starts a proxy in front of `mock`'s brokers. */
export async function startKafkaProxy(mock: MockKafka, options: { offsetForTimestamp?: (topic: string, partition: number, timestamp: bigint) => Promise<bigint> } = {}): Promise<KafkaProxy> {
  const lookup = options.offsetForTimestamp ?? kcatOffsetForTimestamp(mock.bootstrap);
  const limits = new Map<string, number>();
  const lookups: KafkaProxy['lookups'] = [];
  const errors: string[] = [];
  const portMap = new Map<number, number>(); // mock port → proxy port
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();

  /** Metadata v0–v2 response: ports mapped, partitions beyond a topic's limit left out. */
  const metadata = (frame: Buffer, version: number): Buffer => {
    const c = new Cursor(frame, 4);
    const nBrokers = c.i32();
    for (let i = 0; i < nBrokers; i++) {
      c.i32();
      c.str();
      const port = c.i32();
      frame.writeInt32BE(portMap.get(port) ?? port, c.o - 4);
      if (version >= 1) c.str(); // rack
    }
    if (version >= 2) c.str(); // cluster id
    if (version >= 1) c.i32(); // controller
    const chunks: Buffer[] = [];
    let copied = 0;
    const nTopics = c.i32();
    for (let t = 0; t < nTopics; t++) {
      c.i16();
      const name = c.str() ?? '';
      if (version >= 1) c.i8();
      const countAt = c.o;
      const n = c.i32();
      const limit = limits.get(name);
      const keep: [number, number][] = [];
      for (let p = 0; p < n; p++) {
        const from = c.o;
        c.i16();
        const index = c.i32();
        c.i32();
        // (not `c.o += 4 * c.i32()`: the left side would be read before the count moves it)
        const replicas = c.i32();
        c.o += 4 * replicas;
        const isr = c.i32();
        c.o += 4 * isr;
        if (limit === undefined || index < limit) keep.push([from, c.o]);
      }
      if (keep.length === n) continue;
      chunks.push(frame.subarray(copied, countAt));
      const count = Buffer.alloc(4);
      count.writeInt32BE(keep.length);
      chunks.push(count);
      for (const [from, to] of keep) chunks.push(frame.subarray(from, to));
      copied = c.o;
    }
    chunks.push(frame.subarray(copied));
    return Buffer.concat(chunks);
  };

  /** FindCoordinator v0–v2 response: the coordinator's port mapped. */
  const findCoordinator = (frame: Buffer, version: number): Buffer => {
    const c = new Cursor(frame, 4);
    if (version >= 1) c.i32();
    c.i16();
    if (version >= 1) c.str();
    c.i32();
    c.str();
    const port = c.i32();
    frame.writeInt32BE(portMap.get(port) ?? port, c.o - 4);
    return frame;
  };

  /** ListOffsets v1+ request: the (topic, partition) pairs asked for a timestamp >= 0. */
  const timestampQueries = (c: Cursor, version: number): Set<string> => {
    const out = new Set<string>();
    c.i32(); // replica
    if (version >= 2) c.i8(); // isolation level
    const nTopics = c.i32();
    for (let t = 0; t < nTopics; t++) {
      const name = c.str() ?? '';
      const n = c.i32();
      for (let p = 0; p < n; p++) {
        const partition = c.i32();
        if (version >= 4) c.i32(); // current leader epoch
        const ts = c.i64();
        if (ts >= 0n) out.add(`${name}\u0000${partition}\u0000${ts}`);
      }
    }
    return out;
  };

  /** ListOffsets v1–v5 response: offsets the mock left at -1 for a timestamp, looked up. */
  const listOffsets = async (frame: Buffer, version: number, asked: Set<string>): Promise<Buffer> => {
    const c = new Cursor(frame, 4);
    if (version >= 2) c.i32(); // throttle
    const nTopics = c.i32();
    const byTopicPartition = new Map<string, bigint>();
    for (const k of asked) {
      const [topic, partition, ts] = k.split('\u0000');
      byTopicPartition.set(`${topic}\u0000${partition}`, BigInt(ts!));
    }
    for (let t = 0; t < nTopics; t++) {
      const name = c.str() ?? '';
      const n = c.i32();
      for (let p = 0; p < n; p++) {
        const partition = c.i32();
        const error = c.i16();
        const tsAt = c.o;
        c.i64();
        const offAt = c.o;
        const offset = c.i64();
        if (version >= 4) c.i32(); // leader epoch
        const ts = byTopicPartition.get(`${name}\u0000${partition}`);
        if (ts === undefined || error !== 0 || offset !== -1n) continue;
        const found = await lookup(name, partition, ts);
        lookups.push({ topic: name, partition, timestamp: ts, offset: found });
        frame.writeBigInt64BE(found, offAt);
        frame.writeBigInt64BE(found >= 0n ? ts : -1n, tsAt);
      }
    }
    return frame;
  };

  const serve = (client: net.Socket, upstreamPort: number): void => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const pending = new Map<number, { key: number; version: number; asked?: Set<string> }>();
    let responses = Promise.resolve();
    const fail = (e: Error): void => {
      errors.push(e.message);
      client.destroy();
      upstream.destroy();
    };
    client.on(
      'data',
      framer((frame) => {
        const c = new Cursor(frame);
        const key = c.i16();
        const version = c.i16();
        const correlation = c.i32();
        c.str(); // client id
        if ((key === METADATA && version > 2) || (key === FIND_COORDINATOR && version > 2) || (key === LIST_OFFSETS && (version < 1 || version > 5))) {
          return fail(new Error(`kafka-metadata-proxy: request ${key} v${version} is not parsed here`));
        }
        pending.set(correlation, { key, version, ...(key === LIST_OFFSETS ? { asked: timestampQueries(c, version) } : {}) });
        upstream.write(withLength(frame));
      }),
    );
    upstream.on(
      'data',
      framer((frame) => {
        const copy = Buffer.from(frame);
        const correlation = copy.readInt32BE(0);
        const req = pending.get(correlation);
        pending.delete(correlation);
        // Responses keep their order on a connection, a looked-up one included.
        responses = responses
          .then(async () => {
            let out: Buffer = copy;
            if (req?.key === METADATA) out = metadata(copy, req.version);
            else if (req?.key === FIND_COORDINATOR) out = findCoordinator(copy, req.version);
            else if (req?.key === LIST_OFFSETS && req.asked && req.asked.size > 0) out = await listOffsets(copy, req.version, req.asked);
            if (!client.destroyed) client.write(withLength(out));
          })
          .catch((e: unknown) => fail(e as Error));
      }),
    );
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', end);
    upstream.on('error', end);
  };

  for (const b of mock.brokers) {
    const upstreamPort = Number(b.split(':').pop());
    const server = net.createServer((client) => serve(client, upstreamPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    portMap.set(upstreamPort, (server.address() as net.AddressInfo).port);
    servers.push(server);
  }
  const brokers = mock.brokers.map((b) => `127.0.0.1:${portMap.get(Number(b.split(':').pop()))}`);
  return {
    bootstrap: brokers.join(','),
    brokers,
    limitPartitions(topic, count) {
      if (count === undefined) limits.delete(topic);
      else limits.set(topic, count);
    },
    lookups,
    errors,
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
