/**
 * A faithful local server of Kinesis enhanced fan-out (no local emulator implements it: kinesalite
 * has no SubscribeToShard; kinesis-local 0.6.2 answers it over h2c, but the SDK's SubscribeToShard
 * fails on its answer with "Protocol error / Deserialization error", checked 07 Dec 2026).
 *
 * One port, both protocols, as the real endpoint (which negotiates them by ALPN): a connection
 * opening with the HTTP/2 preface goes to an HTTP/2 server (h2c, prior knowledge), any other to an
 * HTTP/1.1 server. `RegisterStreamConsumer`, `DescribeStreamConsumer`, `ListStreamConsumers`,
 * `DeregisterStreamConsumer` and `SubscribeToShard` are answered here; every other action is
 * forwarded to the upstream (kinesalite), whose records the subscriptions serve (GetRecords behind
 * the scenes).
 *
 * Strict where Kinesis is: a consumer is CREATING for `activationDelayMs` (SubscribeToShard then
 * fails with ResourceInUseException); one subscription per consumer and shard at a time (a second
 * one: ResourceInUseException); a subscription ends after `lifetimeMs` (5 minutes on AWS; the
 * client must subscribe again from its continuation); events are `application/vnd.amazon.eventstream`
 * messages (prelude, headers, payload, both CRC32s), the first one `initial-response`, then
 * `SubscribeToShardEvent`s carrying Records, ContinuationSequenceNumber, MillisBehindLatest and, at
 * a closed shard's end, ChildShards with no continuation (then the stream ends).
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, constants as h2, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { crc32 } from 'node:zlib';

/** Options of {@link startEfoServer}. */
export interface EfoServerOptions {
  /** The Kinesis endpoint (kinesalite) whose streams are served. */
  upstream: string;
  /** Lifetime of one subscription. Default 5 minutes (AWS). */
  lifetimeMs?: number;
  /** How long a registered consumer stays CREATING. Default 300 ms. */
  activationDelayMs?: number;
  /** Pause between the upstream GetRecords of one subscription. Default 50 ms. */
  pollIntervalMs?: number;
  /** An event is sent at least this often, even without records. Default 1 s (AWS: 5 s). */
  heartbeatMs?: number;
}

/** What the server saw (tests assert on it). */
export interface EfoServerStats {
  registrations: number;
  subscriptions: number;
  /** Subscriptions refused because one was active for the consumer and shard. */
  resourceInUse: number;
  /** Subscriptions ended by the lifetime (the client had to subscribe again). */
  expired: number;
  events: number;
  /** Every action the server was asked for (answered or forwarded), e.g. `SubscribeToShard`. */
  actions: Set<string>;
  /** StartingPosition of every accepted subscription, in order, with its shard. */
  starts: { shardId: string; type: string; sequenceNumber?: string }[];
}

/** A running server. */
export interface EfoServer {
  url: string;
  stats: EfoServerStats;
  /** Subscriptions active now, as `<consumerARN>|<shardId>`. */
  active(): string[];
  close(): Promise<void>;
}

interface Consumer {
  name: string;
  arn: string;
  streamArn: string;
  createdAt: number;
  activeAt: number;
}

