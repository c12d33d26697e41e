/**
 * The commit model: check a commit's requirements against the table's current metadata, then apply
 * its updates. Every catalog (embedded SQL, REST server glue, Glue) commits through these two
 * functions, so their semantics are those of the REST catalog's CommitTableRequest as implemented
 * by Java's `UpdateRequirement` and `TableMetadata.Builder`.
 *
 * Also here: the metadata-log bookkeeping done when a new metadata file replaces an old one,
 * metadata file naming, and deriving the natural requirements of a list of updates.
 */
import { randomUUID } from 'node:crypto';
import { CommitConflictError, ValidationError } from '../errors.js';
import type { TableRequirement, TableUpdate } from './commit.js';
import type { PartitionSpec, Snapshot, SnapshotRef, SortOrder, TableMetadata } from './metadata.js';
import { currentSchema } from './metadata-lookup.js';
import {
  evolvePartitionSpec,
  PARTITION_DATA_ID_START,
  validatePartitionSpec,
  type UnboundPartitionField,
} from './partitioning.js';
import { maxFieldId } from './schema-index.js';
import { parseSchema } from './schema-parse.js';
import { findV3Features } from './schema-types.js';
import { parseSortOrder, sortOrdersEquivalent, validateSortOrder } from './sort-order.js';
import { RESERVED_PROPERTIES, SUPPORTED_FORMAT_VERSION, validateTableMetadata } from './table-metadata.js';
import type { Schema } from './types.js';

/** Java tolerates this much clock skew between log entries written by different machines. */
const ONE_MINUTE_MS = 60_000;

/** Table property: how many previous metadata files the metadata log keeps. */
export const METADATA_PREVIOUS_VERSIONS_MAX = 'write.metadata.previous-versions-max';
/** Default of {@link METADATA_PREVIOUS_VERSIONS_MAX}, as in Java. */
export const METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT = 100;

// ---------------------------------------------------------------------------------------------
// Requirements
// ---------------------------------------------------------------------------------------------

/**
 * Ids and sequence numbers are `bigint` by contract, but a request decoded from JSON carries small
 * ones as numbers; accept both so that `5` and `5n` never compare unequal.
 */
function asBigInt(v: unknown, where: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  throw new ValidationError(`commit: ${where} must be an integer, got ${JSON.stringify(String(v))}`);
}

function conflict(msg: string): never {
  throw new CommitConflictError(`commit: requirement failed: ${msg}`);
}

/**
 * Checks a commit's requirements against the table's current metadata (`undefined` when the table
 * does not exist yet). All requirements are checked in order; the first that does not hold throws.
 * @throws CommitConflictError `commit: requirement failed: …` (retriable after a reload)
 */
export function checkRequirements(base: TableMetadata | undefined, reqs: TableRequirement[]): void {
  for (const req of reqs) {
    if (req.type === 'assert-create') {
      if (base !== undefined) conflict('table already exists');
      continue;
    }
    if (base === undefined) return conflict(`${req.type}: table does not exist`);
    switch (req.type) {
      case 'assert-table-uuid':
        // UUIDs are case-insensitive (Java compares with equalsIgnoreCase).
        if (req.uuid.toLowerCase() !== base['table-uuid'].toLowerCase()) {
          conflict(`table UUID does not match: expected ${req.uuid} != ${base['table-uuid'] || '(none)'}`);
        }
        break;
      case 'assert-ref-snapshot-id': {
        const ref = base.refs[req.ref];
        const raw = req['snapshot-id'];
        const expected = raw === null || raw === undefined ? null : asBigInt(raw, `assert-ref-snapshot-id ${req.ref}: snapshot-id`);
        if (ref !== undefined) {
          if (expected === null) {
            conflict(`${ref.type} ${req.ref} was created concurrently (now at snapshot ${ref['snapshot-id']})`);
          } else if (ref['snapshot-id'] !== expected) {
            conflict(`${ref.type} ${req.ref} has changed: expected id ${expected} != ${ref['snapshot-id']}`);
          }
        } else if (expected !== null) {
          conflict(`branch or tag ${req.ref} is missing, expected ${expected}`);
        }
        break;
      }
      case 'assert-last-assigned-field-id':
        if (base['last-column-id'] !== req['last-assigned-field-id']) {
          conflict(`last assigned field id changed: expected id ${req['last-assigned-field-id']} != ${base['last-column-id']}`);
        }
        break;
      case 'assert-current-schema-id':
        if (base['current-schema-id'] !== req['current-schema-id']) {
          conflict(`current schema changed: expected id ${req['current-schema-id']} != ${base['current-schema-id']}`);
        }
        break;
      case 'assert-last-assigned-partition-id':
        if (base['last-partition-id'] !== req['last-assigned-partition-id']) {
          conflict(
            `last assigned partition id changed: expected id ${req['last-assigned-partition-id']} != ${base['last-partition-id']}`,
          );
        }
        break;
      case 'assert-default-spec-id':
        if (base['default-spec-id'] !== req['default-spec-id']) {
          conflict(`default partition spec changed: expected id ${req['default-spec-id']} != ${base['default-spec-id']}`);
        }
        break;
      case 'assert-default-sort-order-id':
        if (base['default-sort-order-id'] !== req['default-sort-order-id']) {
          conflict(
            `default sort order changed: expected id ${req['default-sort-order-id']} != ${base['default-sort-order-id']}`,
          );
        }
        break;
      default:
        throw new ValidationError(`commit: unknown requirement type ${JSON.stringify((req as { type: unknown }).type)}`);
    }
  }
}

