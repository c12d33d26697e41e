/**
 * A Kafka-protocol proxy on 127.0.0.1 in front of librdkafka's mock cluster (which has neither
 * TLS nor SASL), so the Kafka source's TLS and SASL settings meet a server that enforces them:
 * - TLS (optional): node:tls terminates it with the certificate the test made (`kafka-tls-certs.ts`).
 * - SASL (optional), as a Kafka broker's SASL listener does (KIP-43, KIP-152): before
 *   authentication only ApiVersions (forwarded) and SaslHandshake (v0, v1) are accepted; after a
 *   v1 handshake only SaslAuthenticate (v0, v1), after a v0 handshake raw size-delimited SASL
 *   tokens; any other request closes the connection without an answer. An unknown mechanism is
 *   answered with error 33 (UNSUPPORTED_SASL_MECHANISM) and the enabled list, then the connection
 *   closes; failed credentials with error 58 (SASL_AUTHENTICATION_FAILED) and Kafka's message,
 *   then the connection closes (`kafka-sasl-server.ts`: PLAIN, SCRAM-SHA-256/512, and OAUTHBEARER
 *   when a token verifier is given: Amazon MSK IAM with `kafka-msk-iam-verifier.ts`). Requests before
 *   authentication are limited to 512 KiB (Kafka's `sasl.server.max.receive.size`).
 * - KIP-368 re-authentication, when `sasl.sessionLifetimeMs` is set (Kafka's
 *   `connections.max.reauth.ms`): SaslAuthenticate v1 answers carry the session lifetime, the
 *   smaller of that setting and what is left of the credential (an OAUTHBEARER token's expiry);
 *   an authenticated connection may then send SaslHandshake v1 (same mechanism) and
 *   SaslAuthenticate again, which must authenticate the same principal; a request other than
 *   SaslHandshake after the session expired closes the connection, as a broker does. Without
 *   the setting, the lifetime is 0 (none) and SASL on an authenticated connection is refused.
 * - After authentication every frame goes to the mock broker this listener stands for (one
 *   listener per mock broker), and the broker addresses in the answers are rewritten to the
 *   proxy's: Metadata and FindCoordinator, v0-v2 each. That is all this setup needs: kafkajs
 *   2.2.4 has no flexible version of any API (Metadata up to v6, FindCoordinator up to v2,
 *   ApiVersions up to v2, SaslHandshake/SaslAuthenticate up to v1) and picks the highest the
 *   broker lists, and librdkafka 2.0.2's mock lists Metadata, FindCoordinator and ApiVersions
 *   up to v2 (it answers ApiVersions v3 with error 35, passed on unchanged). The proxy's rewrite
 *   of ApiVersions (v0-v2) lists exactly what it understands: Metadata and FindCoordinator at
 *   most v2, SaslHandshake and SaslAuthenticate v0-v1 when SASL is on (absent otherwise), no
 *   DescribeCluster (its answer names brokers). A request outside these (Metadata v3+,
 *   FindCoordinator v3+, DescribeCluster, SASL on an authenticated connection) and an answer it
 *   cannot parse are refused loudly: recorded in `events`, the connection closed, never
 *   forwarded unrewritten.
 */
import net from 'node:net';
import tls from 'node:tls';
import { SaslFailure, SaslUsers, type OAuthBearerVerifier, type SaslExchange, type SaslMechanism } from './kafka-sasl-server.js';

/** Options of {@link startKafkaAuthProxy}. */
export interface KafkaAuthProxyOptions {
  /** The mock cluster's brokers (`127.0.0.1:port`): one proxy listener each. */
  upstream: string[];
  /** TLS with this PEM key and certificate (chain); absent: plaintext. */
  tls?: { key: string; cert: string };
  /**
   * SASL: the enabled mechanisms, the users (name → password) and, for OAUTHBEARER (which needs
   * it), the token verifier; absent: none.
   */
  sasl?: { mechanisms: SaslMechanism[]; users: Record<string, string>; oauthBearer?: OAuthBearerVerifier; sessionLifetimeMs?: number };
  /**
   * The SASL version ranges advertised in ApiVersions (default [0, 1] each), to drive clients
   * down the older paths: SaslAuthenticate `null` = not advertised (a v0 handshake, raw tokens).
   */
  advertise?: { saslHandshake?: [number, number]; saslAuthenticate?: [number, number] | null };
}