/** One event-stream message: prelude (total and headers length, CRC32), string headers, payload, CRC32. */
export function eventStreamMessage(headers: Record<string, string>, payload: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(headers)) {
    const name = Buffer.from(k, 'utf8');
    const value = Buffer.from(v, 'utf8');
    const h = Buffer.alloc(1 + name.length + 1 + 2 + value.length);
    h.writeUInt8(name.length, 0);
    name.copy(h, 1);
    h.writeUInt8(7, 1 + name.length); // 7 = string
    h.writeUInt16BE(value.length, 2 + name.length);
    value.copy(h, 4 + name.length);
    parts.push(h);
  }
  const hb = Buffer.concat(parts);
  const total = 12 + hb.length + payload.length + 4;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(hb.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  hb.copy(out, 12);
  Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).copy(out, 12 + hb.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

function event(type: string, body: unknown): Buffer {
  return eventStreamMessage(
    { ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' },
    Buffer.from(JSON.stringify(body), 'utf8'),
  );
}

class ApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Starts the server on 127.0.0.1 (a free port). */
export async function startEfoServer(options: EfoServerOptions): Promise<EfoServer> {
  const lifetimeMs = options.lifetimeMs ?? 300_000;
  const activationDelayMs = options.activationDelayMs ?? 300;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const consumers = new Map<string, Consumer>(); // by ARN
  const active = new Map<string, () => void>(); // subscription key → stop
  const stats: EfoServerStats = { registrations: 0, subscriptions: 0, resourceInUse: 0, expired: 0, events: 0, actions: new Set(), starts: [] };
  let closed = false;

  async function upstream(target: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    const res = await fetch(options.upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', authorization: 'AWS4-HMAC-SHA256 Credential=t/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0', 'x-amz-date': '20260101T000000Z', ...headers, 'x-amz-target': `Kinesis_20131202.${target}` },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  }

  async function call(target: string, body: unknown): Promise<Record<string, unknown>> {
    const res = await upstream(target, body);
    const json = JSON.parse(res.text || '{}') as Record<string, unknown>;
    if (res.status !== 200) throw new ApiError(String(json.__type ?? 'InternalFailure'), String(json.message ?? res.text));
    return json;
  }

  function streamNameOf(streamArn: string): string {
    const m = /:stream\/([^/]+)$/.exec(streamArn);
    if (!m) throw new ApiError('InvalidArgumentException', `StreamARN ${streamArn} is not a stream ARN`);
    return m[1] as string;
  }

  function status(c: Consumer): string {
    return Date.now() >= c.activeAt ? 'ACTIVE' : 'CREATING';
  }

  function findConsumer(body: Record<string, unknown>): Consumer {
    if (typeof body.ConsumerARN === 'string') {
      const c = consumers.get(body.ConsumerARN);
      if (!c) throw new ApiError('ResourceNotFoundException', `Consumer ${body.ConsumerARN} not found.`);
      return c;
    }
    for (const c of consumers.values()) if (c.streamArn === body.StreamARN && c.name === body.ConsumerName) return c;
    throw new ApiError('ResourceNotFoundException', `Consumer ${String(body.ConsumerName)} under stream ${String(body.StreamARN)} not found.`);
  }

  function description(c: Consumer): Record<string, unknown> {
    return { ConsumerName: c.name, ConsumerARN: c.arn, ConsumerStatus: status(c), ConsumerCreationTimestamp: c.createdAt / 1000, StreamARN: c.streamArn };
  }

  /** The consumer actions answered here; undefined for actions forwarded upstream. */
  async function control(target: string, body: Record<string, unknown>): Promise<unknown> {
    switch (target) {
      case 'RegisterStreamConsumer': {
        if (typeof body.StreamARN !== 'string' || typeof body.ConsumerName !== 'string') throw new ApiError('ValidationException', 'StreamARN and ConsumerName are required');
        const summary = await call('DescribeStreamSummary', { StreamName: streamNameOf(body.StreamARN) });
        const arn = (summary.StreamDescriptionSummary as { StreamARN: string }).StreamARN;
        if (arn !== body.StreamARN) throw new ApiError('ResourceNotFoundException', `Stream ${body.StreamARN} not found`);
        for (const c of consumers.values()) {
          if (c.streamArn === arn && c.name === body.ConsumerName) throw new ApiError('ResourceInUseException', `Consumer ${c.name} under stream ${arn} already exists.`);
        }
        const now = Date.now();
        const c: Consumer = { name: body.ConsumerName, arn: `${arn}/consumer/${body.ConsumerName}:${Math.floor(now / 1000)}`, streamArn: arn, createdAt: now, activeAt: now + activationDelayMs };
        consumers.set(c.arn, c);
        stats.registrations++;
        const { StreamARN: _s, ...consumer } = description(c);
        return { Consumer: consumer };
      }
      case 'DescribeStreamConsumer':
        return { ConsumerDescription: description(findConsumer(body)) };
      case 'ListStreamConsumers':
        return { Consumers: [...consumers.values()].filter((c) => c.streamArn === body.StreamARN).map((c) => { const { StreamARN: _s, ...d } = description(c); return d; }) };
      case 'DeregisterStreamConsumer': {
        const c = findConsumer(body);
        consumers.delete(c.arn);
        for (const [key, stop] of active) if (key.startsWith(`${c.arn}|`)) stop();
        return {};
      }
      default:
        return undefined;
    }
  }

  function iteratorRequest(streamName: string, shardId: string, sp: Record<string, unknown>): Record<string, unknown> {
    const type = sp.Type;
    const req: Record<string, unknown> = { StreamName: streamName, ShardId: shardId, ShardIteratorType: type };
    if (type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER') {
      if (typeof sp.SequenceNumber !== 'string') throw new ApiError('InvalidArgumentException', `StartingPosition ${String(type)} needs a SequenceNumber`);
      req.StartingSequenceNumber = sp.SequenceNumber;
    } else if (type === 'AT_TIMESTAMP') {
      if (typeof sp.Timestamp !== 'number') throw new ApiError('InvalidArgumentException', 'StartingPosition AT_TIMESTAMP needs a Timestamp');
      req.Timestamp = sp.Timestamp;
    } else if (type !== 'TRIM_HORIZON' && type !== 'LATEST') {
      throw new ApiError('InvalidArgumentException', `StartingPosition type ${String(type)} is not valid`);
    }
    return req;
  }

  /** Opens a subscription: validates it and gets the upstream iterator (errors before the stream starts are plain 400s). */
  async function openSubscription(body: Record<string, unknown>): Promise<{ key: string; consumer: Consumer; streamName: string; shardId: string; iterator: string }> {
    if (typeof body.ConsumerARN !== 'string' || typeof body.ShardId !== 'string' || typeof body.StartingPosition !== 'object' || body.StartingPosition === null) {
      throw new ApiError('ValidationException', 'ConsumerARN, ShardId and StartingPosition are required');
    }
    const consumer = findConsumer(body);
    if (status(consumer) !== 'ACTIVE') throw new ApiError('ResourceInUseException', `Consumer ${consumer.arn} is not ACTIVE.`);
    const key = `${consumer.arn}|${body.ShardId}`;
    if (active.has(key)) {
      stats.resourceInUse++;
      throw new ApiError('ResourceInUseException', `Another active subscription exists for consumer ${consumer.arn} and shard ${body.ShardId}.`);
    }
    const streamName = streamNameOf(consumer.streamArn);
    active.set(key, () => undefined); // reserved while the iterator is fetched
    try {
      const sp = body.StartingPosition as Record<string, unknown>;
      const it = await call('GetShardIterator', iteratorRequest(streamName, body.ShardId, sp));
      stats.subscriptions++;
      stats.starts.push({ shardId: body.ShardId, type: String(sp.Type), ...(typeof sp.SequenceNumber === 'string' ? { sequenceNumber: sp.SequenceNumber } : {}) });
      return { key, consumer, streamName, shardId: body.ShardId, iterator: String(it.ShardIterator) };
    } catch (e) {
      active.delete(key);
      throw e;
    }
  }

  async function childShards(streamName: string, shardId: string): Promise<unknown[]> {
    const listed = await call('ListShards', { StreamName: streamName });
    const shards = (listed.Shards ?? []) as { ShardId: string; ParentShardId?: string; AdjacentParentShardId?: string; HashKeyRange: unknown }[];
    return shards
      .filter((s) => s.ParentShardId === shardId || s.AdjacentParentShardId === shardId)
      .map((s) => ({ ShardId: s.ShardId, ParentShards: [s.ParentShardId, s.AdjacentParentShardId].filter((x) => x), HashKeyRange: s.HashKeyRange }));
  }

  /** Serves one subscription until its lifetime, the shard's end, the client's reset or close. */
  async function serve(stream: ServerHttp2Stream, sub: Awaited<ReturnType<typeof openSubscription>>): Promise<void> {
    let stopped = false;
    const stop = (): void => {
      stopped = true;
    };
    active.set(sub.key, stop);
    stream.on('close', stop);
    const write = async (buf: Buffer): Promise<boolean> => {
      if (stopped || stream.destroyed) return false;
      stats.events++;
      if (!stream.write(buf)) await new Promise<void>((r) => { stream.once('drain', r); stream.once('close', r); });
      return !stopped && !stream.destroyed;
    };
    const endsAt = Date.now() + lifetimeMs;
    let iterator: string | undefined = sub.iterator;
    let continuation: string | undefined;
    let lastEventAt = 0;
    try {
      if (!(await write(event('initial-response', {})))) return;
      while (!stopped && !closed) {
        if (Date.now() >= endsAt) {
          stats.expired++;
          break;
        }
        const page = await call('GetRecords', { ShardIterator: iterator, Limit: 10_000 });
        const records = (page.Records ?? []) as { SequenceNumber: string }[];
        iterator = (page.NextShardIterator as string | undefined) ?? undefined;
        if (records.length > 0) continuation = (records[records.length - 1] as { SequenceNumber: string }).SequenceNumber;
        if (iterator === undefined) {
          // The shard's end: its last records, no continuation, the children; then the stream ends.
          const children = await childShards(sub.streamName, sub.shardId);
          await write(event('SubscribeToShardEvent', { Records: records, MillisBehindLatest: 0, ChildShards: children }));
          break;
        }
        const now = Date.now();
        if (records.length > 0 || now - lastEventAt >= heartbeatMs) {
          lastEventAt = now;
          const ev: Record<string, unknown> = { Records: records, MillisBehindLatest: Number(page.MillisBehindLatest ?? 0) };
          if (continuation !== undefined) ev.ContinuationSequenceNumber = continuation;
          if (!(await write(event('SubscribeToShardEvent', ev)))) return;
        }
        if (records.length === 0) await sleep(pollIntervalMs);
      }
      if (!stream.destroyed) stream.end();
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError('InternalFailure', String(e));
      if (!stream.destroyed) {
        stream.end(eventStreamMessage({ ':message-type': 'exception', ':exception-type': err.type, ':content-type': 'application/json' }, Buffer.from(JSON.stringify({ message: err.message }))));
      }
    } finally {
      if (active.get(sub.key) === stop) active.delete(sub.key);
    }
  }

  function errorBody(e: unknown): { status: number; body: string } {
    const err = e instanceof ApiError ? e : new ApiError('InternalFailure', String(e));
    return { status: err.type === 'InternalFailure' ? 500 : 400, body: JSON.stringify({ __type: err.type, message: err.message }) };
  }

  function forwardHeaders(h: IncomingHttpHeaders): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
      if (k.startsWith(':') || k === 'host' || k === 'connection' || k === 'content-length' || k === 'x-amz-target' || typeof v !== 'string') continue;
      out[k] = v;
    }
    return out;
  }

  /** Any non-streaming action: answered here or forwarded. */
  async function unary(target: string, text: string, headers: IncomingHttpHeaders): Promise<{ status: number; body: string }> {
    try {
      const answered = await control(target, JSON.parse(text || '{}') as Record<string, unknown>);
      if (answered !== undefined) return { status: 200, body: JSON.stringify(answered) };
      const res = await upstream(target, text, forwardHeaders(headers));
      return { status: res.status, body: res.text };
    } catch (e) {
      return errorBody(e);
    }
  }

  const targetOf = (h: IncomingHttpHeaders): string => {
    const target = String(h['x-amz-target'] ?? '').replace(/^Kinesis_20131202\./, '');
    stats.actions.add(target);
    return target;
  };

  const http1 = createHttp1Server((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = targetOf(req.headers);
      if (target === 'SubscribeToShard') {
        // Kinesis serves SubscribeToShard over HTTP/2 only.
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'InvalidArgumentException', message: 'SubscribeToShard requires HTTP/2' }));
        return;
      }
      void unary(target, Buffer.concat(chunks).toString('utf8'), req.headers).then((r) => {
        res.writeHead(r.status, { 'content-type': 'application/x-amz-json-1.1' }).end(r.body);
      });
    });
  });

  const http2 = createHttp2Server();
  http2.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('end', () => {
      const target = targetOf(headers);
      const text = Buffer.concat(chunks).toString('utf8');
      if (target !== 'SubscribeToShard') {
        void unary(target, text, headers).then((r) => {
          if (stream.destroyed) return;
          stream.respond({ [h2.HTTP2_HEADER_STATUS]: r.status, 'content-type': 'application/x-amz-json-1.1' });
          stream.end(r.body);
        });
        return;
      }
      void (async () => {
        let sub;
        try {
          sub = await openSubscription(JSON.parse(text || '{}') as Record<string, unknown>);
        } catch (e) {
          const r = errorBody(e);
          if (stream.destroyed) return;
          stream.respond({ [h2.HTTP2_HEADER_STATUS]: r.status, 'content-type': 'application/x-amz-json-1.1' });
          stream.end(r.body);
          return;
        }
        if (stream.destroyed) {
          active.delete(sub.key);
          return;
        }
        stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, 'content-type': 'application/vnd.amazon.eventstream' });
        await serve(stream, sub);
      })();
    });
  });
  http2.on('sessionError', () => undefined);

  // The front port relays each connection to the server of its protocol (by its first bytes):
  // handing a socket whose bytes JavaScript already read to the HTTP/2 server loses them.
  const listen = async (server: { listen(port: number, host: string, cb: () => void): unknown; address(): unknown }): Promise<number> => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const http1Port = await listen(http1);
  const http2Port = await listen(http2);
  const sockets = new Set<Socket>();
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const front = createNetServer((socket) => {
    track(socket);
    socket.once('data', (chunk: Buffer) => {
      const isH2 = chunk.subarray(0, 4).toString('latin1') === 'PRI ';
      const back = connect(isH2 ? http2Port : http1Port, '127.0.0.1');
      track(back);
      back.write(chunk);
      socket.pipe(back);
      back.pipe(socket);
      socket.on('close', () => back.destroy());
      back.on('close', () => socket.destroy());
    });
  });
  await listen(front);
  const port = (front.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    active: () => [...active.keys()],
    async close() {
      closed = true;
      for (const stop of active.values()) stop();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => front.close(() => r()));
      await new Promise<void>((r) => http1.close(() => r()));
      await new Promise<void>((r) => http2.close(() => r()));
    },
  };
}
