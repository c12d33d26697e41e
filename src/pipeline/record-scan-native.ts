/**
 * Loads the native build of the fast path's scanner (`native/record_scan.c`, built by node-gyp at
 * `npm ci`): the same reading as the JavaScript scanner in `record-scan.ts`, in C. When the build
 * is missing (installed with `--ignore-scripts`, no compiler) the JavaScript scanner is used: the
 * same rows and decisions, slower.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native module's functions (see native/record_scan.c for the argument layout). */
export interface NativeScanBinding {
  /**
   * A scanner for a key tree: `spec` holds 8 ints per entry (level, key offset, key length, plain,
   * column index or -1, kind, required, child level or -1), grouped by level in level order;
   * `keys` the keys' UTF-8. Results go to the raw row's arrays given here. `strictKeys` 1: a key
   * the tree does not hold declines the record (builds with {@link strictKeys} only).
   */
  create(spec: Int32Array, keys: Uint8Array, levels: number, tags: Uint8Array, from: Int32Array, to: Int32Array, nums: Float64Array, strictKeys?: number): unknown;
  /** True when `create` takes `strictKeys` (older builds ignore the argument). */
  strictKeys?: boolean;
  /** Reads one record into the row; false when the general path must decide. */
  scan(scanner: unknown, data: Uint8Array): boolean;
  /** Gives the scanner a stage (`RawStage` in data/column-batch.ts) for {@link scanStaged}. */
  stage(scanner: unknown, capacity: number, regionBytes: number, tags: Uint8Array, nums: Float64Array, lengths: Int32Array, bytes: Uint8Array, state: Int32Array): void;
  /** Reads one record into the stage's next row: 1, 0 (declined) or 2 (read, but no room: nothing staged). */
  scanStaged(scanner: unknown, data: Uint8Array): number;
  /**
   * Stages records `from`..`to` (exclusive) of `data` (record i: `[starts[i] or ends[i - 1] or 0,
   * ends[i])`), each computed column (`computedIndex`) taking `computedTag`/`computedNum`: how many
   * were staged, stopping at the first declined or not fitting. Builds before it lack it.
   */
  scanStagedRun?(scanner: unknown, data: Uint8Array, ends: Int32Array, starts: Int32Array | null, from: number, to: number, computedIndex: Int32Array, computedTag: Uint8Array, computedNum: Float64Array): number;
}

let loaded: NativeScanBinding | null | undefined;

/** The native scanner's binding, or undefined when it was not built. */
export function nativeScanBinding(): NativeScanBinding | undefined {
  if (loaded === undefined) {
    loaded = null;
    // dist/src/pipeline (built) or src/pipeline (run from source): the package root is above.
    for (const up of ['../../..', '../..']) {
      const path = fileURLToPath(new URL(`${up}/build/Release/floe_native.node`, import.meta.url));
      if (!existsSync(path)) continue;
      loaded = createRequire(import.meta.url)(path) as NativeScanBinding;
      break;
    }
  }
  return loaded ?? undefined;
}