/** What the proxy saw, in order (for assertions). */
export type ProxyEvent =
  | { type: 'authenticated'; mechanism: SaslMechanism; user: string; handshakeVersion: number; authenticateVersion: number | undefined }
  | { type: 'reauthenticated'; mechanism: SaslMechanism; user: string; sessionLifetimeMs: number }
  | { type: 'auth-failed'; mechanism: SaslMechanism; message: string }
  | { type: 'unsupported-mechanism'; mechanism: string }
  | { type: 'refused'; reason: string }
  | { type: 'tls-error'; message: string };

/** A running proxy. */
export interface KafkaAuthProxy {
  /** `127.0.0.1:port` of each listener, in the order of `upstream`. */
  brokers: string[];
  bootstrap: string;
  readonly events: ProxyEvent[];
  /**
   * Replaces the users (a password changed or revoked) and closes every open connection, as a
   * broker restart would: clients must connect and authenticate again.
   */
  resetUsers(users: Record<string, string>): void;
  /** Closes the listeners and every connection. Idempotent. */
  close(): Promise<void>;
}

const API = { METADATA: 3, FIND_COORDINATOR: 10, SASL_HANDSHAKE: 17, API_VERSIONS: 18, SASL_AUTHENTICATE: 36, DESCRIBE_CLUSTER: 60 } as const;
const API_NAMES: Record<number, string> = {
  0: 'PRODUCE', 1: 'FETCH', 2: 'LIST_OFFSETS', 3: 'METADATA', 8: 'OFFSET_COMMIT', 9: 'OFFSET_FETCH', 10: 'FIND_COORDINATOR',
  11: 'JOIN_GROUP', 12: 'HEARTBEAT', 13: 'LEAVE_GROUP', 14: 'SYNC_GROUP', 15: 'DESCRIBE_GROUPS', 16: 'LIST_GROUPS',
  17: 'SASL_HANDSHAKE', 18: 'API_VERSIONS', 19: 'CREATE_TOPICS', 36: 'SASL_AUTHENTICATE', 60: 'DESCRIBE_CLUSTER',
};
const apiName = (k: number): string => API_NAMES[k] ?? `api key ${k}`;
/** The highest version of each rewritten answer the proxy parses (see the file comment). */
const MAX_VERSION: Record<number, number> = { [API.METADATA]: 2, [API.FIND_COORDINATOR]: 2, [API.API_VERSIONS]: 2 };
const ERR_UNSUPPORTED_SASL_MECHANISM = 33;
const ERR_SASL_AUTHENTICATION_FAILED = 58;
/** Kafka's limit on a request before authentication. */
const MAX_UNAUTHENTICATED_FRAME = 512 * 1024;
/** Kafka's `socket.request.max.bytes`. */
const MAX_FRAME = 100 * 1024 * 1024;

class ProtocolError extends Error {}

/** A bounds-checked reader of Kafka's primitive types. */
class Reader {
  constructor(
    readonly buf: Buffer,
    public o = 0,
  ) {}
  private need(n: number): void {
    if (this.o + n > this.buf.length) throw new ProtocolError(`truncated at byte ${this.o} (needs ${n} of ${this.buf.length - this.o})`);
  }
  int16(): number {
    this.need(2);
    return this.buf.readInt16BE((this.o += 2) - 2);
  }
  int32(): number {
    this.need(4);
    return this.buf.readInt32BE((this.o += 4) - 4);
  }
  bytesOf(n: number): Buffer {
    this.need(n);
    return this.buf.subarray(this.o, (this.o += n));
  }
  /** STRING / NULLABLE_STRING (int16 length, -1 null). */
  string(nullable = false): string | null {
    const n = this.int16();
    if (n === -1 && nullable) return null;
    if (n < 0) throw new ProtocolError(`string length ${n}`);
    return this.bytesOf(n).toString('utf8');
  }
  /** BYTES (int32 length). */
  bytes(): Buffer {
    const n = this.int32();
    if (n < 0) throw new ProtocolError(`bytes length ${n}`);
    return this.bytesOf(n);
  }
  end(what: string): void {
    if (this.o !== this.buf.length) throw new ProtocolError(`${what}: ${this.buf.length - this.o} bytes after the end`);
  }
}

