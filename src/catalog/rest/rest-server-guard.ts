/**
 * The checks every request to floe's REST catalog server passes before its body is read or any
 * route runs, against the attacks a catalog reachable over HTTP invites:
 *
 * - `Host` must name the server as it was bound (DNS rebinding: a web page whose host name
 *   resolves to 127.0.0.1 would otherwise talk to a loopback server as its own origin). A
 *   loopback server answers to `localhost`, `127.0.0.1`, `[::1]` and its bound address, with its
 *   port; a server bound to one address to that address; a server bound to all interfaces
 *   (`0.0.0.0`, `::`) to the addresses of this machine's interfaces and its host name. More names
 *   (a proxy's) via `allowedHosts`.
 * - An `Origin` header (sent by browsers) must be one of those hosts, over http: the server serves
 *   no web pages, so any other origin is a page trying to use it (403).
 * - `Authorization: Bearer <token>` when the server has a token, compared in constant time (401
 *   with `WWW-Authenticate: Bearer`).
 * - A request with a body (and every POST, PUT, PATCH) must declare a JSON content type (415):
 *   `text/plain`, form encodings and no type at all are what a web page can send without a CORS
 *   preflight. The one exception is a form sent to the OAuth2 token endpoint, which this server
 *   answers 406 without acting (so that an OAuth2 client learns that OAuth2 is not supported).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { HttpError } from './rest-server-routes.js';

/** True for a loopback host: `localhost`, `127.x.x.x`, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** True for the wildcard addresses that bind every interface. */
export function isWildcardHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === '0.0.0.0' || h === '::' || h === '';
}

/** A new random token (256 bits, base64url), for `floe catalog serve --auth`. */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Options of {@link RequestGuard}. */
export interface RequestGuardOptions {
  /** The address the server is bound to. */
  host: string;
  /** The port it listens on. */
  port: number;
  /** Bearer token every request must carry; undefined: none required. */
  token: string | undefined;
  /** Further accepted `Host` values: `name` (any port), `name:port`, or `*` (any host). */
  allowedHosts: readonly string[];
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest();

const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);

/** The request checks of the file comment. */
export class RequestGuard {
  private readonly anyHost: boolean;
  /** Accepted `host:port` values, lower case. */
  private readonly hostPorts = new Set<string>();
  /** Accepted host names on any port, lower case. */
  private readonly hostNames = new Set<string>();
  private readonly tokenDigest: Buffer | undefined;

  constructor(options: RequestGuardOptions) {
    const { host, port } = options;
    const names: string[] = [];
    if (isLoopbackHost(host)) {
      names.push('localhost', '127.0.0.1', '[::1]', bracket(host));
    } else if (isWildcardHost(host)) {
      names.push('localhost', '127.0.0.1', '[::1]', hostname());
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) names.push(bracket(a.address.replace(/%.*$/, '')));
      }
    } else {
      names.push(bracket(host));
    }
    for (const n of names) {
      this.hostPorts.add(`${n.toLowerCase()}:${port}`);
      if (port === 80) this.hostPorts.add(n.toLowerCase());
    }
    let any = false;
    for (const h of options.allowedHosts) {
      const v = h.trim().toLowerCase();
      if (v === '*') any = true;
      else if (/:\d+$/.test(v)) this.hostPorts.add(v);
      else this.hostNames.add(v);
    }
    this.anyHost = any;
    this.tokenDigest = options.token !== undefined ? sha256(options.token) : undefined;
  }

  /** True when a `Host` value names this server. */
  private hostAccepted(value: string): boolean {
    if (this.anyHost) return true;
    const v = value.trim().toLowerCase();
    if (this.hostPorts.has(v)) return true;
    const name = v.replace(/:\d+$/, '');
    return this.hostNames.has(name);
  }

  /**
   * Throws the HttpError answering a request that fails a check (see the file comment); returns
   * when the request may proceed.
   */
  check(method: string, pathname: string, headers: IncomingHttpHeaders): void {
    const host = headers.host;
    if (host === undefined || !this.hostAccepted(host)) {
      throw new HttpError(403, 'ForbiddenException', `request refused: Host '${host ?? ''}' does not name this server (DNS rebinding protection; see --allowed-host)`);
    }
    const origin = headers.origin;
    if (origin !== undefined && !this.originAccepted(origin)) {
      throw new HttpError(403, 'ForbiddenException', `request refused: cross-origin requests are not allowed (Origin '${origin}')`);
    }
    if (this.tokenDigest !== undefined) this.checkToken(headers.authorization);
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    if (hasBody || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const oauthForm = type === 'application/x-www-form-urlencoded' && /^\/v1\/oauth\/tokens\/*$/.test(pathname);
      if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type) && !oauthForm) {
        throw new HttpError(415, 'UnsupportedMediaTypeException', `request refused: the body must be sent as application/json (Content-Type '${headers['content-type'] ?? ''}')`);
      }
    }
  }

  private originAccepted(origin: string): boolean {
    const m = /^http:\/\/([^/]+)$/i.exec(origin.trim());
    return m !== null && this.hostAccepted(m[1]!);
  }

  private checkToken(authorization: string | undefined): void {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    // Digests have equal lengths, so the comparison takes the same time whatever was sent.
    if (m && timingSafeEqual(sha256(m[1]!), this.tokenDigest!)) return;
    throw new HttpError(
      401,
      'NotAuthorizedException',
      authorization === undefined ? 'not authorized: this server requires a bearer token (Authorization: Bearer <token>)' : 'not authorized: invalid bearer token',
      { 'www-authenticate': m ? 'Bearer realm="floe", error="invalid_token"' : 'Bearer realm="floe"' },
    );
  }
}
