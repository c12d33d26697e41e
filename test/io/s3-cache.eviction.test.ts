/**
 * The S3 read cache stays within its bound: least recently used copies go first, recently used
 * ones and the file just downloaded stay, and a hit counts as a use. Then the same through
 * `S3FileIO.localPath` on a real s3rver.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cachedLocalPath, cacheFileName, evict } from '../../src/io/s3-cache.js';
import { startS3rver, testS3FileIO, type S3rver } from './s3rver.js';

const KB = 1024;

async function fileOf(dir: string, name: string, bytes: number, usedSecondsAgo: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Buffer.alloc(bytes, 1));
  const t = new Date(Date.now() - usedSecondsAgo * 1000);
  await utimes(path, t, t);
  return path;
}

describe('s3-cache: eviction', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-cache-evict-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('over the bound, the least recently used files go until it fits; recent ones stay', async () => {
    await fileOf(dir, 'a-oldest', 40 * KB, 3600);
    await fileOf(dir, 'b-old', 40 * KB, 1800);
    await fileOf(dir, 'c-older-than-a-minute', 40 * KB, 120);
    await fileOf(dir, 'd-recent', 40 * KB, 5);
    await fileOf(dir, 'e-download.123.tmp', 40 * KB, 7200);
    // 200 KB held, bound 120 KB: a and b go (then 120 KB); c stays, d is recent, the .tmp is a running download.
    await evict(dir, 120 * KB);
    assert.deepStrictEqual((await readdir(dir)).sort(), ['c-older-than-a-minute', 'd-recent', 'e-download.123.tmp']);
    // Nothing old enough left to go: recent files are kept even over the bound.
    await evict(dir, 10 * KB);
    assert.deepStrictEqual((await readdir(dir)).sort(), ['d-recent', 'e-download.123.tmp']);
  });

  test('a download over the bound evicts older copies, never itself; a hit refreshes a copy', async () => {
    const d = await mkdtemp(join(tmpdir(), 'floe-cache-evict2-'));
    try {
      await fileOf(d, 'old-copy', 64 * KB, 600);
      // A copy last used ten minutes ago is hit now: returned without a download, marked used.
      const version = { size: 64 * KB, etag: '"x"' };
      const hitName = cacheFileName('s3://b/hit', version);
      await fileOf(d, hitName, 64 * KB, 600);
      const hit = await cachedLocalPath(d, 's3://b/hit', version, async () => assert.fail('a hit downloads nothing'), 1024 * KB);
      assert.equal(hit, join(d, hitName));
      // A download of 100 KB with a 120 KB bound (228 KB held): the copy not used since goes.
      const got = await cachedLocalPath(d, 's3://b/new', { size: 100 * KB, etag: '"n"' }, (p) => writeFile(p, Buffer.alloc(100 * KB, 2)), 120 * KB);
      assert.deepStrictEqual((await readdir(d)).sort(), [hitName, got.slice(d.length + 1)].sort());
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});

describe('s3-cache: S3FileIO.localPath keeps its cache within cacheMaxBytes', () => {
  let server: S3rver;
  let cacheDir: string;
  before(async () => {
    server = await startS3rver(['floe']);
    cacheDir = await mkdtemp(join(tmpdir(), 'floe-cache-s3-'));
  });
  after(async () => {
    await server.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  test('reading more than the bound leaves at most the bound (plus recently used copies)', async () => {
    const io = testS3FileIO(server.endpoint, { cacheDir, cacheMaxBytes: 150 * KB });
    try {
      const paths: string[] = [];
      for (let i = 0; i < 5; i++) {
        const loc = `s3://floe/cache/f${i}.bin`;
        await io.write(loc, new Uint8Array(64 * KB).fill(i));
        paths.push(await io.localPath(loc));
        // Age the copies so only the newest counts as recently used.
        const t = new Date(Date.now() - (10 - i) * 60_000);
        await utimes(paths[i]!, t, t);
      }
      const left = await readdir(cacheDir);
      const held = left.length * 64 * KB;
      assert.ok(held <= 150 * KB + 64 * KB, `cache holds ${left.length} copies`);
      assert.ok(left.length < 5, 'older copies were evicted');
      // An evicted copy is downloaded again on the next read, with the right bytes.
      const again = await io.localPath('s3://floe/cache/f0.bin');
      assert.equal((await readFile(again))[0], 0);
    } finally {
      await io.close();
    }
  });
});