const int16 = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(v);
  return b;
};
const int32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const str = (s: string | null): Buffer => (s === null ? int16(-1) : Buffer.concat([int16(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]));

/** Splits a byte stream into Kafka frames (int32 size, then that many bytes). */
class FrameReader {
  private chunks: Buffer[] = [];
  private total = 0;
  private size = -1;
  constructor(private readonly maxSize: () => number) {}

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.total += chunk.length;
    const out: Buffer[] = [];
    for (;;) {
      if (this.size < 0) {
        if (this.total < 4) break;
        const size = this.take(4).readInt32BE(0);
        if (size < 0 || size > this.maxSize()) throw new ProtocolError(`frame size ${size} (at most ${this.maxSize()})`);
        this.size = size;
      }
      if (this.total < this.size) break;
      out.push(this.take(this.size));
      this.size = -1;
    }
    return out;
  }

  private take(n: number): Buffer {
    this.total -= n;
    const first = this.chunks[0];
    if (first && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const parts: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        parts.push(c);
        this.chunks.shift();
        left -= c.length;
      } else {
        parts.push(c.subarray(0, left));
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    return Buffer.concat(parts, n);
  }
}

/** The proxy's shared state: address map, events, SASL settings. */
interface ProxyContext {
  /** Mock broker `host:port` → the proxy listener's port. */
  portFor: Map<string, number>;
  events: ProxyEvent[];
  users: SaslUsers | undefined;
  mechanisms: SaslMechanism[];
  handshakeRange: [number, number];
  authenticateRange: [number, number] | null;
  /** KIP-368's maximum session lifetime, ms; undefined: no re-authentication. */
  sessionLifetimeMs: number | undefined;
}

/** Rewrites the broker addresses of a Metadata answer (v0-v2) to the proxy's. */
function rewriteMetadata(frame: Buffer, version: number, ctx: ProxyContext): Buffer {
  const r = new Reader(frame, 4);
  const head = frame.subarray(0, r.o);
  const count = r.int32();
  if (count < 0) throw new ProtocolError(`Metadata v${version}: broker count ${count}`);
  const brokers: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const nodeId = r.int32();
    const host = r.string()!;
    const port = r.int32();
    const rack = version >= 1 ? r.string(true) : undefined;
    brokers.push(int32(nodeId), ...addressOf(host, port, ctx, `Metadata v${version}`), ...(rack !== undefined ? [str(rack)] : []));
  }
  return Buffer.concat([head, int32(count), ...brokers, frame.subarray(r.o)]);
}

/** Rewrites the coordinator's address of a FindCoordinator answer (v0-v2). */
function rewriteFindCoordinator(frame: Buffer, version: number, ctx: ProxyContext): Buffer {
  const r = new Reader(frame, 4);
  if (version >= 1) r.int32(); // throttle_time_ms
  const errorCode = r.int16();
  if (version >= 1) r.string(true); // error_message
  r.int32(); // node_id
  const before = r.o;
  const host = r.string()!;
  const port = r.int32();
  r.end(`FindCoordinator v${version}`);
  if (errorCode !== 0) return frame; // no coordinator: host "" and port -1, as they are
  return Buffer.concat([frame.subarray(0, before), ...addressOf(host, port, ctx, `FindCoordinator v${version}`)]);
}

function addressOf(host: string, port: number, ctx: ProxyContext, what: string): Buffer[] {
  const proxied = ctx.portFor.get(`${host}:${port}`);
  if (proxied === undefined) throw new ProtocolError(`${what}: broker ${host}:${port} has no proxy listener`);
  return [str('127.0.0.1'), int32(proxied)];
}

