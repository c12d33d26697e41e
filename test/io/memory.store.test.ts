/** MemoryFileIO specifics: scheme checks, store isolation, the local cache. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { MemoryFileIO, memoryCacheDir } from '../../src/io/memory.js';

const enc = new TextEncoder();

describe('MemoryFileIO', () => {
  it('accepts only memory:// locations', async () => {
    const io = new MemoryFileIO();
    await assert.rejects(io.write('/tmp/x', enc.encode('x')), ValidationError);
    await assert.rejects(io.read('s3://b/x'), ValidationError);
    await assert.rejects(io.read('memory://'), ValidationError);
    await assert.rejects(async () => {
      for await (const _ of io.list('file:///tmp/')) void _;
    }, ValidationError);
  });

  it('keeps separate instances separate', async () => {
    const a = new MemoryFileIO();
    const b = new MemoryFileIO();
    await a.write('memory://b/k', enc.encode('in a'));
    assert.equal(await b.exists('memory://b/k'), false);
    await assert.rejects(b.read('memory://b/k'), NotFoundError);
    assert.equal(a.size, 1);
    assert.equal(b.size, 0);
  });

  it('materializes local copies under the cache dir, distinct per store and per write', async () => {
    const a = new MemoryFileIO();
    const b = new MemoryFileIO();
    await a.write('memory://b/t/data/f.parquet', enc.encode('from a'));
    await b.write('memory://b/t/data/f.parquet', enc.encode('from b'));
    const pa = await a.localPath('memory://b/t/data/f.parquet');
    const pb = await b.localPath('memory://b/t/data/f.parquet');
    assert.ok(pa.startsWith(memoryCacheDir()), pa);
    assert.notEqual(pa, pb);
    assert.equal(await readFile(pa, 'utf8'), 'from a');
    assert.equal(await readFile(pb, 'utf8'), 'from b');
    assert.equal(await a.localPath('memory://b/t/data/f.parquet'), pa, 'unchanged file reuses its copy');
    await a.write('memory://b/t/data/f.parquet', enc.encode('from a, v2'), { overwrite: true });
    const pa2 = await a.localPath('memory://b/t/data/f.parquet');
    assert.notEqual(pa2, pa);
    assert.equal(await readFile(pa2, 'utf8'), 'from a, v2');
  });
});
