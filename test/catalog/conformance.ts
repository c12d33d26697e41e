/**
 * Catalog conformance suite, modeled on iceberg-go's `catalog/catalogtest` (itself the Go
 * counterpart of Java's CatalogTests): the behaviour every floe Catalog (embedded SQL, REST, Glue)
 * must share, specified once. An implementation's test file calls
 * `catalogConformance(name, makeCatalog, features)`.
 *
 * Each test gets its own catalog from `makeCatalog` and uses namespace names unique to the test,
 * because catalogs backed by a shared server outlive a single test; whatever a test creates is
 * dropped at its end (best effort).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import {
  AlreadyExistsError,
  CommitConflictError,
  NamespaceNotEmptyError,
  NoSuchNamespaceError,
  NoSuchTableError,
} from '../../src/errors.js';
import type { Catalog, LoadedTable, Namespace, TableIdentifier } from '../../src/catalog/catalog.js';
import type { TableRequirement, TableUpdate } from '../../src/iceberg/commit.js';
import type { Schema } from '../../src/iceberg/types.js';

/** What `makeCatalog` returns. */
export interface CatalogUnderTest {
  catalog: Catalog;
  /** Called after the suite (e.g. close the catalog, stop a server, remove a temp dir). */
  cleanup?: () => Promise<void>;
}

/** Capabilities that not every catalog has; tests needing a missing one are skipped. */
export interface CatalogFeatures {
  /** Namespaces with more than one level (Glue has one). Default true. */
  nestedNamespaces?: boolean;
  /** Storing arbitrary namespace properties. Default true. */
  namespaceProperties?: boolean;
  /** `commitTable` with `assert-create` creating the table. Default true. */
  createViaCommit?: boolean;
  /** `dropTable(…, { purge: true })` deleting the metadata files. Default true. */
  purge?: boolean;
}

/**
 * The schema tests create tables with. Its field ids are deliberately not 1 and 2: catalogs
 * assign fresh ids on create, and {@link TABLE_SCHEMA_FIELDS} is what they must report back.
 */
export const CONFORMANCE_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 3, name: 'id', type: 'int', required: true, doc: 'unique ID 🤪' },
    { id: 4, name: 'data', type: 'string', required: true },
  ],
};

/** The fields of {@link CONFORMANCE_SCHEMA} after fresh id assignment. */
export const TABLE_SCHEMA_FIELDS = [
  { id: 1, name: 'id', type: 'int', required: true, doc: 'unique ID 🤪' },
  { id: 2, name: 'data', type: 'string', required: true },
];

const OTHER_SCHEMA: Schema = {
  type: 'struct',
  'schema-id': 0,
  fields: [{ id: 1, name: 'some_id', type: 'int', required: true }],
};

function uniqueNamespace(): Namespace {
  return [`conformance_${randomUUID().replace(/-/g, '_')}`];
}

function currentSchema(t: LoadedTable): Schema {
  const s = t.metadata.schemas.find((x) => x['schema-id'] === t.metadata['current-schema-id']);
  assert.ok(s, `current schema ${t.metadata['current-schema-id']} not found`);
  return s;
}

function stripSchemaId(s: Schema): unknown {
  return s.fields.map((f) => ({ ...f }));
}

function sortNs(list: Namespace[]): string[] {
  return list.map((n) => n.join('.')).sort();
}

/**
 * Registers the catalog conformance tests.
 * @param name suite name, e.g. `SqlCatalog (file)`
 * @param makeCatalog called once per test
 */
