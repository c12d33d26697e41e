/**
 * The V8 heap bound of floe's long-running commands. `bin/floe` (the installed `floe` command)
 * starts Node with `--max-old-space-size=512` for `run`, `catalog`, `local` and `quickstart`
 * unless NODE_OPTIONS already sets a heap size; the benchmarks start their in-process pipelines
 * the same way through {@link heapBoundArgs}, so what they measure is what the command runs.
 *
 * Why: without a bound V8 sizes the heap for the machine's memory and, above about 1 GB of
 * possible heap, lets it grow to 4 times what survived the last full collection before the next
 * one. The pipeline's live heap is 20–45 MB, but the heap swung to 150–240 MB in a soak and to
 * 917 MB once when the CPU was starved (issue 12). With 512 MB the factor is about 1.4.
 */

/** The bound, in MB (`--max-old-space-size`); `bin/floe` holds the same figure. */
export const FLOE_HEAP_BOUND_MB = 512;

/** True when NODE_OPTIONS already chooses a heap size (the user's choice wins over floe's). */
export function nodeOptionsSetHeap(nodeOptions: string | undefined): boolean {
  return /--max[-_]old[-_]space[-_]size|--max[-_]heap[-_]size/.test(nodeOptions ?? '');
}

/** The Node arguments that bound the heap as `bin/floe` does, given the environment's NODE_OPTIONS. */
export function heapBoundArgs(nodeOptions: string | undefined): string[] {
  return nodeOptionsSetHeap(nodeOptions) ? [] : [`--max-old-space-size=${FLOE_HEAP_BOUND_MB}`];
}