/**
 * Derives the requirements that make `updates` safe to apply to `base` and nothing else, like
 * Java's `UpdateRequirements`: the table is the same table (`assert-table-uuid`), every ref being
 * set still points where the writer saw it, and schema / spec / sort-order changes were computed
 * from the current state. For a table being created (`base` undefined) the only requirement is
 * `assert-create`.
 */
export function requirementsForUpdates(base: TableMetadata | undefined, updates: TableUpdate[]): TableRequirement[] {
  if (base === undefined) return [{ type: 'assert-create' }];
  const reqs: TableRequirement[] = [];
  if (base['table-uuid']) reqs.push({ type: 'assert-table-uuid', uuid: base['table-uuid'] });
  const seen = new Set<string>();
  const once = (key: string, req: TableRequirement) => {
    if (seen.has(key)) return;
    seen.add(key);
    reqs.push(req);
  };
  for (const u of updates) {
    switch (u.action) {
      case 'set-snapshot-ref':
        once(`ref:${u['ref-name']}`, {
          type: 'assert-ref-snapshot-id',
          ref: u['ref-name'],
          'snapshot-id': base.refs[u['ref-name']]?.['snapshot-id'] ?? null,
        });
        break;
      case 'add-schema':
        once('last-column-id', { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': base['last-column-id'] });
        break;
      case 'set-current-schema':
        once('current-schema', { type: 'assert-current-schema-id', 'current-schema-id': base['current-schema-id'] });
        break;
      case 'add-spec':
        once('last-partition-id', {
          type: 'assert-last-assigned-partition-id',
          'last-assigned-partition-id': base['last-partition-id'],
        });
        break;
      case 'set-default-spec':
        once('default-spec', { type: 'assert-default-spec-id', 'default-spec-id': base['default-spec-id'] });
        break;
      case 'set-default-sort-order':
        once('default-sort-order', {
          type: 'assert-default-sort-order-id',
          'default-sort-order-id': base['default-sort-order-id'],
        });
        break;
      default:
        break;
    }
  }
  return reqs;
}

// ---------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------

function fail(action: string, msg: string): never {
  throw new ValidationError(`commit: ${action}: ${msg}`);
}

/** Canonical text of a schema's content (not its id), to find an identical existing schema. */
function schemaKey(s: Schema): string {
  return JSON.stringify({ f: s.fields, i: s['identifier-field-ids'] ?? [] }, (_k, x: unknown) =>
    typeof x === 'bigint' ? `${x}n` : x,
  );
}

/** Runs a sibling module's check, re-raising its ValidationError as this update's failure. */
function wrapped<T>(action: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ValidationError) throw new ValidationError(`commit: ${action}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * Mutable state of one {@link applyUpdates} call. Works on a private deep copy of the base, so the
 * caller's metadata is never touched.
 */
class Builder {
  readonly md: TableMetadata;
  changed = false;
  lastAddedSchemaId: number | undefined;
  lastAddedSpecId: number | undefined;
  lastAddedOrderId: number | undefined;
  readonly addedSnapshots = new Set<bigint>();
  /** Set when main moved to a snapshot added in this commit: the table changed at that time. */
  lastUpdatedFromSnapshot: number | undefined;

  constructor(
    base: TableMetadata,
    readonly nowMs: number,
  ) {
    this.md = structuredClone(base);
  }

  apply(u: TableUpdate): void {
    const action = (u as { action?: unknown }).action;
    switch (u.action) {
      case 'assign-uuid':
        return this.assignUuid(u.uuid);
      case 'upgrade-format-version':
        return this.upgradeFormatVersion(u['format-version']);
      case 'add-schema':
        return this.addSchema(u.schema, u['last-column-id']);
      case 'set-current-schema':
        return this.setCurrentSchema(u['schema-id']);
      case 'add-spec':
        return this.addSpec(u.spec);
      case 'set-default-spec':
        return this.setDefaultSpec(u['spec-id']);
      case 'add-sort-order':
        return this.addSortOrder(u['sort-order']);
      case 'set-default-sort-order':
        return this.setDefaultSortOrder(u['sort-order-id']);
      case 'add-snapshot':
        return this.addSnapshot(u.snapshot);
      case 'set-snapshot-ref': {
        const { action: _a, 'ref-name': name, ...ref } = u;
        return this.setRef(name, ref);
      }
      case 'remove-snapshots':
        return this.removeSnapshots((u['snapshot-ids'] ?? []).map((id) => asBigInt(id, `${u.action}: snapshot id`)));
      case 'remove-snapshot-ref':
        return this.removeRef(u['ref-name']);
      case 'set-location':
        if (typeof u.location !== 'string' || u.location.length === 0) fail(u.action, 'location must be a non-empty string');
        if (u.location !== this.md.location) {
          this.md.location = u.location;
          this.changed = true;
        }
        return;
      case 'set-properties':
        return this.setProperties(u.updates);
      case 'remove-properties':
        for (const k of u.removals) {
          if (k in this.md.properties) {
            delete this.md.properties[k];
            this.changed = true;
          }
        }
        return;
      case 'set-statistics': {
        const stats = structuredClone(u.statistics);
        stats['snapshot-id'] = asBigInt(stats['snapshot-id'], `${u.action}: statistics snapshot-id`);
        if (u['snapshot-id'] !== undefined && asBigInt(u['snapshot-id'], `${u.action}: snapshot-id`) !== stats['snapshot-id']) {
          fail(u.action, `snapshot-id ${u['snapshot-id']} does not match the statistics file's ${stats['snapshot-id']}`);
        }
        const list = (this.md.statistics ?? []).filter((s) => s['snapshot-id'] !== stats['snapshot-id']);
        this.md.statistics = [...list, stats];
        this.changed = true;
        return;
      }
      case 'remove-statistics': {
        const list = this.md.statistics ?? [];
        const id = asBigInt(u['snapshot-id'], `${u.action}: snapshot-id`);
        const kept = list.filter((s) => s['snapshot-id'] !== id);
        if (kept.length !== list.length) this.changed = true;
        this.md.statistics = kept;
        return;
      }
      case 'set-partition-statistics': {
        const stats = structuredClone(u['partition-statistics']);
        stats['snapshot-id'] = asBigInt(stats['snapshot-id'], `${u.action}: snapshot-id`);
        const list = (this.md['partition-statistics'] ?? []).filter((s) => s['snapshot-id'] !== stats['snapshot-id']);
        this.md['partition-statistics'] = [...list, stats];
        this.changed = true;
        return;
      }
      case 'remove-partition-statistics': {
        const list = this.md['partition-statistics'] ?? [];
        const id = asBigInt(u['snapshot-id'], `${u.action}: snapshot-id`);
        const kept = list.filter((s) => s['snapshot-id'] !== id);
        if (kept.length !== list.length) this.changed = true;
        this.md['partition-statistics'] = kept;
        return;
      }
      default:
        return fail(String(action), 'unknown update action');
    }
  }

  assignUuid(uuid: string): void {
    if (typeof uuid !== 'string' || uuid.length === 0) fail('assign-uuid', 'uuid must be a non-empty string');
    if (uuid === this.md['table-uuid']) return;
    this.md['table-uuid'] = uuid;
    this.changed = true;
  }

  upgradeFormatVersion(version: number): void {
    const current = this.md['format-version'];
    if (!Number.isInteger(version) || version < 1 || version > SUPPORTED_FORMAT_VERSION) {
      fail('upgrade-format-version', `Cannot upgrade table to unsupported format version: v${version} (supported: v${SUPPORTED_FORMAT_VERSION})`);
    }
    if (version < current) fail('upgrade-format-version', `Cannot downgrade v${current} table to v${version}`);
    if (version === current) return;
    this.md['format-version'] = version as 1 | 2 | 3;
    // v3 starts row lineage at 0; v1 tables become v2 with last-sequence-number 0 (already so).
    if (version >= 3 && this.md['next-row-id'] === undefined) this.md['next-row-id'] = 0n;
    this.changed = true;
  }

  addSchema(input: Schema, lastColumnId: number | undefined): void {
    const action = 'add-schema';
    const schema = wrapped(action, () => parseSchema(input));
    const v = this.md['format-version'];
    if (v < 3) {
      const v3 = findV3Features(schema);
      if (v3.length > 0) fail(action, `not supported until format v3 (table is v${v}): ${v3.join('; ')}`);
    }
    const highest = maxFieldId(schema);
    if (lastColumnId !== undefined && lastColumnId !== null && lastColumnId < highest) {
      fail(action, `last-column-id ${lastColumnId} is below the schema's highest field id ${highest}`);
    }
    // The high-water mark only grows: ids of dropped columns must never be handed out again.
    const newLast = Math.max(this.md['last-column-id'], lastColumnId ?? 0, highest, ...this.md.schemas.map((s) => maxFieldId(s)));
    if (newLast !== this.md['last-column-id']) {
      this.md['last-column-id'] = newLast;
      this.changed = true;
    }
    // Like Java: an identical existing schema is reused; otherwise the id is one above the highest.
    const key = schemaKey(schema);
    const same = this.md.schemas.find((s) => schemaKey(s) === key);
    if (same) {
      this.lastAddedSchemaId = same['schema-id'];
      return;
    }
    const id = Math.max(this.md['current-schema-id'], ...this.md.schemas.map((s) => s['schema-id'] + 1));
    this.md.schemas.push({ ...schema, 'schema-id': id });
    this.lastAddedSchemaId = id;
    this.changed = true;
  }

  setCurrentSchema(requested: number): void {
    const action = 'set-current-schema';
    const id = this.resolveLast(action, requested, this.lastAddedSchemaId, 'schema');
    if (!this.md.schemas.some((s) => s['schema-id'] === id)) fail(action, `Cannot set current schema to unknown schema: ${id}`);
    if (id === this.md['current-schema-id']) return;
    this.md['current-schema-id'] = id;
    this.changed = true;
  }

  private resolveLast(action: string, requested: number, last: number | undefined, what: string): number {
    if (requested !== -1) return requested;
    if (last === undefined) return fail(action, `Cannot set last added ${what}: no ${what} has been added`);
    return last;
  }

  addSpec(input: PartitionSpec): void {
    const action = 'add-spec';
    const md = this.md;
    const v = md['format-version'];
    // The REST spec lets clients omit field ids (an UnboundPartitionSpec); the table assigns them.
    const fields = (input.fields ?? []).map((f, i): UnboundPartitionField => {
      const label = `partition field ${i}`;
      if (typeof f.name !== 'string') fail(action, `${label}: name must be a string`);
      if (typeof f.transform !== 'string') fail(action, `${label}: transform must be a string`);
      if (!Number.isInteger(f['source-id'])) fail(action, `${label}: source-id must be an integer`);
      const out: UnboundPartitionField = { 'source-id': f['source-id'], name: f.name, transform: f.transform };
      if (f['source-ids'] !== undefined) {
        if (v < 3 && f['source-ids'].length > 1) fail(action, `${label}: multi-argument transforms are not supported until format v3`);
        out['source-ids'] = [...f['source-ids']];
      }
      const id = f['field-id'] as number | undefined | null;
      if (id !== undefined && id !== null) out['field-id'] = id;
      // v1 partition tuples are positional, so v1 ids are too.
      else if (v === 1) out['field-id'] = PARTITION_DATA_ID_START + i;
      return out;
    });
    // Start above every id in use even if an old writer left last-partition-id too low.
    const inUse = Math.max(md['last-partition-id'], ...md['partition-specs'].flatMap((s) => s.fields.map((f) => f['field-id'])));
    const { spec, lastPartitionId, existing } = evolvePartitionSpec(fields, {
      specs: md['partition-specs'],
      lastPartitionId: inUse,
      formatVersion: v,
    });
    this.lastAddedSpecId = spec['spec-id'];
    if (existing) return;
    wrapped(action, () => validatePartitionSpec(spec, currentSchema(md, 'commit'), { newSpec: true }));
    if (v === 1 && spec.fields.some((f, i) => f['field-id'] !== PARTITION_DATA_ID_START + i)) {
      fail(action, 'Spec does not use sequential IDs that are required in v1 (1000, 1001, ...)');
    }
    md['partition-specs'].push(spec);
    md['last-partition-id'] = Math.max(md['last-partition-id'], lastPartitionId);
    this.changed = true;
  }

  setDefaultSpec(requested: number): void {
    const action = 'set-default-spec';
    const id = this.resolveLast(action, requested, this.lastAddedSpecId, 'spec');
    if (!this.md['partition-specs'].some((s) => s['spec-id'] === id)) fail(action, `Cannot set default partition spec to unknown spec: ${id}`);
    if (id === this.md['default-spec-id']) return;
    this.md['default-spec-id'] = id;
    this.changed = true;
  }

  addSortOrder(input: SortOrder): void {
    const action = 'add-sort-order';
    const md = this.md;
    const fieldsJson = input.fields ?? [];
    // The id in the request is the client's; the table assigns its own below. Parse with a
    // placeholder id that satisfies the "0 means unsorted" rule, to check and normalize the fields.
    const order = wrapped(action, () => parseSortOrder({ 'order-id': fieldsJson.length > 0 ? 1 : 0, fields: fieldsJson }));
    wrapped(action, () => validateSortOrder(order, currentSchema(md, 'commit')));
    if (md['format-version'] < 3 && order.fields.some((f) => (f['source-ids']?.length ?? 1) > 1)) {
      fail(action, 'multi-argument transforms are not supported until format v3');
    }
    const same = md['sort-orders'].find((o) => sortOrdersEquivalent(o, order));
    if (same) {
      this.lastAddedOrderId = same['order-id'];
      return;
    }
    // Id 0 is reserved for the unsorted order; sorted orders count up from 1.
    const id = order.fields.length === 0 ? 0 : Math.max(1, ...md['sort-orders'].map((o) => o['order-id'] + 1));
    md['sort-orders'].push({ 'order-id': id, fields: order.fields });
    this.lastAddedOrderId = id;
    this.changed = true;
  }

  setDefaultSortOrder(requested: number): void {
    const action = 'set-default-sort-order';
    const id = this.resolveLast(action, requested, this.lastAddedOrderId, 'sort order');
    if (!this.md['sort-orders'].some((o) => o['order-id'] === id)) fail(action, `Cannot set default sort order to unknown order: ${id}`);
    if (id === this.md['default-sort-order-id']) return;
    this.md['default-sort-order-id'] = id;
    this.changed = true;
  }

  addSnapshot(input: Snapshot): void {
    const action = 'add-snapshot';
    const md = this.md;
    const snap = structuredClone(input);
    const id = asBigInt(snap['snapshot-id'], `${action}: snapshot-id`);
    snap['snapshot-id'] = id;
    if (snap['parent-snapshot-id'] === null) delete snap['parent-snapshot-id'];
    for (const key of ['parent-snapshot-id', 'first-row-id', 'added-rows'] as const) {
      const val = snap[key];
      if (val !== undefined) snap[key] = asBigInt(val, `${action}: snapshot ${id}: ${key}`);
    }
    if (typeof snap['timestamp-ms'] !== 'number' || !Number.isSafeInteger(snap['timestamp-ms'])) {
      fail(action, `snapshot ${id}: timestamp-ms must be an integer`);
    }
    if (typeof snap.summary?.operation !== 'string') fail(action, `snapshot ${id}: summary.operation is required`);
    if (md.snapshots.some((s) => s['snapshot-id'] === id)) fail(action, `Snapshot already exists for id: ${id}`);
    const v = md['format-version'];
    const seq = snap['sequence-number'] === undefined || snap['sequence-number'] === null ? 0n : asBigInt(snap['sequence-number'], `${action}: snapshot ${id}: sequence-number`);
    snap['sequence-number'] = seq;
    if (v > 1) {
      if (seq <= md['last-sequence-number']) {
        fail(action, `Cannot add snapshot ${id} with sequence number ${seq} older than last sequence number ${md['last-sequence-number']}`);
      }
      if (snap['manifest-list'] === undefined) fail(action, `snapshot ${id}: manifest-list must exist in format v${v}`);
    }
    const parent = snap['parent-snapshot-id'];
    if (parent !== undefined && !md.snapshots.some((s) => s['snapshot-id'] === parent)) {
      fail(action, `snapshot ${id}: parent snapshot ${parent} not found`);
    }
    if (snap['schema-id'] !== undefined && !md.schemas.some((s) => s['schema-id'] === snap['schema-id'])) {
      fail(action, `snapshot ${id}: schema ${snap['schema-id']} not found`);
    }
    if (v >= 3) {
      const first = snap['first-row-id'];
      const added = snap['added-rows'];
      const next = md['next-row-id'] ?? 0n;
      if (first === undefined || added === undefined) fail(action, `snapshot ${id}: first-row-id and added-rows must exist in format v3`);
      if (first < next) fail(action, `snapshot ${id}: first-row-id is behind table next-row-id: ${first} < ${next}`);
      if (added < 0n) fail(action, `snapshot ${id}: added-rows must not be negative`);
      // Row ids first..first+added-1 are now taken; never hand them out again.
      md['next-row-id'] = first + added;
    }
    md.snapshots.push(snap);
    if (v > 1) md['last-sequence-number'] = seq;
    this.addedSnapshots.add(id);
    this.changed = true;
  }

  setRef(name: string, input: SnapshotRef): void {
    const action = 'set-snapshot-ref';
    const md = this.md;
    if (typeof name !== 'string' || name.length === 0) fail(action, 'ref-name must be a non-empty string');
    const id = asBigInt(input['snapshot-id'], `${action}: ${name}: snapshot-id`);
    const snap = md.snapshots.find((s) => s['snapshot-id'] === id);
    if (!snap) fail(action, `Cannot set ${name} to unknown snapshot: ${id}`);
    if (input.type !== 'branch' && input.type !== 'tag') fail(action, `ref ${name}: type must be branch or tag, got ${JSON.stringify(input.type)}`);
    if (name === 'main' && input.type !== 'branch') fail(action, 'main must be a branch, not a tag');
    if (input.type === 'tag' && (input['min-snapshots-to-keep'] != null || input['max-snapshot-age-ms'] != null)) {
      fail(action, `tag ${name}: min-snapshots-to-keep and max-snapshot-age-ms apply to branches only`);
    }
    const ref: SnapshotRef = { 'snapshot-id': id, type: input.type };
    if (input['min-snapshots-to-keep'] != null) ref['min-snapshots-to-keep'] = input['min-snapshots-to-keep'];
    if (input['max-snapshot-age-ms'] != null) ref['max-snapshot-age-ms'] = input['max-snapshot-age-ms'];
    if (input['max-ref-age-ms'] != null) ref['max-ref-age-ms'] = input['max-ref-age-ms'];
    const existing = md.refs[name];
    if (existing && JSON.stringify(refKey(existing)) === JSON.stringify(refKey(ref))) return;
    md.refs[name] = ref;
    this.changed = true;
    if (name === 'main' && md['current-snapshot-id'] !== id) {
      const lastLogged = md['snapshot-log'].at(-1)?.['timestamp-ms'];
      if (this.addedSnapshots.has(id) && lastLogged !== undefined && snap['timestamp-ms'] < lastLogged - ONE_MINUTE_MS) {
        // Java readers reject snapshot logs that go back in time by more than a minute; this
        // happens when a writer retries a commit with a snapshot built long before.
        fail(
          action,
          `snapshot ${id} (timestamp-ms ${snap['timestamp-ms']}) is older than the table's last snapshot change at ${lastLogged}; re-create the snapshot with a current timestamp`,
        );
      }
      md['current-snapshot-id'] = id;
      // A snapshot added in this commit became current when it was created; a rollback to an older
      // snapshot becomes current now.
      const ts = this.addedSnapshots.has(id) ? snap['timestamp-ms'] : this.nowMs;
      if (this.addedSnapshots.has(id)) this.lastUpdatedFromSnapshot = ts;
      md['snapshot-log'].push({ 'timestamp-ms': ts, 'snapshot-id': id });
    }
  }

  removeSnapshots(ids: bigint[]): void {
    const action = 'remove-snapshots';
    const md = this.md;
    const remove = new Set(ids);
    const main = md.refs.main;
    if (main !== undefined && remove.has(main['snapshot-id'])) {
      fail(action, `cannot remove snapshot ${main['snapshot-id']}: it is the current snapshot of branch main`);
    }
    const before = md.snapshots.length;
    md.snapshots = md.snapshots.filter((s) => !remove.has(s['snapshot-id']));
    if (md.snapshots.length === before) return;
    this.changed = true;
    // Refs (other branches, tags) to removed snapshots would dangle: drop them, as Java does.
    for (const [name, ref] of Object.entries(md.refs)) if (remove.has(ref['snapshot-id'])) delete md.refs[name];
    md.statistics = (md.statistics ?? []).filter((s) => !remove.has(s['snapshot-id']));
    md['partition-statistics'] = (md['partition-statistics'] ?? []).filter((s) => !remove.has(s['snapshot-id']));
  }

  removeRef(name: string): void {
    const md = this.md;
    if (md.refs[name] === undefined) return;
    delete md.refs[name];
    if (name === 'main') delete md['current-snapshot-id'];
    this.changed = true;
  }

  setProperties(updates: Record<string, string>): void {
    const action = 'set-properties';
    for (const [k, val] of Object.entries(updates)) {
      if (typeof val !== 'string') fail(action, `property ${k} must be a string, got ${typeof val}`);
      if (RESERVED_PROPERTIES.includes(k)) {
        fail(action, `property ${k} is reserved${k === 'format-version' ? '; use upgrade-format-version' : ''}`);
      }
      if (this.md.properties[k] !== val) {
        this.md.properties[k] = val;
        this.changed = true;
      }
    }
  }

  /** Final bookkeeping, as in Java's `TableMetadata.Builder.build()`. */
  finish(): TableMetadata {
    const md = this.md;
    const ids = new Set(md.snapshots.map((s) => s['snapshot-id']));
    const current = md['current-snapshot-id'];
    const log: TableMetadata['snapshot-log'] = [];
    for (const e of md['snapshot-log']) {
      const id = e['snapshot-id'];
      if (!ids.has(id)) {
        // An entry for a removed snapshot invalidates the history before it (Java does the same):
        // time travel to those times would otherwise land on a snapshot that is not their state.
        log.length = 0;
        continue;
      }
      // Snapshots added and superseded as main within this one commit were never visible.
      if (this.addedSnapshots.has(id) && id !== current) continue;
      log.push(e);
    }
    md['snapshot-log'] = log;
    md['last-updated-ms'] = this.lastUpdatedFromSnapshot ?? this.nowMs;
    return md;
  }
}

