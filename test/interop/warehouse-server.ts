/**
 * Serving a local warehouse to icebird (which fetches every file by URL): a static HTTP server on
 * 127.0.0.1 with HEAD and Range, and a `fetch` wrapper that maps local paths under the warehouse
 * to it and refuses anything else. Used by `icebird.test.ts` and `icebird.evolution.test.ts`.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Served {
  server: Server;
  base: string;
  /** Every request the server answered: method, path, Range header, status. */
  log: { method: string; path: string; range?: string; status: number }[];
}

/** A static file server for `root` with HEAD and single-range GET support. */
export async function serve(root: string): Promise<Served> {
  const log: Served['log'] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const range = req.headers.range;
    const reply = (status: number, headers: Record<string, string | number> = {}, body?: Uint8Array) => {
      log.push({ method: req.method ?? '', path, ...(range ? { range } : {}), status });
      res.writeHead(status, headers);
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const file = resolve(root, `.${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405);
    if (!file.startsWith(root + sep)) return reply(403);
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) return reply(404);
      size = st.size;
    } catch {
      return reply(404);
    }
    const common = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' };
    if (!range) return reply(200, { ...common, 'Content-Length': size }, readFileSync(file));
    const m = /^bytes=(\d*)-(\d*)$/.exec(range);
    if (!m || (m[1] === '' && m[2] === '')) return reply(416, { 'Content-Range': `bytes */${size}` });
    let start: number;
    let end: number;
    if (m[1] === '') {
      start = Math.max(0, size - Number(m[2])); // suffix range: the last N bytes
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    }
    if (start >= size || start > end) return reply(416, { 'Content-Range': `bytes */${size}` });
    const body = readFileSync(file).subarray(start, end + 1);
    return reply(206, { ...common, 'Content-Length': body.length, 'Content-Range': `bytes ${start}-${end}/${size}` }, body);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, log };
}

/**
 * Runs `fn` with `globalThis.fetch` wrapped: local paths under `root` (or file:// URLs) go to the
 * server, requests to the server pass through, everything else is refused. Restored afterwards.
 */
export async function withWarehouseFetch<T>(root: string, served: Served, fn: () => Promise<T>): Promise<T> {
  const realFetch = globalThis.fetch;
  const toServer = (location: string): string | undefined => {
    const path = location.startsWith('file:') ? fileURLToPath(location) : location;
    if (!path.startsWith(root + sep)) return undefined;
    return `${served.base}/${relative(root, path).split(sep).map(encodeURIComponent).join('/')}`;
  };
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith(`${served.base}/`)) return realFetch(input, init);
    const mapped = toServer(url);
    if (mapped) return realFetch(mapped, init);
    return Promise.reject(new TypeError(`test fetch: refusing ${url} (outside the served warehouse)`));
  };
  try {
    return await fn();
  } finally {
    globalThis.fetch = realFetch;
  }
}
