import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { DuckDB, sqlString } from '../../src/duckdb/instance.js';

/** Bytes DuckDB holds under `tag` (`duckdb_memory()`). */
async function held(db: DuckDB, tag: string): Promise<number> {
  const rows = await db.all(`SELECT memory_usage_bytes AS m FROM duckdb_memory() WHERE tag = ${sqlString(tag)}`);
  return Number(rows[0]?.m ?? 0);
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'floe-duckdb-mem-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes `n` Parquet files of 5,000 rows, reads each back, deletes them: what a compaction does. */
async function readAndDelete(db: DuckDB, dir: string, n: number): Promise<void> {
  for (let k = 0; k < n; k++) {
    const path = join(dir, `f${k}.parquet`);
    await db.run(`COPY (SELECT i, md5(i::VARCHAR) AS s FROM range(5000) r(i)) TO ${sqlString(path)} (FORMAT parquet)`);
    await db.all(`SELECT count(*), max(s) FROM read_parquet(${sqlString(path)})`);
    await rm(path);
  }
}

describe('DuckDB instance memory', () => {
  test('files read are not kept in the external file cache (deleted files held memory until the limit)', async () => {
    await withDir(async (dir) => {
      const db = await DuckDB.open({ threads: 1 });
      try {
        assert.deepEqual(await db.all(`SELECT current_setting('enable_external_file_cache') AS c`), [{ c: false }]);
        await readAndDelete(db, dir, 5);
        assert.equal(await held(db, 'EXTERNAL_FILE_CACHE'), 0);
      } finally {
        db.close();
      }
      // The measurement sees the cache when it is on (DuckDB's default): the test above can fail.
      const cached = await DuckDB.open({ threads: 1, externalFileCache: true });
      try {
        await readAndDelete(cached, dir, 5);
        // DuckDB keeps the footer and pages it read: about 12 KB per file here, for files already deleted.
        assert.ok((await held(cached, 'EXTERNAL_FILE_CACHE')) >= 5 * 8192, 'DuckDB caches what it reads when the cache is on');
      } finally {
        cached.close();
      }
    });
  });

  test('memory_limit: bytes or DuckDB notation; the default is left to the caller', async () => {
    const bytes = await DuckDB.open({ threads: 1, memoryLimit: 256 * 1024 * 1024 });
    const notation = await DuckDB.open({ threads: 1, memoryLimit: '1GB' });
    try {
      assert.deepEqual(await bytes.all(`SELECT current_setting('memory_limit') AS m`), [{ m: '256.0 MiB' }]);
      assert.deepEqual(await notation.all(`SELECT current_setting('memory_limit') AS m`), [{ m: '953.6 MiB' }]);
    } finally {
      bytes.close();
      notation.close();
    }
    await assert.rejects(DuckDB.open({ memoryLimit: 'lots' }), /^FloeError: duckdb: cannot create instance: /);
  });

  test('spilling goes to a directory of its own under temp_directory, removed on close', async () => {
    await withDir(async (dir) => {
      const a = await DuckDB.open({ threads: 1, memoryLimit: '32MB', tempDirectory: dir });
      const b = await DuckDB.open({ threads: 1, tempDirectory: dir });
      try {
        assert.equal(dirname(a.spillDirectory), dir);
        assert.notEqual(a.spillDirectory, b.spillDirectory, 'two instances never share spill files');
        const [setting] = await a.all(`SELECT current_setting('temp_directory') AS t`);
        assert.equal(setting?.t, a.spillDirectory);
        // A sort larger than the limit spills; DuckDB creates the directory then.
        const [r] = await a.all(`SELECT count(*) AS n FROM (SELECT i, md5(i::VARCHAR) AS s FROM range(1000000) r(i) ORDER BY s)`);
        assert.equal(r?.n, 1_000_000n);
        assert.ok(existsSync(a.spillDirectory), 'the sort spilled into the instance directory');
      } finally {
        a.close();
        b.close();
      }
      assert.deepEqual(await readdir(dir), [], 'nothing left behind after close');
    });
  });

  test('the default spill directory is under the OS temp directory, not the working directory', async () => {
    const db = await DuckDB.open({ threads: 1 });
    try {
      assert.equal(dirname(db.spillDirectory), tmpdir());
      assert.match(db.spillDirectory, /floe-duckdb-\d+-[0-9a-f]{8}$/);
    } finally {
      db.close();
    }
  });
});