function refKey(r: SnapshotRef): unknown[] {
  return [r['snapshot-id'].toString(), r.type, r['min-snapshots-to-keep'], r['max-snapshot-age-ms'], r['max-ref-age-ms']];
}

/**
 * Applies a commit's updates to `base`, with the REST catalog's semantics (Java's
 * `TableMetadata.Builder`). The input is never mutated. When nothing changes (every update a
 * no-op), an unchanged copy of `base` is returned, `last-updated-ms` included, so callers can skip
 * writing a new metadata file.
 *
 * Notable rules: ids of added schemas / specs / sort orders are assigned by the table (an
 * identical existing one is reused) and `-1` in the matching `set-…` update means "the one added
 * last in this commit"; `last-column-id` and `last-partition-id` only grow; `add-snapshot` needs a
 * sequence number above `last-sequence-number` (v2+) and an existing parent; setting `main` moves
 * `current-snapshot-id` and appends to the snapshot log; removing snapshots drops refs to them but
 * refuses to remove main's snapshot; the result passes {@link validateTableMetadata}.
 *
 * @param nowMs commit time (defaults to now); `last-updated-ms` becomes the timestamp of a snapshot
 *   added and made current by this commit, else `nowMs`
 * @throws ValidationError `commit: <action>: …` when an update cannot apply
 */
