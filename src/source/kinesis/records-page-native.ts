/**
 * Loads `recordsPage` of the native module (`native/records_page.c`, built with the JSON scanner
 * into `build/Release/floe_native.node` by node-gyp at `npm ci`): GetRecords bodies read in C.
 * Missing (no build, or a build from before this function): undefined, and the JavaScript parser
 * of `records-page.ts` reads every body, with the same pages.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native reader of a GetRecords body (see native/records_page.c for the arrays' layout). */
export type NativeRecordsPage = (
  body: Uint8Array,
  data: Uint8Array,
  text: Uint8Array,
  ends: Int32Array,
  texts: Int32Array,
  enc: Int32Array,
  arrival: Float64Array,
  flags: Uint8Array,
  out: Float64Array,
) => boolean;

let loaded: NativeRecordsPage | null | undefined;

/** The native body reader, or undefined when the module was not built (or lacks it). */
export function nativeRecordsPage(): NativeRecordsPage | undefined {
  if (loaded === undefined) {
    loaded = null;
    // dist/src/source/kinesis (built) or src/source/kinesis (run from source): the package root is above.
    for (const up of ['../../../..', '../../..']) {
      const path = fileURLToPath(new URL(`${up}/build/Release/floe_native.node`, import.meta.url));
      if (!existsSync(path)) continue;
      const binding = createRequire(import.meta.url)(path) as { recordsPage?: NativeRecordsPage };
      loaded = typeof binding.recordsPage === 'function' ? binding.recordsPage : null;
      break;
    }
  }
  return loaded ?? undefined;
}
