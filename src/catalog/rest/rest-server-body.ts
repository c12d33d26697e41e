/**
 * Reading request bodies within two limits: one per request (413, the request can never succeed)
 * and one over all requests in flight together (429 with `Retry-After`, the same request may
 * succeed later; 429 rather than 503 because clients read a 503 on a commit as "may have been
 * applied", while this request provably never reached a route). Without the global cap, N
 * concurrent bodies just under the per-request limit hold N times that much memory.
 *
 * Bytes are counted as they arrive and released when the request has been answered; a declared
 * `Content-Length` over either limit is refused before anything is read.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './rest-server-routes.js';

/** The bytes of request bodies held by all requests in flight. */
export class BodyBudget {
  private used = 0;

  /**
   * @param perRequest largest body of one request
   * @param total largest sum of the bodies held at once
   */
  constructor(
    readonly perRequest: number,
    readonly total: number,
  ) {}

  /** Bytes currently held (tests, diagnostics). */
  get inFlight(): number {
    return this.used;
  }

  private tooBusy(): HttpError {
    return new HttpError(429, 'TooManyRequestsException', `request refused: request bodies in flight exceed ${this.total} bytes; retry later`, { 'retry-after': '1' });
  }

  /**
   * Reads the whole body of `req` as UTF-8; `release` must be called once the request has been
   * answered (also when this throws).
   */
  read(req: IncomingMessage): { text: Promise<string>; release: () => void } {
    let held = 0;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.used -= held;
      held = 0;
    };
    const text = (async () => {
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared)) {
        if (declared > this.perRequest) throw new HttpError(413, 'RequestTooLargeException', `request body exceeds ${this.perRequest} bytes`);
        if (this.used + declared > this.total) throw this.tooBusy();
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) {
        const b = chunk as Buffer;
        if (held + b.length > this.perRequest) throw new HttpError(413, 'RequestTooLargeException', `request body exceeds ${this.perRequest} bytes`);
        if (this.used + b.length > this.total) throw this.tooBusy();
        held += b.length;
        this.used += b.length;
        chunks.push(b);
      }
      return Buffer.concat(chunks).toString('utf8');
    })();
    return { text, release };
  }
}