export function applyUpdates(base: TableMetadata, updates: TableUpdate[], nowMs?: number): TableMetadata {
  const b = new Builder(base, nowMs ?? Date.now());
  for (const u of updates) b.apply(u);
  if (!b.changed) return structuredClone(base);
  const md = b.finish();
  validateTableMetadata(md, 'commit');
  return md;
}

// ---------------------------------------------------------------------------------------------
// Metadata files
// ---------------------------------------------------------------------------------------------

/**
 * Records the metadata file being replaced in `metadata-log` (returns a new object with a new log;
 * everything else is shared with `md`, which is not changed). The log keeps the newest
 * `write.metadata.previous-versions-max` entries (default 100, at least 1).
 * @param previousLocation the replaced metadata file
 * @param previousLastUpdatedMs that file's `last-updated-ms`
 */
export function withMetadataLog(md: TableMetadata, previousLocation: string, previousLastUpdatedMs: number): TableMetadata {
  const raw = md.properties[METADATA_PREVIOUS_VERSIONS_MAX];
  const parsed = raw === undefined ? NaN : Number(raw);
  const max = Math.max(1, Number.isInteger(parsed) ? parsed : METADATA_PREVIOUS_VERSIONS_MAX_DEFAULT);
  const log = [...md['metadata-log'], { 'timestamp-ms': previousLastUpdatedMs, 'metadata-file': previousLocation }];
  // No deep copy: md is a commit's fresh applyUpdates result, and copying a whole metadata (a
  // few hundred snapshots) at every commit was pure garbage (issue 12).
  return { ...md, 'metadata-log': log.slice(Math.max(0, log.length - max)) };
}

