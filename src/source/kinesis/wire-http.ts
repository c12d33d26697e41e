/**
 * A small, strict HTTP/1.1 client for one call only: the shard readers' GetRecords
 * (`get-records-http.ts`). Node's HTTP client allocates an ArrayBuffer per socket read and then
 * copies every body chunk into another, and the body was joined once more: about twice a
 * response's size in short-lived external memory, which drove most of the real path's full
 * garbage collections (bench/notes.md items 30 and 31). Here each connection reads straight into
 * one buffer of its own (`net.Socket`'s `onread`, TLS included), reused from response to
 * response: the body is a view of it, valid until the connection is released.
 *
 * Strict on the wire: a status line `HTTP/1.x ddd reason`, header names as RFC 9110 tokens,
 * no folded lines, no control characters in values, one Content-Length (repeated only with the
 * same value) or `Transfer-Encoding: chunked` (never both), chunk sizes in hex with CRLFs where
 * they belong; a body without either is read to the connection's end. A head over 64 KiB, or a
 * body declared or grown past {@link WIRE_MAX_BODY}, is refused. Keep-alive: a connection is
 * reused only when its response was read to its exact end, HTTP/1.1 and no `Connection: close`;
 * bytes arriving on an idle connection close it.
 *
 * Failures are shaped as Node's HTTP client and the SDK's handler shape them, so the callers'
 * classification is unchanged: nothing listening is the socket's own error (`ECONNREFUSED`), a
 * connection closed before the head `socket hang up` (`ECONNRESET`, named `TimeoutError` as the
 * SDK names it), closed mid-body `aborted` (`ECONNRESET`), timeouts and aborts as the SDK's.
 * A malformed response is a `SOURCE_READ_FAILED` FloeError (Node's parser errors are not
 * retried either).
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { FloeError } from '../../errors.js';

/**
 * The largest body read: a GetRecords answer is at most 10 MB of data (about 14 MB in base64)
 * plus its envelope (10,000 records, keys of up to 256 characters, escaped at worst 6 bytes each).
 */
export const WIRE_MAX_BODY = 32 * 1024 * 1024;
/** The largest response head. */
const MAX_HEAD = 64 * 1024;
/** The smallest response buffer. */
const MIN_BUFFER = 64 * 1024;
/** Free response buffers a pool keeps (beyond, freed buffers are left to the garbage collector). */
const MAX_FREE_BYTES = 16 * 1024 * 1024;
/**
 * Where a connection without a response buffer of its own reads (idle, waiting for an answer,
 * or holding a response not yet released): the bytes are copied out (or refused) in the same
 * callback, so one buffer serves every connection of the process.
 */
const LANDING = Buffer.allocUnsafeSlow(MIN_BUFFER);
const NONE = Buffer.alloc(0);

/**
 * Response buffers shared by a pool's connections: a connection takes one when the first bytes
 * of a response arrive and gives it back when the response is released, so buffers are held by
 * responses being read, not by every open connection (64 idle-most-of-the-time connections kept
 * 64 buffers otherwise: 25 MB more peak RSS at 64 shards, bench/notes.md item 31).
 */
class BufferPool {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /** The largest free buffer (the likeliest to fit a response of unknown size), or a new one. */
  take(): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) if (best < 0 || this.free[i]!.byteLength > this.free[best]!.byteLength) best = i;
    return best < 0 ? Buffer.allocUnsafeSlow(MIN_BUFFER) : this.remove(best);
  }

  /** The smallest free buffer of at least `size` bytes, or a new one (64 KiB multiples). */
  takeAtLeast(size: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.byteLength;
      if (len >= size && (best < 0 || len < this.free[best]!.byteLength)) best = i;
    }
    return best < 0 ? Buffer.allocUnsafeSlow(Math.ceil(size / MIN_BUFFER) * MIN_BUFFER) : this.remove(best);
  }

  put(b: Buffer): void {
    if (b === NONE || b === LANDING || this.freeBytes + b.byteLength > MAX_FREE_BYTES) return;
    this.free.push(b);
    this.freeBytes += b.byteLength;
  }

  private remove(i: number): Buffer {
    const b = this.free[i]!;
    this.free[i] = this.free[this.free.length - 1]!;
    this.free.pop();
    this.freeBytes -= b.byteLength;
    return b;
  }
}

