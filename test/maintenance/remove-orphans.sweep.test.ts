import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { removeOrphanFiles } from '../../src/maintenance/remove-orphans.js';
import { compactTable } from '../../src/maintenance/compact.js';
import { expireSnapshots } from '../../src/maintenance/expire-snapshots.js';
import { appendRows, assertRows, sortedRows, withTable } from './helpers.js';

const DAY = 86_400_000;

async function stray(path: string, ageMs: number): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, 'junk');
  const t = (Date.now() - ageMs) / 1000;
  await utimes(path, t, t);
}

test('remove-orphans: only old unreferenced files under the table go; dry run lists them', async () => {
  await withTable(async ({ dir, catalog, table }) => {
    for (let i = 0; i < 3; i++) await appendRows(table, i * 10, 10);
    const before = await sortedRows(catalog);
    const t = join(dir, 'wh', 'db', 'events');
    const oldData = join(t, 'data', 'crashed-write.parquet');
    const oldMeta = join(t, 'metadata', 'aaaa-m0.avro');
    const oldTmp = join(t, 'metadata', '.00009-x.metadata.json.1234.tmp');
    const young = join(t, 'data', 'being-written.parquet');
    const hint = join(t, 'metadata', 'version-hint.text');
    const sibling = join(dir, 'wh', 'db', 'events_dead_letters', 'data', 'old.parquet');
    await stray(oldData, 4 * DAY);
    await stray(oldMeta, 4 * DAY);
    await stray(oldTmp, 10 * DAY);
    await stray(young, 60_000);
    await stray(hint, 30 * DAY);
    await stray(sibling, 30 * DAY);
    // Every referenced file is old too: age alone must never be the reason to delete.
    const { readdir } = await import('node:fs/promises');
    for (const sub of ['data', 'metadata']) {
      for (const name of await readdir(join(t, sub))) {
        const p = join(t, sub, name);
        const s = (Date.now() - 30 * DAY) / 1000;
        if (![oldData, oldMeta, oldTmp, young, hint].includes(p)) await utimes(p, s, s);
      }
    }

    const dry = await removeOrphanFiles(table, { dryRun: true });
    assert.deepEqual(dry.orphans.map((o) => o.location).sort(), [oldData, oldMeta, oldTmp].sort());
    assert.ok(dry.orphans.every((o) => !o.deleted));
    assert.equal(dry.youngUnreferenced, 1);
    assert.ok(existsSync(oldData));

    const r = await removeOrphanFiles(table, {});
    assert.equal(r.deleted, 3);
    assert.ok(!existsSync(oldData) && !existsSync(oldMeta) && !existsSync(oldTmp));
    assert.ok(existsSync(young), 'inside the safety window');
    assert.ok(existsSync(hint), 'version-hint.text is kept');
    assert.ok(existsSync(sibling), 'a sibling table sharing the name prefix is untouched');
    await assertRows(catalog, before, 'after orphan removal');

    // A window of 0 takes the young file too; the table still reads.
    const all = await removeOrphanFiles(table, { olderThanMs: 0, allowShortOlderThan: true });
    assert.deepEqual(all.orphans.map((o) => o.location), [young]);
    await assertRows(catalog, before, 'after sweeping with no window');
  });
});

test('remove-orphans: files left by an expiry that crashed before deleting are swept', async () => {
  await withTable(async ({ catalog, table, io }) => {
    for (let i = 0; i < 6; i++) await appendRows(table, i * 10, 10);
    await compactTable(table, { minInputFiles: 5 });
    const before = await sortedRows(catalog);
    io.deletesLeft = 0; // the process "dies" before deleting anything
    const r = await expireSnapshots(table, { olderThanMs: 0, retainLast: 1 });
    io.heal();
    assert.equal(r.expiredSnapshots, 6);
    assert.ok(r.failedDeletes > 0);
    await assertRows(catalog, before, 'after the failed cleanup');
    const sweep = await removeOrphanFiles(table, { olderThanMs: 0, allowShortOlderThan: true });
    assert.ok(sweep.deleted >= 6 + 6, `old data files and manifest lists swept (${sweep.deleted})`);
    await assertRows(catalog, before, 'after the sweep');
    assert.equal((await removeOrphanFiles(table, { olderThanMs: 0, allowShortOlderThan: true })).orphans.length, 0);
  });
});