export function catalogConformance(
  name: string,
  makeCatalog: () => CatalogUnderTest | Promise<CatalogUnderTest>,
  features: CatalogFeatures = {},
): void {
  const nested = features.nestedNamespaces ?? true;
  const nsProps = features.namespaceProperties ?? true;
  const createViaCommit = features.createViaCommit ?? true;
  const purge = features.purge ?? true;

  describe(`Catalog conformance: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    });

    /** A fresh catalog plus helpers that remember what to drop at the end. */
    const setup = async () => {
      const { catalog, cleanup } = await makeCatalog();
      const namespaces: Namespace[] = [];
      cleanups.push(async () => {
        for (const ns of [...namespaces].reverse()) {
          try {
            for (const t of await catalog.listTables(ns)) await catalog.dropTable(t).catch(() => undefined);
          } catch {
            // already gone
          }
          await catalog.dropNamespace(ns).catch(() => undefined);
        }
        if (cleanup) await cleanup();
      });
      const ns = (): Namespace => {
        const n = uniqueNamespace();
        namespaces.push(n);
        return n;
      };
      const child = (parent: Namespace, level: string): Namespace => {
        const n = [...parent, level];
        namespaces.push(n);
        return n;
      };
      const tableIn = (namespace: Namespace, tableName = 'tbl'): TableIdentifier => ({ namespace, name: tableName });
      return { catalog, ns, child, tableIn };
    };

    // ---------------------------------------------------------------------------------------
    // Namespaces
    // ---------------------------------------------------------------------------------------

    it('creates a namespace that then exists', async () => {
      const { catalog, ns } = await setup();
      const n = ns();
      assert.equal(await catalog.namespaceExists(n), false);
      await catalog.createNamespace(n);
      assert.equal(await catalog.namespaceExists(n), true);
    });

    it('rejects creating an existing namespace with AlreadyExistsError', async () => {
      const { catalog, ns } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await assert.rejects(catalog.createNamespace(n), AlreadyExistsError);
      assert.equal(await catalog.namespaceExists(n), true);
    });

    it('drops a namespace; dropping a missing one is NoSuchNamespaceError', async () => {
      const { catalog, ns } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await catalog.dropNamespace(n);
      assert.equal(await catalog.namespaceExists(n), false);
      await assert.rejects(catalog.dropNamespace(n), NoSuchNamespaceError);
      await assert.rejects(catalog.dropNamespace(uniqueNamespace()), NoSuchNamespaceError);
    });

    it('refuses to drop a namespace holding a table (NamespaceNotEmptyError)', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await catalog.createTable(tableIn(n), { schema: CONFORMANCE_SCHEMA });
      await assert.rejects(catalog.dropNamespace(n), NamespaceNotEmptyError);
      assert.equal(await catalog.namespaceExists(n), true);
      assert.equal(await catalog.tableExists(tableIn(n)), true);
    });

    it('lists created namespaces and forgets dropped ones', async () => {
      const { catalog, ns } = await setup();
      const first = ns();
      const second = ns();
      await catalog.createNamespace(first);
      await catalog.createNamespace(second);
      let listed = sortNs(await catalog.listNamespaces());
      assert.ok(listed.includes(first.join('.')), 'first namespace listed');
      assert.ok(listed.includes(second.join('.')), 'second namespace listed');
      await catalog.dropNamespace(first);
      listed = sortNs(await catalog.listNamespaces());
      assert.ok(!listed.includes(first.join('.')), 'dropped namespace not listed');
      assert.ok(listed.includes(second.join('.')), 'remaining namespace still listed');
    });

    it('lists nested namespaces one level at a time', { skip: !nested && 'catalog has one namespace level' }, async () => {
      const { catalog, ns, child } = await setup();
      const parent = ns();
      const a = child(parent, 'a');
      const b = child(parent, 'b');
      const deep = child(a, 'deep');
      await catalog.createNamespace(parent);
      await catalog.createNamespace(a);
      await catalog.createNamespace(b);
      await catalog.createNamespace(deep);
      assert.deepEqual(sortNs(await catalog.listNamespaces(parent)), [a.join('.'), b.join('.')]);
      assert.deepEqual(sortNs(await catalog.listNamespaces(a)), [deep.join('.')]);
      assert.deepEqual(await catalog.listNamespaces(deep), []);
      const top = sortNs(await catalog.listNamespaces());
      assert.ok(top.includes(parent.join('.')));
      assert.ok(!top.includes(a.join('.')), 'listing without a parent shows top-level namespaces only');
      await assert.rejects(catalog.listNamespaces(uniqueNamespace()), NoSuchNamespaceError);
      assert.equal(await catalog.namespaceExists(deep), true);
    });

    it('creates a namespace with properties and loads them', { skip: !nsProps && 'no namespace properties' }, async () => {
      const { catalog, ns } = await setup();
      const n = ns();
      await catalog.createNamespace(n, { owner: 'floe', comment: 'conformance 🤪' });
      const props = await catalog.loadNamespaceProperties(n);
      assert.equal(props.owner, 'floe');
      assert.equal(props.comment, 'conformance 🤪');
    });

    it('loads the properties of a namespace created without any', async () => {
      const { catalog, ns } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const props = await catalog.loadNamespaceProperties(n);
      assert.equal(typeof props, 'object');
      await assert.rejects(catalog.loadNamespaceProperties(uniqueNamespace()), NoSuchNamespaceError);
    });

    it('updates and removes namespace properties', { skip: !nsProps && 'no namespace properties' }, async () => {
      const { catalog, ns } = await setup();
      const n = ns();
      await catalog.createNamespace(n, { keep: 'k', change: 'old', drop: 'd' });
      await catalog.updateNamespaceProperties(n, ['drop'], { change: 'new', add: 'a' });
      const props = await catalog.loadNamespaceProperties(n);
      assert.equal(props.keep, 'k');
      assert.equal(props.change, 'new');
      assert.equal(props.add, 'a');
      assert.equal(props.drop, undefined);
      // Removing every property leaves the namespace in place.
      await catalog.updateNamespaceProperties(n, ['keep', 'change', 'add'], {});
      assert.equal(await catalog.namespaceExists(n), true);
      const left = await catalog.loadNamespaceProperties(n);
      for (const k of ['keep', 'change', 'add']) assert.equal(left[k], undefined, k);
    });

    it('rejects property updates on a missing namespace', { skip: !nsProps && 'no namespace properties' }, async () => {
      const { catalog } = await setup();
      const missing = uniqueNamespace();
      await assert.rejects(catalog.updateNamespaceProperties(missing, [], { a: 'b' }), NoSuchNamespaceError);
      await assert.rejects(catalog.updateNamespaceProperties(missing, ['a'], {}), NoSuchNamespaceError);
      assert.equal(await catalog.namespaceExists(missing), false);
    });

    // ---------------------------------------------------------------------------------------
    // Tables
    // ---------------------------------------------------------------------------------------

    it('creates a table with fresh field ids, unpartitioned and unsorted', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n);
      assert.equal(await catalog.tableExists(id), false);
      await catalog.createNamespace(n);
      const t = await catalog.createTable(id, { schema: CONFORMANCE_SCHEMA, properties: { 'floe.test': 'yes' } });
      assert.equal(await catalog.tableExists(id), true);
      assert.deepEqual(t.identifier, id);
      assert.deepEqual(stripSchemaId(currentSchema(t)), TABLE_SCHEMA_FIELDS);
      assert.ok(t.metadata.location.length > 0, 'table has a location');
      assert.equal(t.metadata['format-version'], 2);
      assert.equal(t.metadata['last-column-id'], 2);
      const spec = t.metadata['partition-specs'].find((s) => s['spec-id'] === t.metadata['default-spec-id']);
      assert.deepEqual(spec?.fields, []);
      const order = t.metadata['sort-orders'].find((o) => o['order-id'] === t.metadata['default-sort-order-id']);
      assert.deepEqual(order?.fields, []);
      assert.equal(t.metadata.properties['floe.test'], 'yes');
      assert.equal(t.metadata['current-snapshot-id'], undefined);
      assert.ok(await t.io.exists(t.metadataLocation), 'metadata file exists');

      const loaded = await catalog.loadTable(id);
      assert.equal(loaded.metadataLocation, t.metadataLocation);
      assert.equal(loaded.metadata['table-uuid'], t.metadata['table-uuid']);
      assert.deepEqual(stripSchemaId(currentSchema(loaded)), TABLE_SCHEMA_FIELDS);
    });

    it('creates a partitioned, sorted table at a given location', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const first = await catalog.createTable(tableIn(n, 'probe'), { schema: CONFORMANCE_SCHEMA });
      const location = `${first.metadata.location}_custom`;
      const t = await catalog.createTable(tableIn(n, 'custom'), {
        schema: CONFORMANCE_SCHEMA,
        location,
        partitionSpec: { 'spec-id': 0, fields: [{ 'source-id': 3, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[16]' }] },
        sortOrder: { 'order-id': 1, fields: [{ 'source-id': 4, transform: 'identity', direction: 'asc', 'null-order': 'nulls-first' }] },
        formatVersion: 1,
      });
      assert.equal(t.metadata.location, location);
      assert.equal(t.metadata['format-version'], 1);
      const spec = t.metadata['partition-specs'].find((s) => s['spec-id'] === t.metadata['default-spec-id']);
      assert.deepEqual(spec?.fields, [{ 'source-id': 1, 'field-id': 1000, name: 'id_bucket', transform: 'bucket[16]' }]);
      const order = t.metadata['sort-orders'].find((o) => o['order-id'] === t.metadata['default-sort-order-id']);
      assert.equal(order?.fields[0]?.['source-id'], 2);
    });

    it('rejects creating an existing table and keeps the original', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const created = await catalog.createTable(tableIn(n), { schema: CONFORMANCE_SCHEMA });
      await assert.rejects(catalog.createTable(tableIn(n), { schema: OTHER_SCHEMA }), AlreadyExistsError);
      const t = await catalog.loadTable(tableIn(n));
      assert.equal(t.metadataLocation, created.metadataLocation);
      assert.deepEqual(stripSchemaId(currentSchema(t)), TABLE_SCHEMA_FIELDS);
    });

    it('rejects creating a table in a missing namespace', async () => {
      const { catalog, tableIn } = await setup();
      const missing = uniqueNamespace();
      await assert.rejects(catalog.createTable(tableIn(missing), { schema: CONFORMANCE_SCHEMA }), NoSuchNamespaceError);
      assert.equal(await catalog.namespaceExists(missing), false);
    });

    it('reports missing tables as NoSuchTableError, also in a missing namespace', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await assert.rejects(catalog.loadTable(tableIn(n)), NoSuchTableError);
      assert.equal(await catalog.tableExists(tableIn(n)), false);
      const elsewhere = tableIn(uniqueNamespace());
      assert.equal(await catalog.tableExists(elsewhere), false);
      await assert.rejects(catalog.loadTable(elsewhere), NoSuchTableError);
    });

    it('lists tables as they are created and dropped', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      assert.deepEqual(await catalog.listTables(n), []);
      await catalog.createTable(tableIn(n, 'b_tbl'), { schema: CONFORMANCE_SCHEMA });
      await catalog.createTable(tableIn(n, 'a_tbl'), { schema: CONFORMANCE_SCHEMA });
      const names = (await catalog.listTables(n)).map((t) => t.name).sort();
      assert.deepEqual(names, ['a_tbl', 'b_tbl']);
      for (const t of await catalog.listTables(n)) assert.deepEqual(t.namespace, n);
      await catalog.dropTable(tableIn(n, 'a_tbl'));
      assert.deepEqual((await catalog.listTables(n)).map((t) => t.name), ['b_tbl']);
      await assert.rejects(catalog.listTables(uniqueNamespace()), NoSuchNamespaceError);
    });

    it('drops a table; dropping a missing one is NoSuchTableError', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const t = await catalog.createTable(tableIn(n), { schema: CONFORMANCE_SCHEMA });
      await catalog.dropTable(tableIn(n));
      assert.equal(await catalog.tableExists(tableIn(n)), false);
      await assert.rejects(catalog.loadTable(tableIn(n)), NoSuchTableError);
      await assert.rejects(catalog.dropTable(tableIn(n)), NoSuchTableError);
      assert.ok(await t.io.exists(t.metadataLocation), 'drop without purge keeps the files');
      // The namespace is empty again and can be dropped.
      await catalog.dropNamespace(n);
    });

    it('purges metadata files when dropping with purge', { skip: !purge && 'no purge' }, async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const t = await catalog.createTable(tableIn(n), { schema: CONFORMANCE_SCHEMA });
      const t2 = await catalog.commitTable(tableIn(n), [], [{ action: 'set-properties', updates: { v: '2' } }]);
      await catalog.dropTable(tableIn(n), { purge: true });
      assert.equal(await catalog.tableExists(tableIn(n)), false);
      assert.equal(await t.io.exists(t.metadataLocation), false, 'first metadata file purged');
      assert.equal(await t.io.exists(t2.metadataLocation), false, 'current metadata file purged');
    });

    it('renames a table within a namespace, keeping its identity', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const created = await catalog.createTable(tableIn(n), { schema: CONFORMANCE_SCHEMA });
      await catalog.renameTable(tableIn(n), tableIn(n, 'renamed'));
      assert.equal(await catalog.tableExists(tableIn(n)), false);
      const t = await catalog.loadTable(tableIn(n, 'renamed'));
      assert.deepEqual(t.identifier, tableIn(n, 'renamed'));
      assert.equal(t.metadata['table-uuid'], created.metadata['table-uuid']);
      assert.equal(t.metadataLocation, created.metadataLocation, 'rename does not rewrite metadata');
      assert.deepEqual(stripSchemaId(currentSchema(t)), TABLE_SCHEMA_FIELDS);
    });

    it('renames a table across namespaces', async () => {
      const { catalog, ns, tableIn } = await setup();
      const src = ns();
      const dst = ns();
      await catalog.createNamespace(src);
      await catalog.createNamespace(dst);
      const created = await catalog.createTable(tableIn(src), { schema: CONFORMANCE_SCHEMA });
      await catalog.renameTable(tableIn(src), tableIn(dst, 'moved'));
      assert.deepEqual(await catalog.listTables(src), []);
      assert.deepEqual((await catalog.listTables(dst)).map((t) => t.name), ['moved']);
      const t = await catalog.loadTable(tableIn(dst, 'moved'));
      assert.equal(t.metadata['table-uuid'], created.metadata['table-uuid']);
      await catalog.dropNamespace(src);
    });

    it('rejects renaming onto an existing table, a missing table or into a missing namespace', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await catalog.createTable(tableIn(n, 'one'), { schema: CONFORMANCE_SCHEMA });
      await catalog.createTable(tableIn(n, 'two'), { schema: CONFORMANCE_SCHEMA });
      await assert.rejects(catalog.renameTable(tableIn(n, 'one'), tableIn(n, 'two')), AlreadyExistsError);
      assert.equal(await catalog.tableExists(tableIn(n, 'one')), true);
      assert.equal(await catalog.tableExists(tableIn(n, 'two')), true);
      await assert.rejects(catalog.renameTable(tableIn(n, 'missing'), tableIn(n, 'other')), NoSuchTableError);
      await assert.rejects(catalog.renameTable(tableIn(n, 'one'), tableIn(uniqueNamespace(), 'x')), NoSuchNamespaceError);
      assert.equal(await catalog.tableExists(tableIn(n, 'one')), true);
    });

    it('registers an existing metadata file as a table', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await catalog.createTable(tableIn(n, 'orig'), { schema: CONFORMANCE_SCHEMA });
      const committed = await catalog.commitTable(tableIn(n, 'orig'), [], [{ action: 'set-properties', updates: { k: 'v' } }]);
      await catalog.dropTable(tableIn(n, 'orig'));
      const reg = await catalog.registerTable(tableIn(n, 'registered'), committed.metadataLocation);
      assert.equal(reg.metadataLocation, committed.metadataLocation);
      assert.equal(reg.metadata['table-uuid'], committed.metadata['table-uuid']);
      const t = await catalog.loadTable(tableIn(n, 'registered'));
      assert.equal(t.metadata.properties.k, 'v');
      assert.deepEqual(stripSchemaId(currentSchema(t)), TABLE_SCHEMA_FIELDS);
      await assert.rejects(catalog.registerTable(tableIn(n, 'registered'), committed.metadataLocation), AlreadyExistsError);
      // The registered table is fully usable.
      const after = await catalog.commitTable(tableIn(n, 'registered'), [], [{ action: 'set-properties', updates: { k: 'w' } }]);
      assert.equal(after.metadata.properties.k, 'w');
    });

    // ---------------------------------------------------------------------------------------
    // Commits
    // ---------------------------------------------------------------------------------------

    it('commits property changes as a new metadata version', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n);
      await catalog.createNamespace(n);
      const created = await catalog.createTable(id, { schema: CONFORMANCE_SCHEMA, properties: { gone: 'soon' } });
      const t1 = await catalog.commitTable(
        id,
        [{ type: 'assert-table-uuid', uuid: created.metadata['table-uuid'] }],
        [{ action: 'set-properties', updates: { 'commit.retry.num-retries': '7', owner: 'floe' } }],
      );
      assert.notEqual(t1.metadataLocation, created.metadataLocation);
      assert.equal(t1.metadata.properties.owner, 'floe');
      assert.ok(
        t1.metadata['metadata-log'].some((e) => e['metadata-file'] === created.metadataLocation),
        'metadata log records the previous file',
      );
      const t2 = await catalog.commitTable(id, [], [{ action: 'remove-properties', removals: ['gone'] }]);
      assert.equal(t2.metadata.properties.gone, undefined);
      assert.equal(t2.metadata.properties.owner, 'floe');
      const loaded = await catalog.loadTable(id);
      assert.equal(loaded.metadataLocation, t2.metadataLocation);
      assert.deepEqual(loaded.metadata.properties, t2.metadata.properties);
    });

    it('commits a new current schema', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n);
      await catalog.createNamespace(n);
      await catalog.createTable(id, { schema: CONFORMANCE_SCHEMA });
      const evolved: Schema = {
        type: 'struct',
        'schema-id': 1,
        fields: [...TABLE_SCHEMA_FIELDS, { id: 3, name: 'added', type: 'long', required: false }] as Schema['fields'],
      };
      const t = await catalog.commitTable(
        id,
        [
          { type: 'assert-current-schema-id', 'current-schema-id': 0 },
          { type: 'assert-last-assigned-field-id', 'last-assigned-field-id': 2 },
        ],
        [
          { action: 'add-schema', schema: evolved },
          { action: 'set-current-schema', 'schema-id': -1 },
        ],
      );
      assert.equal(t.metadata['current-schema-id'], 1);
      assert.equal(t.metadata['last-column-id'], 3);
      assert.deepEqual(currentSchema(t).fields.map((f) => f.name), ['id', 'data', 'added']);
      const loaded = await catalog.loadTable(id);
      assert.equal(loaded.metadata['current-schema-id'], 1);
      assert.equal(loaded.metadata.schemas.length, 2);
    });

    it('commits a snapshot to main and refuses a stale one', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n);
      await catalog.createNamespace(n);
      const created = await catalog.createTable(id, { schema: CONFORMANCE_SCHEMA });
      const snapshot = (snapshotId: bigint, parent: bigint | undefined, seq: bigint): TableUpdate[] => [
        {
          action: 'add-snapshot',
          snapshot: {
            'snapshot-id': snapshotId,
            ...(parent === undefined ? {} : { 'parent-snapshot-id': parent }),
            'sequence-number': seq,
            'timestamp-ms': Date.now(),
            'manifest-list': `${created.metadata.location}/metadata/snap-${snapshotId}-1-${randomUUID()}.avro`,
            summary: { operation: 'append', 'floe.checkpoint': `${seq}` },
            'schema-id': 0,
          },
        },
        { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': snapshotId },
      ];
      const first = 1234567890123456789n; // beyond 2^53: must survive every round trip exactly
      const t1 = await catalog.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }], snapshot(first, undefined, 1n));
      assert.equal(t1.metadata['current-snapshot-id'], first);
      assert.equal((await catalog.loadTable(id)).metadata['current-snapshot-id'], first);

      // A writer that still believes main is empty must lose.
      await assert.rejects(
        catalog.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': null }], snapshot(22n, undefined, 2n)),
        CommitConflictError,
      );
      const t2 = await catalog.commitTable(id, [{ type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': first }], snapshot(22n, first, 2n));
      assert.equal(t2.metadata['current-snapshot-id'], 22n);
      assert.equal(t2.metadata['last-sequence-number'], 2n);
      const loaded = await catalog.loadTable(id);
      assert.deepEqual(loaded.metadata.snapshots.map((s) => s['snapshot-id']), [first, 22n]);
      assert.equal(loaded.metadata.snapshots[1]?.summary['floe.checkpoint'], '2');
    });

    it('fails commits whose requirements no longer hold with CommitConflictError', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n);
      await catalog.createNamespace(n);
      const created = await catalog.createTable(id, { schema: CONFORMANCE_SCHEMA });
      await assert.rejects(
        catalog.commitTable(id, [{ type: 'assert-table-uuid', uuid: randomUUID() }], [{ action: 'set-properties', updates: { a: 'b' } }]),
        CommitConflictError,
      );
      await assert.rejects(
        catalog.commitTable(id, [{ type: 'assert-current-schema-id', 'current-schema-id': 5 }], [{ action: 'set-properties', updates: { a: 'b' } }]),
        CommitConflictError,
      );
      const t = await catalog.loadTable(id);
      assert.equal(t.metadataLocation, created.metadataLocation, 'a failed commit changes nothing');
      assert.equal(t.metadata.properties.a, undefined);
    });

    it('lets exactly one of several concurrent commits from the same base win', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n);
      await catalog.createNamespace(n);
      await catalog.createTable(id, { schema: CONFORMANCE_SCHEMA });
      const writers = 4;
      const attempt = (i: number) => {
        const schema: Schema = {
          type: 'struct',
          'schema-id': 1,
          fields: [...TABLE_SCHEMA_FIELDS, { id: 3, name: `col_${i}`, type: 'string', required: false }] as Schema['fields'],
        };
        const reqs: TableRequirement[] = [{ type: 'assert-current-schema-id', 'current-schema-id': 0 }];
        const updates: TableUpdate[] = [
          { action: 'add-schema', schema },
          { action: 'set-current-schema', 'schema-id': -1 },
          { action: 'set-properties', updates: { writer: String(i) } },
        ];
        return catalog.commitTable(id, reqs, updates);
      };
      const results = await Promise.allSettled(Array.from({ length: writers }, (_, i) => attempt(i)));
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(winners.length, 1, `exactly one winner, got ${winners.length}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof CommitConflictError, `loser got ${String(r.reason)}`);
      }
      const w = winners[0]!;
      const t = await catalog.loadTable(id);
      assert.equal(t.metadata.properties.writer, String(w));
      assert.deepEqual(currentSchema(t).fields.map((f) => f.name), ['id', 'data', `col_${w}`]);
      assert.equal(t.metadata.schemas.length, 2, 'losers left no schema behind');
    });

    it('reports commits to a missing table as NoSuchTableError', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      await assert.rejects(
        catalog.commitTable(tableIn(n, 'missing'), [], [{ action: 'set-properties', updates: { a: 'b' } }]),
        NoSuchTableError,
      );
    });

    it('refuses assert-create on an existing table', async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      await catalog.createNamespace(n);
      const created = await catalog.createTable(tableIn(n), { schema: CONFORMANCE_SCHEMA });
      await assert.rejects(
        catalog.commitTable(tableIn(n), [{ type: 'assert-create' }], [{ action: 'set-properties', updates: { a: 'b' } }]),
        CommitConflictError,
      );
      assert.equal((await catalog.loadTable(tableIn(n))).metadataLocation, created.metadataLocation);
    });

    it('creates a table through a commit with assert-create', { skip: !createViaCommit && 'no create via commit' }, async () => {
      const { catalog, ns, tableIn } = await setup();
      const n = ns();
      const id = tableIn(n, 'via_commit');
      await catalog.createNamespace(n);
      const uuid = randomUUID();
      const t = await catalog.commitTable(
        id,
        [{ type: 'assert-create' }],
        [
          { action: 'assign-uuid', uuid },
          { action: 'upgrade-format-version', 'format-version': 2 },
          { action: 'add-schema', schema: { type: 'struct', 'schema-id': 0, fields: TABLE_SCHEMA_FIELDS } as Schema },
          { action: 'set-current-schema', 'schema-id': -1 },
          { action: 'add-spec', spec: { 'spec-id': 0, fields: [] } },
          { action: 'set-default-spec', 'spec-id': -1 },
          { action: 'add-sort-order', 'sort-order': { 'order-id': 0, fields: [] } },
          { action: 'set-default-sort-order', 'sort-order-id': -1 },
          { action: 'set-properties', updates: { created: 'by-commit' } },
        ],
      );
      assert.equal(t.metadata['table-uuid'], uuid);
      const loaded = await catalog.loadTable(id);
      assert.equal(loaded.metadata['table-uuid'], uuid);
      assert.equal(loaded.metadata['format-version'], 2);
      assert.equal(loaded.metadata.properties.created, 'by-commit');
      assert.deepEqual(stripSchemaId(currentSchema(loaded)), TABLE_SCHEMA_FIELDS);
      assert.ok(loaded.metadata.location.length > 0);
    });
  });
}
