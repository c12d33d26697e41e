/**
 * Progress reporting and cancellation shared by the maintenance operations. The CLI draws a
 * progress bar from the reports; the pipeline's scheduler cancels through an AbortSignal when the
 * pipeline stops (an operation checks it between steps and never leaves the table half-changed:
 * the commit is the last step, and files written before it are deleted).
 */
import { FloeError } from '../errors.js';

/** One progress report: `done` of `total` units of the current phase. */
export interface MaintenanceProgress {
  /** The operation (`compact`, `expire-snapshots`, `remove-orphans`, `rewrite-manifests`). */
  operation: string;
  /** What is happening now (`plan`, `write`, `commit`, `delete`, `list`, …). */
  phase: string;
  done: number;
  total: number;
}

/** Receives progress reports; must not throw. */
export type ProgressListener = (progress: MaintenanceProgress) => void;

/** Options every maintenance operation accepts. */
export interface MaintenanceRunOptions {
  /** Progress reports (the CLI's progress bar). */
  onProgress?: ProgressListener;
  /** Cancels the operation between steps; it then throws a FloeError with code `ABORTED`. */
  signal?: AbortSignal;
}

/** Throws a FloeError with code `ABORTED` when the signal is aborted. */
export function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new FloeError('ABORTED', `${what}: aborted before completion; nothing was committed`);
}

/** Calls the listener, ignoring its failures. */
export function report(listener: ProgressListener | undefined, progress: MaintenanceProgress): void {
  try {
    listener?.(progress);
  } catch {
    // A broken progress display must not break maintenance.
  }
}