/** Rewrites an ApiVersions answer (v0-v2) to list what the proxy understands (file comment). */
function rewriteApiVersions(frame: Buffer, version: number, ctx: ProxyContext): Buffer {
  const r = new Reader(frame, 4);
  const errorCode = r.int16();
  // An unknown version is answered with an error (UNSUPPORTED_VERSION) and the broker's range of
  // ApiVersions, in a layout of its own (KIP-511): passed on as it is, the client asks again.
  if (errorCode !== 0) return frame;
  if (version > 2) throw new ProtocolError(`ApiVersions v${version} answered without an error: not understood by the proxy (at most v2)`);
  const count = r.int32();
  if (count < 0) throw new ProtocolError(`ApiVersions v${version}: ${count} keys`);
  const keys = new Map<number, { min: number; max: number }>();
  for (let i = 0; i < count; i++) {
    const key = r.int16();
    keys.set(key, { min: r.int16(), max: r.int16() });
  }
  if (version >= 1) r.int32(); // throttle_time_ms
  r.end(`ApiVersions v${version}`);
  for (const [key, maxVersion] of Object.entries(MAX_VERSION)) {
    const e = keys.get(Number(key));
    if (e) e.max = Math.min(e.max, maxVersion);
  }
  keys.delete(API.DESCRIBE_CLUSTER);
  keys.delete(API.SASL_HANDSHAKE);
  keys.delete(API.SASL_AUTHENTICATE);
  if (ctx.users) {
    keys.set(API.SASL_HANDSHAKE, { min: ctx.handshakeRange[0], max: ctx.handshakeRange[1] });
    if (ctx.authenticateRange) keys.set(API.SASL_AUTHENTICATE, { min: ctx.authenticateRange[0], max: ctx.authenticateRange[1] });
  }
  const entries = [...keys].filter(([, e]) => e.min <= e.max).sort((a, b) => a[0] - b[0]);
  return Buffer.concat([
    frame.subarray(0, 4),
    int16(0),
    int32(entries.length),
    ...entries.map(([key, e]) => Buffer.concat([int16(key), int16(e.min), int16(e.max)])),
    frame.subarray(r.o - (version >= 1 ? 4 : 0)),
  ]);
}

/** One client connection and its connection to the mock broker. */
class ProxyConnection {
  private state: 'handshake' | 'authenticate' | 'raw' | 'open';
  private readonly fromClient: FrameReader;
  private readonly fromBroker = new FrameReader(() => Number.MAX_SAFE_INTEGER);
  /** Forwarded requests whose answers are rewritten: correlation id → api key and version. */
  private readonly pending = new Map<number, { apiKey: number; version: number }>();
  /** Forwarded requests not answered yet before authentication (answers keep the request order). */
  private unansweredBeforeAuth = 0;
  /** Requests held until the forwarded ones before them are answered. */
  private held: Buffer[] = [];
  private mechanism: SaslMechanism | undefined;
  private handshakeVersion = 0;
  private exchange: SaslExchange | undefined;
  private closed = false;
  /** The principal of the first authentication (a re-authentication must keep it). */
  private principal: string | undefined;
  /** In a KIP-368 re-authentication (after SaslHandshake on an authenticated connection). */
  private reauthenticating = false;
  /** When the session expires (KIP-368), ms since the epoch; undefined: never. */
  private sessionExpiresAt: number | undefined;

  constructor(
    private readonly client: net.Socket,
    private readonly broker: net.Socket,
    private readonly ctx: ProxyContext,
  ) {
    this.state = ctx.users ? 'handshake' : 'open';
    this.fromClient = new FrameReader(() => (this.state === 'open' ? MAX_FRAME : MAX_UNAUTHENTICATED_FRAME));
    client.on('data', (b: Buffer) => this.guard(() => this.fromClient.push(b).forEach((f) => this.onClientFrame(f))));
    broker.on('data', (b: Buffer) => this.guard(() => this.fromBroker.push(b).forEach((f) => this.onBrokerFrame(f))));
    for (const s of [client, broker]) {
      s.on('error', () => this.destroy());
      s.on('close', () => this.destroy());
    }
  }