/** Where requests go. */
export interface WireEndpoint {
  protocol: 'http:' | 'https:';
  /** Host name or address (IPv6 without brackets). */
  host: string;
  port: number;
}

/** Settings of a {@link WirePool}. */
export interface WirePoolOptions {
  /** Most connections open at once (per endpoint); calls beyond wait for one. */
  maxSockets: number;
  /** Time allowed to establish a connection (the SDK handler's `connectionTimeout`); 0 = none. */
  connectionTimeoutMs: number;
  /** Time allowed for a whole call, head and body (the SDK handler's `requestTimeout`). */
  requestTimeoutMs: number;
  /** TLS settings beside host and SNI (tests: a CA); default: Node's CAs, verification on. */
  tls?: ConnectionOptions;
}

/** A response read to its end. `body` is a view of the connection's buffer: see {@link release}. */
export interface WireResponse {
  statusCode: number;
  reason: string;
  /** Lower-case names; repeated headers joined as Node's IncomingMessage joins them. */
  headers: Record<string, string>;
  body: Uint8Array;
  /** Gives the connection back (reused or closed): `body` must not be read after this. */
  release(): void;
}

/** Headers of which Node keeps the first when repeated (IncomingMessage's `_addHeaderLine`). */
const FIRST_WINS = new Set([
  'content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization',
  'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag',
  'last-modified', 'server', 'age', 'expires',
]);

