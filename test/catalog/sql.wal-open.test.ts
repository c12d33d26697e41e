/**
 * Opening the SQLite catalog puts the file in WAL mode without contending for it when it is in
 * WAL already, and rides out a conversion that meets another connection (SQLite does not run its
 * busy handler for a journal-mode change: the conversion fails at once with "database is locked").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ensureWal, openSqliteDatabase, type PragmaConnection } from '../../src/catalog/sql/db.js';

/** A connection whose pragmas answer from a script, recording what was asked. */
function scripted(answers: (string | Error)[]): PragmaConnection & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    pragma(source: string): unknown {
      asked.push(source);
      const a = answers.shift();
      if (a === undefined) throw new Error(`unexpected pragma ${source}`);
      if (a instanceof Error) throw a;
      return a;
    },
  };
}

const busy = (): Error => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

test('a catalog file in WAL mode already is not converted again (no lock to take)', () => {
  const db = scripted(['wal']);
  ensureWal(db, 1000);
  assert.deepEqual(db.asked, ['journal_mode']);
});

test('a conversion that fails busy is tried again until it lands, or until another connection converted the file', () => {
  const db = scripted(['delete', busy(), 'delete', busy(), 'delete', 'wal']);
  ensureWal(db, 5000);
  assert.deepEqual(db.asked, ['journal_mode', 'journal_mode = WAL', 'journal_mode', 'journal_mode = WAL', 'journal_mode', 'journal_mode = WAL']);
  const other = scripted(['delete', busy(), 'wal']);
  ensureWal(other, 5000);
  assert.deepEqual(other.asked, ['journal_mode', 'journal_mode = WAL', 'journal_mode']);
});

test('a conversion still busy after the budget fails with the busy error; other errors at once', () => {
  const answers: (string | Error)[] = [];
  for (let i = 0; i < 1000; i++) answers.push('delete', busy());
  const t0 = Date.now();
  assert.throws(() => ensureWal(scripted(answers), 150), (e: unknown) => (e as { code?: string }).code === 'SQLITE_BUSY');
  const waited = Date.now() - t0;
  assert.ok(waited >= 140 && waited < 2000, `waited ${waited} ms for a 150 ms budget`);
  const broken = scripted(['delete', Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })]);
  assert.throws(() => ensureWal(broken, 5000), /disk I\/O error/);
  assert.equal(broken.asked.length, 2);
});

test('a new catalog file ends in WAL mode; one in rollback mode is converted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-wal-open-'));
  try {
    const fresh = openSqliteDatabase(join(dir, 'a.db'), 1000, true);
    assert.equal(fresh.pragma('journal_mode', { simple: true }), 'wal');
    fresh.close();
    const plain = new Database(join(dir, 'b.db'));
    plain.exec('CREATE TABLE t(x)');
    assert.equal(plain.pragma('journal_mode', { simple: true }), 'delete');
    plain.close();
    const converted = openSqliteDatabase(join(dir, 'b.db'), 1000, true);
    assert.equal(converted.pragma('journal_mode', { simple: true }), 'wal');
    converted.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