  private guard(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (e) {
      this.refuse(e instanceof ProtocolError ? `protocol: ${e.message}` : `proxy: ${(e as Error).stack ?? String(e)}`);
    }
  }

  /** Closes without an answer, as a broker does, and records why. */
  private refuse(reason: string): void {
    if (this.closed) return;
    this.ctx.events.push({ type: 'refused', reason });
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.broker.destroy();
  }

  private send(to: net.Socket, frame: Buffer, from?: net.Socket): void {
    if (this.closed) return;
    const ok = to.write(Buffer.concat([int32(frame.length), frame]));
    if (!ok && from) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  }

  private onClientFrame(frame: Buffer): void {
    if (this.closed) return;
    if (this.state !== 'open' && this.unansweredBeforeAuth > 0) {
      this.held.push(frame);
      return;
    }
    if (this.state === 'raw') return this.saslStep(frame, undefined, undefined);
    const r = new Reader(frame);
    const apiKey = r.int16();
    const version = r.int16();
    const correlationId = r.int32();
    if (this.state === 'handshake') {
      if (apiKey === API.API_VERSIONS) return this.forward(frame, apiKey, version, correlationId, true);
      if (apiKey === API.SASL_HANDSHAKE) return this.handshake(r, version, correlationId);
      return this.refuse(`Unexpected Kafka request of type ${apiName(apiKey)} during SASL handshake`);
    }
    if (this.state === 'authenticate') {
      if (apiKey !== API.SASL_AUTHENTICATE) return this.refuse(`Unexpected Kafka request of type ${apiName(apiKey)} during SASL authentication`);
      return this.authenticate(r, version, correlationId);
    }
    if (apiKey === API.SASL_HANDSHAKE && this.ctx.users && this.ctx.sessionLifetimeMs !== undefined) return this.reauthenticate(r, version, correlationId);
    if (this.sessionExpiresAt !== undefined && Date.now() > this.sessionExpiresAt) {
      return this.refuse(`${apiName(apiKey)} after the session expired ${Date.now() - this.sessionExpiresAt} ms ago (KIP-368: re-authenticate first)`);
    }
    if (apiKey === API.SASL_HANDSHAKE || apiKey === API.SASL_AUTHENTICATE) return this.refuse(`${apiName(apiKey)} on a connection already ${this.ctx.users ? 'authenticated' : 'without SASL'}`);
    if (apiKey === API.DESCRIBE_CLUSTER) return this.refuse('DESCRIBE_CLUSTER is not proxied (its broker addresses are not rewritten)');
    const max = MAX_VERSION[apiKey];
    if (max !== undefined && version > max && apiKey !== API.API_VERSIONS) return this.refuse(`${apiName(apiKey)} v${version} is not understood by the proxy (at most v${max})`);
    this.forward(frame, apiKey, version, correlationId, false);
  }

  private forward(frame: Buffer, apiKey: number, version: number, correlationId: number, beforeAuth: boolean): void {
    if (MAX_VERSION[apiKey] !== undefined) this.pending.set(correlationId, { apiKey, version });
    if (beforeAuth) this.unansweredBeforeAuth++;
    this.send(this.broker, frame, this.client);
  }

  private onBrokerFrame(frame: Buffer): void {
    if (frame.length < 4) throw new ProtocolError('an answer shorter than its correlation id');
    const correlationId = frame.readInt32BE(0);
    const req = this.pending.get(correlationId);
    let out = frame;
    if (req) {
      this.pending.delete(correlationId);
      if (req.apiKey === API.METADATA) out = rewriteMetadata(frame, req.version, this.ctx);
      else if (req.apiKey === API.FIND_COORDINATOR) out = rewriteFindCoordinator(frame, req.version, this.ctx);
      else out = rewriteApiVersions(frame, req.version, this.ctx);
    }
    this.send(this.client, out, this.broker);
    if (this.unansweredBeforeAuth > 0 && --this.unansweredBeforeAuth === 0) {
      const held = this.held;
      this.held = [];
      for (const f of held) this.onClientFrame(f);
    }
  }