const TOKEN_RE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex
const BAD_VALUE_RE = /[\x00-\x08\x0a-\x1f\x7f]/;
const STATUS_RE = /^HTTP\/1\.([01]) (\d{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;

function protocolError(what: string): FloeError {
  return new FloeError('SOURCE_READ_FAILED', `kinesis: GetRecords response: ${what}`);
}

/** Node's error for a connection closed before any response (renamed as the SDK's handler does). */
function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
}

/** A connection closed in the middle of a body (as the previous path said it). */
function abortedMidBody(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** The SDK handler's abort error (`buildAbortError` of @smithy/node-http-handler). */
export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const e = new Error(reason !== undefined && !(reason instanceof Error) ? String(reason) : 'Request aborted');
  e.name = 'AbortError';
  if (reason instanceof Error) (e as Error & { cause?: unknown }).cause = reason;
  return e;
}

/** Socket errors the SDK handler renames `TimeoutError` (its NODEJS_TIMEOUT_ERROR_CODES). */
const TIMEOUT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

type Phase = 'idle' | 'head' | 'length' | 'chunked' | 'close' | 'done' | 'dead';
type ChunkState = 'size' | 'data' | 'data-crlf' | 'trailer';

/** One connection; a response buffer from the pool while it reads and holds a response. */
class WireConnection {
  readonly socket: Socket;
  /** The response buffer, from the pool's buffers while a response is read and held; NONE otherwise. */
  private buf: Buffer = NONE;
  /** True from the response's completion to its release (its body is a view of `buf`). */
  private handedOut = false;
  /** Bytes received into `buf`. */
  private raw = 0;
  phase: Phase = 'idle';
  connected = false;
  private headScan = 0;
  private bodyStart = 0;
  /** length: the body's end; chunked: the end of the body bytes compacted so far. */
  private bodyEnd = 0;
  private chunk: ChunkState = 'size';
  private chunkLeft = 0;
  private statusCode = 0;
  private reason = '';
  private headers: Record<string, string> = {};
  reusable = false;
  private resolve: ((r: WireResponse) => void) | undefined;
  private reject: ((e: Error) => void) | undefined;

  constructor(
    readonly endpoint: WireEndpoint,
    options: WirePoolOptions,
    private readonly buffers: BufferPool,
    private readonly onGone: (c: WireConnection) => void,
  ) {
    const onread = {
      buffer: () => this.nextBuffer(),
      callback: (n: number, into: Uint8Array): boolean => {
        this.onData(n, into);
        return true; // keep reading (false would pause the socket)
      },
    };
    if (endpoint.protocol === 'https:') {
      this.socket = tlsConnect({
        ...options.tls,
        host: endpoint.host,
        port: endpoint.port,
        ...(isIP(endpoint.host) === 0 ? { servername: endpoint.host } : {}),
        onread,
      } as ConnectionOptions);
      this.socket.once('secureConnect', () => (this.connected = true));
    } else {
      this.socket = netConnect({ host: endpoint.host, port: endpoint.port, onread });
      this.socket.once('connect', () => (this.connected = true));
    }
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 1000);
    this.socket.on('error', (e: Error & { code?: string }) => this.gone(e));
    this.socket.on('end', () => this.gone(undefined));
    this.socket.on('close', () => this.gone(undefined));
  }

  /** The buffer the socket's next read goes into: the free end of `buf`, grown when full. */
  private nextBuffer(): Buffer {
    // No response being read (or one read whole, its body not to be touched): the shared landing
    // buffer, copied out or refused by onData.
    if (this.phase === 'dead' || this.phase === 'done' || this.phase === 'idle' || this.buf === NONE) return LANDING;
    if (this.raw === this.buf.byteLength) {
      const limit = this.phase === 'head' ? MAX_HEAD : this.bodyStart + WIRE_MAX_BODY + 1024;
      if (this.buf.byteLength >= limit) {
        this.fail(this.phase === 'head' ? protocolError(`head larger than ${MAX_HEAD} bytes`) : protocolError(`body larger than ${WIRE_MAX_BODY} bytes`));
        return LANDING; // the socket is closed; nothing more is kept
      }
      this.grow(Math.min(limit, this.buf.byteLength * 2));
    }
    return this.buf.subarray(this.raw);
  }

  private grow(size: number): void {
    if (size <= this.buf.byteLength) return;
    const next = this.buffers.takeAtLeast(size);
    this.buf.copy(next, 0, 0, this.raw);
    this.buffers.put(this.buf);
    this.buf = next;
  }

  /** Starts a request: writes it, then reads the response into the buffer. */
  send(head: string, body: Buffer): Promise<WireResponse> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.raw = 0;
      this.headScan = 0;
      this.headers = {};
      this.reusable = false;
      this.phase = 'head';
      this.socket.ref();
      this.socket.cork();
      this.socket.write(head, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    });
  }

  private onData(n: number, into: Uint8Array): void {
    if (this.phase === 'dead') return;
    if (this.phase === 'idle' || this.phase === 'done') {
      // Nothing was asked: a confused or hostile server. The connection is not used again.
      this.reusable = false;
      this.destroy();
      return;
    }
    if (into.buffer !== this.buf.buffer || into.byteOffset !== this.buf.byteOffset + this.raw) {
      // The first bytes of a response, read into the landing buffer: into a buffer of its own.
      if (this.buf === NONE) this.buf = this.buffers.take();
      if (this.raw + n > this.buf.byteLength) this.grow(Math.max(this.raw + n, 2 * this.buf.byteLength));
      this.buf.set(into.subarray(0, n), this.raw);
    }
    this.raw += n;
    try {
      this.advance();
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private advance(): void {
    if (this.phase === 'head' && !this.readHead()) return;
    if (this.phase === 'length') {
      if (this.raw < this.bodyEnd) return;
      this.complete(this.bodyEnd);
    } else if (this.phase === 'chunked') {
      this.readChunks();
    }
    // 'close': read until the connection's end (gone).
  }

  /** Parses the head once it is complete; false while it is not. */
  private readHead(): boolean {
    for (;;) {
      // Only the bytes received: the rest of the buffer holds an earlier response.
      const end = this.buf.subarray(0, this.raw).indexOf('\r\n\r\n', Math.max(0, this.headScan - 3), 'latin1');
      if (end < 0) {
        this.headScan = this.raw;
        if (this.raw >= MAX_HEAD) throw protocolError(`head larger than ${MAX_HEAD} bytes`);
        return false;
      }
      const lines = this.buf.toString('latin1', 0, end).split('\r\n');
      const m = STATUS_RE.exec(lines[0]!);
      if (m === null) throw protocolError(`malformed status line ${JSON.stringify(lines[0]!.slice(0, 100))}`);
      const minor = m[1];
      const status = Number(m[2]);
      const headers: Record<string, string> = {};
      let lengths: string | undefined;
      for (let i = 1; i < lines.length; i++) {
        const line = lines[i]!;
        const colon = line.indexOf(':');
        const name = colon > 0 ? line.slice(0, colon) : '';
        if (!TOKEN_RE.test(name)) throw protocolError(`malformed header line ${JSON.stringify(line.slice(0, 100))}`);
        const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
        if (BAD_VALUE_RE.test(value)) throw protocolError(`control character in header ${name}`);
        const key = name.toLowerCase();
        if (key === 'content-length') {
          if (lengths !== undefined && lengths !== value) throw protocolError('conflicting Content-Length headers');
          lengths = value;
        }
        const prev = headers[key];
        if (prev === undefined) headers[key] = value;
        else if (!FIRST_WINS.has(key)) headers[key] = `${prev}${key === 'set-cookie' ? ',' : ', '}${value}`;
      }
      const headEnd = end + 4;
      if (status >= 100 && status < 200) {
        // An interim response (100 Continue): dropped, the final one follows.
        this.buf.copy(this.buf, 0, headEnd, this.raw);
        this.raw -= headEnd;
        this.headScan = 0;
        continue;
      }
      this.statusCode = status;
      this.reason = m[3] ?? '';
      this.headers = headers;
      this.bodyStart = headEnd;
      const te = headers['transfer-encoding'];
      const connection = (headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
      this.reusable = minor === '1' && !connection.includes('close');
      if (status === 204 || status === 304) {
        if (te !== undefined || (lengths !== undefined && lengths !== '0')) throw protocolError(`a ${status} with a body`);
        this.phase = 'length';
        this.bodyEnd = headEnd;
      } else if (te !== undefined) {
        if (lengths !== undefined) throw protocolError('both Transfer-Encoding and Content-Length');
        if (te.toLowerCase() !== 'chunked') throw protocolError(`unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 100))}`);
        this.phase = 'chunked';
        this.chunk = 'size';
        this.bodyEnd = headEnd;
        this.headScan = headEnd; // the unparsed bytes start here
      } else if (lengths !== undefined) {
        if (!/^\d{1,10}$/.test(lengths)) throw protocolError(`malformed Content-Length ${JSON.stringify(lengths.slice(0, 100))}`);
        const length = Number(lengths);
        if (length > WIRE_MAX_BODY) throw protocolError(`declared length ${length} over the ${WIRE_MAX_BODY}-byte limit`);
        this.phase = 'length';
        this.bodyEnd = headEnd + length;
        this.grow(Math.max(this.bodyEnd, this.raw));
      } else {
        this.phase = 'close';
        this.reusable = false;
      }
      return true;
    }
  }

  /**
   * Reads chunked framing in place: chunk data is moved down over the size lines, so the body
   * ends up whole at `bodyStart`; `headScan` is where the unparsed bytes start.
   */
  private readChunks(): void {
    const b = this.buf;
    let p = this.headScan;
    let w = this.bodyEnd;
    const raw = this.raw;
    for (;;) {
      if (this.chunk === 'data') {
        const take = Math.min(this.chunkLeft, raw - p);
        if (take === 0) break;
        if (w !== p) b.copy(b, w, p, p + take);
        w += take;
        p += take;
        this.chunkLeft -= take;
        if (w - this.bodyStart > WIRE_MAX_BODY) throw protocolError(`body larger than ${WIRE_MAX_BODY} bytes`);
        if (this.chunkLeft === 0) this.chunk = 'data-crlf';
        continue;
      }
      if (this.chunk === 'data-crlf') {
        if (raw - p < 2) break;
        if (b[p] !== 0x0d || b[p + 1] !== 0x0a) throw protocolError('chunk data not followed by CRLF');
        p += 2;
        this.chunk = 'size';
        continue;
      }
      const eol = b.subarray(0, raw).indexOf('\r\n', p, 'latin1');
      if (eol < 0) {
        if (raw - p > 1024) throw protocolError('chunk line longer than 1024 bytes');
        break;
      }
      const line = b.toString('latin1', p, eol);
      p = eol + 2;
      if (this.chunk === 'trailer') {
        if (line.length === 0) {
          this.bodyEnd = w;
          this.headScan = p;
          if (p !== raw) this.reusable = false; // bytes past the response: not reused
          this.complete(w);
          return;
        }
        const colon = line.indexOf(':');
        if (colon <= 0 || !TOKEN_RE.test(line.slice(0, colon)) || BAD_VALUE_RE.test(line)) throw protocolError('malformed trailer line');
        continue;
      }
      const m = /^([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?$/.exec(line);
      if (m === null) throw protocolError(`malformed chunk size line ${JSON.stringify(line.slice(0, 100))}`);
      const size = parseInt(m[1]!, 16);
      if (size > WIRE_MAX_BODY) throw protocolError(`chunk of ${size} bytes over the ${WIRE_MAX_BODY}-byte limit`);
      if (size === 0) this.chunk = 'trailer';
      else {
        this.chunk = 'data';
        this.chunkLeft = size;
      }
    }
    // Keep the unparsed bytes right after the body: the buffer holds the body plus one read.
    if (p !== w) b.copy(b, w, p, raw);
    this.raw = w + (raw - p);
    this.bodyEnd = w;
    this.headScan = w;
  }

  private complete(end: number): void {
    if (this.phase === 'length' && this.raw !== end) this.reusable = false;
    this.phase = 'done';
    this.handedOut = true;
    const resolve = this.resolve;
    this.resolve = this.reject = undefined;
    let released = false;
    resolve?.({
      statusCode: this.statusCode,
      reason: this.reason,
      headers: this.headers,
      body: this.buf.subarray(this.bodyStart, end),
      release: () => {
        if (released) return;
        released = true;
        this.releaseBody();
      },
    });
  }

  /** The pool's hook, set by {@link WirePool}: called when the connection is free again. */
  onFree: (c: WireConnection) => void = () => {};

  private releaseBody(): void {
    // The body is no longer read: its buffer serves the next response of any connection (reads
    // of this one go to the landing buffer since the response completed).
    this.handedOut = false;
    this.buffers.put(this.buf);
    this.buf = NONE;
    if (this.phase !== 'done' || !this.reusable) {
      this.destroy();
      return;
    }
    this.raw = 0;
    this.phase = 'idle';
    this.socket.unref();
    this.onFree(this);
  }

  /** Fails the call in progress (if any) and closes the connection. */
  fail(e: Error): void {
    const reject = this.reject;
    this.resolve = this.reject = undefined;
    // A response cut short: its buffer is dropped (not pooled: the socket may have had a read
    // pending into it); a response handed out keeps it until released.
    if (!this.handedOut) this.buf = NONE;
    this.destroy();
    reject?.(e);
  }

  destroy(): void {
    if (this.phase !== 'dead') {
      this.phase = 'dead';
      this.onGone(this);
    }
    this.socket.destroy();
  }

  /** The socket ended, closed or failed. */
  private gone(e: (Error & { code?: string }) | undefined): void {
    if (this.phase === 'close' && e === undefined) {
      // A body read to the connection's end.
      this.reusable = false;
      this.complete(this.raw);
      return;
    }
    if (this.reject !== undefined) {
      let err: Error;
      if (this.phase === 'head') {
        if (e === undefined) err = hangUp();
        else {
          if (e.code !== undefined && TIMEOUT_CODES.has(e.code) && e.name !== 'TimeoutError') e.name = 'TimeoutError';
          err = e;
        }
      } else {
        err = abortedMidBody();
      }
      this.fail(err);
      return;
    }
    if (this.phase === 'done') this.reusable = false; // a response not yet released: closed at release
    else this.destroy(); // idle: dropped from the pool
  }
}

/** Connections per endpoint, reused while their responses are read to the end. */
export class WirePool {
  private readonly idle = new Map<string, WireConnection[]>();
  private readonly open = new Map<string, number>();
  private readonly waiting = new Map<string, (() => void)[]>();
  private destroyed = false;
  private readonly all = new Set<WireConnection>();
  private readonly buffers = new BufferPool();

  constructor(private readonly options: WirePoolOptions) {}

  /** Connections open and calls waiting for one (the read stats' socket counts). */
  counts(): { sockets: number; queued: number } {
    let queued = 0;
    for (const w of this.waiting.values()) queued += w.length;
    return { sockets: this.all.size, queued };
  }

  /**
   * Sends `head` (the request line and headers, CRLF-terminated, ending in an empty line) and
   * `body`, and resolves with the whole response. Timeouts and `signal` as the SDK's handler.
   */
  async request(endpoint: WireEndpoint, head: string, body: Buffer, signal: AbortSignal): Promise<WireResponse> {
    if (this.destroyed) throw Object.assign(new Error('kinesis: the client was destroyed'), { name: 'AbortError' });
    if (signal.aborted) throw abortError(signal);
    const key = `${endpoint.protocol}//${endpoint.host}:${endpoint.port}`;
    const deadline = Date.now() + this.options.requestTimeoutMs;
    const conn = await this.take(key, endpoint, signal);
    return new Promise<WireResponse>((resolve, reject) => {
      let settled = false;
      const finish = (): void => {
        settled = true;
        clearTimeout(timer);
        if (connectTimer !== undefined) clearTimeout(connectTimer);
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        if (settled) return;
        finish();
        conn.fail(abortError(signal));
        reject(abortError(signal));
      };
      const timer = setTimeout(
        () => {
          if (settled) return;
          finish();
          const e = Object.assign(new Error(`@smithy/node-http-handler - [ERROR] a request has exceeded the configured ${this.options.requestTimeoutMs} ms requestTimeout.`), {
            name: 'TimeoutError',
            code: 'ETIMEDOUT',
          });
          conn.fail(e);
          reject(e);
        },
        Math.max(0, deadline - Date.now()),
      );
      let connectTimer: NodeJS.Timeout | undefined;
      if (!conn.connected && this.options.connectionTimeoutMs > 0) {
        connectTimer = setTimeout(() => {
          if (settled || conn.connected) return;
          finish();
          const e = Object.assign(
            new Error(`@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of ${this.options.connectionTimeoutMs} ms.`),
            { name: 'TimeoutError' },
          );
          conn.fail(e);
          reject(e);
        }, this.options.connectionTimeoutMs);
        conn.socket.once(endpoint.protocol === 'https:' ? 'secureConnect' : 'connect', () => connectTimer !== undefined && clearTimeout(connectTimer));
      }
      signal.addEventListener('abort', onAbort, { once: true });
      conn.send(head, body).then(
        (r) => {
          if (settled) return r.release();
          finish();
          resolve(r);
        },
        (e: Error) => {
          if (settled) return;
          finish();
          reject(e);
        },
      );
    });
  }

  /** An idle connection, a new one under the cap, or the next one freed. */
  private async take(key: string, endpoint: WireEndpoint, signal: AbortSignal): Promise<WireConnection> {
    for (;;) {
      const idle = this.idle.get(key);
      const reused = idle?.pop();
      if (reused !== undefined) return reused;
      const open = this.open.get(key) ?? 0;
      if (open < this.options.maxSockets) {
        this.open.set(key, open + 1);
        const conn = new WireConnection(endpoint, this.options, this.buffers, (c) => this.forget(key, c));
        conn.onFree = (c) => this.free(key, c);
        this.all.add(conn);
        return conn;
      }
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(key) ?? [];
        this.waiting.set(key, queue);
        const wake = (): void => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = (): void => {
          const i = queue.indexOf(wake);
          if (i >= 0) queue.splice(i, 1);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        queue.push(wake);
      });
    }
  }

  private free(key: string, c: WireConnection): void {
    if (this.destroyed) return c.destroy();
    const idle = this.idle.get(key) ?? [];
    this.idle.set(key, idle);
    idle.push(c);
    this.waiting.get(key)?.shift()?.();
  }

  private forget(key: string, c: WireConnection): void {
    if (!this.all.delete(c)) return;
    this.open.set(key, Math.max(0, (this.open.get(key) ?? 1) - 1));
    const idle = this.idle.get(key);
    const i = idle?.indexOf(c) ?? -1;
    if (i >= 0) idle!.splice(i, 1);
    this.waiting.get(key)?.shift()?.();
  }

  /** Closes every connection; later requests fail. */
  destroy(): void {
    this.destroyed = true;
    for (const c of [...this.all]) c.destroy();
  }
}
