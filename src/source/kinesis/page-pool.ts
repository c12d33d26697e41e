/**
 * Buffers of GetRecords pages given back by their consumer, for the next pages. A page (one
 * ArrayBuffer holding a response's records in columns, `records-page.ts`) lives from its response
 * until the pipeline has taken its records into columns, a few milliseconds; allocated fresh
 * every time, pages were about 240 bytes of external memory per event, which V8 counts toward
 * its global limit: at 64 shards they started a full garbage collection every 15 MB or so, about
 * 0.3–0.4 µs of CPU per event (bench/notes.md item 36). Only pages whose consumer says it is done
 * with them ({@link RecordsPage.release}, called by the pipeline once a block's records are in
 * columns) come back here; any other page is left to the garbage collector as before.
 */

/** Free bytes kept at most (beyond, given-back buffers are left to the garbage collector). */
const MAX_FREE_BYTES = 32 * 1024 * 1024;
/** Sizes are rounded up to this, so that a buffer fits the next pages of about its size. */
const GRAIN = 64 * 1024;

const free: ArrayBuffer[] = [];
let freeBytes = 0;

/**
 * A buffer of at least `bytes`: the smallest free one that fits without wasting more than its
 * half, or a new one (uninitialized: the caller fills what it uses).
 */
export function takePageBuffer(bytes: number): ArrayBuffer {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const len = free[i]!.byteLength;
    if (len >= bytes && len <= 2 * bytes + GRAIN && (best < 0 || len < free[best]!.byteLength)) best = i;
  }
  if (best >= 0) {
    const b = free[best]!;
    free[best] = free[free.length - 1]!;
    free.pop();
    freeBytes -= b.byteLength;
    return b;
  }
  return Buffer.allocUnsafeSlow(Math.ceil(bytes / GRAIN) * GRAIN).buffer;
}

/** Gives a buffer back (its pages must not be read again). */
export function givePageBuffer(b: ArrayBuffer): void {
  if (freeBytes + b.byteLength > MAX_FREE_BYTES) return;
  free.push(b);
  freeBytes += b.byteLength;
}

/** Free buffers and their bytes (tests). */
export function pagePoolStats(): { buffers: number; bytes: number } {
  return { buffers: free.length, bytes: freeBytes };
}