  /** SaslHandshake v0/v1: `mechanism` (STRING); answer `error_code, [mechanisms]`. */
  private handshake(r: Reader, version: number, correlationId: number): void {
    const [lo, hi] = this.ctx.handshakeRange;
    if (version < lo || version > hi) return this.refuse(`SASL_HANDSHAKE v${version} (advertised v${lo}-v${hi})`);
    r.string(true); // client_id (request header v1)
    const mechanism = r.string()!;
    r.end('SaslHandshake');
    const enabled = this.ctx.mechanisms;
    const ok = (enabled as string[]).includes(mechanism);
    this.send(this.client, Buffer.concat([int32(correlationId), int16(ok ? 0 : ERR_UNSUPPORTED_SASL_MECHANISM), int32(enabled.length), ...enabled.map((m) => str(m))]));
    if (!ok) {
      this.ctx.events.push({ type: 'unsupported-mechanism', mechanism });
      this.closed = true;
      this.client.end();
      this.broker.destroy();
      return;
    }
    this.mechanism = mechanism as SaslMechanism;
    this.handshakeVersion = version;
    this.exchange = this.ctx.users!.exchange(this.mechanism);
    this.state = version === 0 ? 'raw' : 'authenticate';
  }

  /** KIP-368: SaslHandshake v1+ on an authenticated connection, for the same mechanism, starts a re-authentication. */
  private reauthenticate(r: Reader, version: number, correlationId: number): void {
    if (version < 1) return this.refuse(`SASL_HANDSHAKE v${version} cannot re-authenticate (KIP-368 needs v1)`);
    r.string(true); // client_id
    const mechanism = r.string()!;
    r.end('SaslHandshake');
    if (mechanism !== this.mechanism) return this.refuse(`re-authentication with ${mechanism}, not ${this.mechanism ?? 'the mechanism of the first authentication'}`);
    const enabled = this.ctx.mechanisms;
    this.send(this.client, Buffer.concat([int32(correlationId), int16(0), int32(enabled.length), ...enabled.map((m) => str(m))]));
    this.exchange = this.ctx.users!.exchange(this.mechanism);
    this.reauthenticating = true;
    this.state = 'authenticate';
  }

  /** SaslAuthenticate v0/v1: `auth_bytes` (BYTES). */
  private authenticate(r: Reader, version: number, correlationId: number): void {
    const range = this.ctx.authenticateRange;
    if (!range || version < range[0] || version > range[1]) return this.refuse(`SASL_AUTHENTICATE v${version} (advertised ${range ? `v${range[0]}-v${range[1]}` : 'none'})`);
    r.string(true); // client_id
    const token = r.bytes();
    r.end('SaslAuthenticate');
    this.saslStep(token, version, correlationId);
  }

  /** One SASL token: answered in a SaslAuthenticate response (`version`) or raw (after a v0 handshake). */
  private saslStep(token: Buffer, version: number | undefined, correlationId: number | undefined): void {
    const mechanism = this.mechanism!;
    let answer: { response: Buffer; done: boolean };
    try {
      answer = this.exchange!.step(token);
      if (answer.done && this.reauthenticating && this.exchange!.user !== this.principal) {
        throw new SaslFailure(`Cannot change principals during re-authentication from ${this.principal}: ${this.exchange!.user}`);
      }
    } catch (e) {
      if (!(e instanceof SaslFailure)) throw e;
      this.ctx.events.push({ type: 'auth-failed', mechanism, message: e.message });
      if (version === undefined) return this.refuse(`SASL ${mechanism} (raw tokens) failed: ${e.message}`);
      this.send(this.client, this.authenticateResponse(version, correlationId!, ERR_SASL_AUTHENTICATION_FAILED, e.message, Buffer.alloc(0)));
      this.closed = true;
      this.client.end();
      this.broker.destroy();
      return;
    }
    // KIP-368: the session lasts the configured maximum, or less when the credential expires first.
    let lifetime = 0;
    if (answer.done && this.ctx.sessionLifetimeMs !== undefined) {
      const expiresAt = this.exchange!.expiresAtMs;
      lifetime = Math.max(1, Math.min(this.ctx.sessionLifetimeMs, expiresAt !== undefined ? expiresAt - Date.now() : Infinity));
      this.sessionExpiresAt = Date.now() + lifetime;
    }
    if (version === undefined) this.send(this.client, answer.response);
    else this.send(this.client, this.authenticateResponse(version, correlationId!, 0, null, answer.response, lifetime));
    if (answer.done) {
      this.state = 'open';
      const user = this.exchange!.user!;
      if (this.reauthenticating) {
        this.reauthenticating = false;
        this.ctx.events.push({ type: 'reauthenticated', mechanism, user, sessionLifetimeMs: lifetime });
      } else {
        this.principal = user;
        this.ctx.events.push({ type: 'authenticated', mechanism, user, handshakeVersion: this.handshakeVersion, authenticateVersion: version });
      }
    }
  }