/**
 * Name of the metadata file for a table version: `00001-<random uuid>.metadata.json` (Java's
 * layout; the random part makes concurrent writers never collide on a file name).
 * @param codec `'gzip'` names a gzip-compressed file `…​.gz.metadata.json`, as Java does
 */
export function metadataFileName(version: number, codec: 'none' | 'gzip' = 'none'): string {
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new ValidationError(`metadata: version must be a non-negative integer, got ${version}`);
  }
  return `${String(version).padStart(5, '0')}-${randomUUID()}${codec === 'gzip' ? '.gz' : ''}.metadata.json`;
}

const VERSIONED_NAME = /^(\d+)-[^/]*?(?:\.gz)?\.metadata\.json(?:\.gz)?$/;
const HADOOP_NAME = /^v(\d+)(?:\.gz)?\.metadata\.json(?:\.gz)?$/;

/**
 * The table version encoded in a metadata file's location, or undefined when the name has none.
 * Understands Java catalog names (`00001-<uuid>.metadata.json`), Hadoop/file-system names
 * (`v1.metadata.json`), and their gzip forms (`….gz.metadata.json`, legacy `….metadata.json.gz`);
 * see {@link metadataCodec} to tell whether the file must be decompressed.
 */
export function metadataVersion(location: string): number | undefined {
  const name = location.slice(location.lastIndexOf('/') + 1);
  const m = VERSIONED_NAME.exec(name) ?? HADOOP_NAME.exec(name);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isSafeInteger(v) ? v : undefined;
}

/** `'gzip'` when a metadata file's name says it is gzip-compressed (`.gz.metadata.json` or `.metadata.json.gz`). */
export function metadataCodec(location: string): 'none' | 'gzip' {
  return /\.gz\.metadata\.json$|\.metadata\.json\.gz$/.test(location) ? 'gzip' : 'none';
}
