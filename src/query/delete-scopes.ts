/**
 * Equality deletes as one anti-join per key (`table-view.ts`): instead of one anti-join per data
 * file and delete file (an upsert table with 50 delete files over 60 data files made 1,750, and
 * reads 100 times slower), every data file with deletes is read once, tagged with its data
 * sequence number and its scope (spec and partition), every equality delete file once, tagged
 * with its own, and a delete row removes a data row of the same key when the delete's sequence
 * number is higher and its scope is the row's, or global (an unpartitioned spec).
 *
 * That is the spec's rule (§Scan Planning), which `iceberg/scan.ts` applies to list each task's
 * deletes; this module checks that the tasks' lists are exactly what the rule gives before the
 * SQL relies on it (tasks built another way fall back to the anti-join per file).
 */
import { FileContent } from '../iceberg/manifest-types.js';
import type { PartitionSpec } from '../iceberg/metadata.js';
import { partitionKey, type DeleteFileRef, type FileScanTask } from '../iceberg/scan.js';

/** The scope of global (unpartitioned) equality deletes. */
export const GLOBAL_SCOPE = -1;

/** Equality delete files sharing one set of `equality_ids`. */
export interface EqualityDeleteGroup {
  /** The key's field ids, as the first file of the group lists them. */
  ids: number[];
  /** Each file once, with its scope. */
  files: { ref: DeleteFileRef; scope: number }[];
}

/** The plan of the joined form, or undefined when the tasks' delete lists do not follow the rule. */
export interface DeleteScopes {
  groups: EqualityDeleteGroup[];
  /** Scope of each task (by index in the input). */
  taskScopes: number[];
}

/**
 * Groups the equality deletes of `tasks` by key and numbers their scopes; undefined unless every
 * task's equality deletes are exactly those the rule gives over all of them.
 */
export function equalityDeleteScopes(tasks: readonly FileScanTask[], specs: ReadonlyMap<number, PartitionSpec>): DeleteScopes | undefined {
  const scopeIds = new Map<string, number>();
  const scopeOf = (specId: number, partition: FileScanTask['partition']): number => {
    const key = partitionKey(specId, partition);
    let id = scopeIds.get(key);
    if (id === undefined) scopeIds.set(key, (id = scopeIds.size));
    return id;
  };
  const groups = new Map<string, EqualityDeleteGroup>();
  const seen = new Map<string, { ref: DeleteFileRef; scope: number }>();
  for (const t of tasks) {
    for (const d of t.deletes) {
      if (d.file.content !== FileContent.EQUALITY_DELETES || seen.has(d.file.file_path)) continue;
      const spec = specs.get(d.specId);
      const scope = !spec || spec.fields.length === 0 ? GLOBAL_SCOPE : scopeOf(d.specId, d.file.partition);
      const entry = { ref: d, scope };
      seen.set(d.file.file_path, entry);
      const ids = d.file.equality_ids ?? [];
      const key = [...ids].sort((a, b) => a - b).join(',');
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { ids: [...ids], files: [] }));
      g.files.push(entry);
    }
  }
  const taskScopes = tasks.map((t) => scopeOf(t.specId, t.partition));
  // The rule over all the files must give each task exactly its own list.
  const all = [...seen.values()];
  for (const [i, t] of tasks.entries()) {
    const own = new Set(t.deletes.filter((d) => d.file.content === FileContent.EQUALITY_DELETES).map((d) => d.file.file_path));
    const ruled = all.filter((e) => e.ref.dataSequenceNumber > t.dataSequenceNumber && (e.scope === GLOBAL_SCOPE || e.scope === taskScopes[i]));
    if (ruled.length !== own.size || ruled.some((e) => !own.has(e.ref.file.file_path))) return undefined;
  }
  return { groups: [...groups.values()], taskScopes };
}