  private authenticateResponse(version: number, correlationId: number, errorCode: number, message: string | null, bytes: Buffer, sessionLifetimeMs = 0): Buffer {
    // v1 adds session_lifetime_ms (int64): 0 = no re-authentication.
    const lifetime = Buffer.alloc(8);
    lifetime.writeBigInt64BE(BigInt(sessionLifetimeMs));
    return Buffer.concat([int32(correlationId), int16(errorCode), str(message), int32(bytes.length), bytes, ...(version >= 1 ? [lifetime] : [])]);
  }
}

/** Starts one listener per mock broker on 127.0.0.1 (see the file comment). */
export async function startKafkaAuthProxy(options: KafkaAuthProxyOptions): Promise<KafkaAuthProxy> {
  const oauthBearer = options.sasl?.oauthBearer;
  if (options.sasl?.mechanisms.includes('OAUTHBEARER') && !oauthBearer) throw new Error('kafka-auth-proxy: OAUTHBEARER needs sasl.oauthBearer (a token verifier)');
  const ctx: ProxyContext = {
    portFor: new Map(),
    events: [],
    users: options.sasl ? new SaslUsers(options.sasl.users, oauthBearer ? { oauthBearer } : {}) : undefined,
    mechanisms: options.sasl?.mechanisms ?? [],
    handshakeRange: options.advertise?.saslHandshake ?? [0, 1],
    authenticateRange: options.advertise?.saslAuthenticate === null ? null : (options.advertise?.saslAuthenticate ?? [0, 1]),
    sessionLifetimeMs: options.sasl?.sessionLifetimeMs,
  };
  const connections = new Set<ProxyConnection>();
  const servers: net.Server[] = [];
  const brokers: string[] = [];
  try {
    for (const up of options.upstream) {
      const i = up.lastIndexOf(':');
      const host = up.slice(0, i);
      const port = Number(up.slice(i + 1));
      if (host !== '127.0.0.1') throw new Error(`kafka-auth-proxy: upstream ${up} is not on 127.0.0.1`);
      const onSocket = (client: net.Socket): void => {
        const broker = net.connect({ host, port });
        const c = new ProxyConnection(client, broker, ctx);
        connections.add(c);
        client.once('close', () => connections.delete(c));
      };
      const server = options.tls ? tls.createServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2' }, onSocket) : net.createServer(onSocket);
      if (options.tls) server.on('tlsClientError', (e: Error) => ctx.events.push({ type: 'tls-error', message: e.message }));
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const proxied = (server.address() as net.AddressInfo).port;
      ctx.portFor.set(up, proxied);
      brokers.push(`127.0.0.1:${proxied}`);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  let closing: Promise<void> | undefined;
  return {
    brokers,
    bootstrap: brokers.join(','),
    events: ctx.events,
    resetUsers(users) {
      if (!ctx.users) throw new Error('kafka-auth-proxy: no SASL');
      ctx.users = new SaslUsers(users, oauthBearer ? { oauthBearer } : {});
      for (const c of connections) c.destroy();
    },
    close() {
      closing ??= (async () => {
        const done = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
        for (const c of connections) c.destroy();
        await Promise.all(done);
      })();
      return closing;
    },
  };
}
