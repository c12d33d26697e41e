/**
 * What the maintenance rewrites (compaction, delete conversion) share around their `replace`
 * commit: the check that nothing committed since the snapshot they read makes the rewrite wrong,
 * and the commit itself, tried again for a few rounds when a busy writer wins every retry.
 */
import { CommitConflictError, ValidationError } from '../errors.js';
import type { Snapshot, TableMetadata } from '../iceberg/metadata.js';
import { ancestors, snapshotForRef } from '../iceberg/snapshot.js';
import { retryPolicyFromProperties } from '../table/commit-policy.js';
import type { Table } from '../table/table.js';

/** Rounds of the table's commit retry policy before a conflicting rewrite gives up. */
const COMMIT_ROUNDS = 3;

/**
 * A commit validation: every snapshot after `readId` on `main` goes through `check` (which throws
 * a ValidationError naming what makes the rewrite unsafe); `readId` must still be an ancestor of
 * the current snapshot. `operation` and `reading` name the rewrite in messages ("compact", "the
 * compaction").
 */
export function validateSince(
  operation: string,
  reading: string,
  tableName: string,
  readId: bigint,
  check: (snapshot: Snapshot) => void,
): (base: TableMetadata) => void {
  return (base) => {
    const head = snapshotForRef(base, 'main');
    if (!head) throw new ValidationError(`${operation}: ${tableName}: the table has no current snapshot any more`);
    for (const s of ancestors(base, head['snapshot-id'])) {
      if (s['snapshot-id'] === readId) return;
      check(s);
    }
    throw new ValidationError(
      `${operation}: ${tableName}: snapshot ${readId}, which ${reading} read, is no longer an ancestor of the current snapshot (expired or rolled back); abandoned`,
    );
  };
}

/**
 * Runs `commitOnce` (one commit with the table's retry policy); when it still conflicts, reloads
 * the table and runs it again, up to {@link COMMIT_ROUNDS} rounds: the written files are the
 * expensive part, so they are not thrown away because a busy writer won every retry. Returns the
 * commit's result and the attempts of all rounds.
 * @throws the last CommitConflictError, or any other error at once (also after `signal` aborts)
 */
export async function commitInRounds<T extends { attempts: number }>(table: Table, commitOnce: () => Promise<T>, signal?: AbortSignal): Promise<{ committed: T; attempts: number }> {
  let attempts = 0;
  for (let round = 1; ; round++) {
    try {
      const committed = await commitOnce();
      return { committed, attempts: attempts + committed.attempts };
    } catch (e) {
      if (!(e instanceof CommitConflictError) || round >= COMMIT_ROUNDS || signal?.aborted) throw e;
      attempts += retryPolicyFromProperties(table.metadata.properties).maxAttempts;
      await table.refresh();
    }
  }
}
