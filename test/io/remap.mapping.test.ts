/** RemapFileIO and path-mapping rules. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { MemoryFileIO } from '../../src/io/memory.js';
import { parsePathMapping, remapLocation, RemapFileIO } from '../../src/io/remap.js';

describe('path mappings', () => {
  it('parses FROM=TO at the first =', () => {
    assert.deepEqual(parsePathMapping('s3://b/wh=/data/wh'), { from: 's3://b/wh', to: '/data/wh' });
    assert.deepEqual(parsePathMapping('s3://b/t=/x/date=2024'), { from: 's3://b/t', to: '/x/date=2024' });
    for (const bad of ['nothing', '=to', 'from=', '']) assert.throws(() => parsePathMapping(bad), ValidationError, bad);
  });

  it('lets the longest FROM win, whatever the order given', () => {
    const maps = [
      { from: 's3://b', to: '/all' },
      { from: 's3://b/wh/special', to: '/special' },
      { from: 's3://b/wh', to: '/wh' },
    ];
    assert.equal(remapLocation('s3://b/wh/special/f.parquet', maps), '/special/f.parquet');
    assert.equal(remapLocation('s3://b/wh/t/f.parquet', maps), '/wh/t/f.parquet');
    assert.equal(remapLocation('s3://b/other/f', maps), '/all/other/f');
    assert.equal(remapLocation('s3://c/x', maps), 's3://c/x');
  });

  it('matches whole path segments only', () => {
    const maps = [{ from: 's3://b/wh', to: '/wh' }];
    assert.equal(remapLocation('s3://b/wh2/x', maps), 's3://b/wh2/x');
    assert.equal(remapLocation('s3://b/wh', maps), '/wh');
    assert.equal(remapLocation('s3://b/wh/', maps), '/wh/');
  });

  it('ignores trailing slashes on either side', () => {
    assert.equal(remapLocation('s3a://b/t/data/f', [{ from: 's3a://b/t/', to: '/local/t/' }]), '/local/t/data/f');
    assert.equal(remapLocation('data/iceberg/gen/t/x', [{ from: 'data/iceberg/gen/', to: 'memory://m' }]), 'memory://m/t/x');
    assert.equal(remapLocation('s3://b/x/y', [{ from: 's3://b', to: '/' }]), '/x/y');
  });
});

describe('RemapFileIO', () => {
  it('reads and writes through the mapping and lists in the original form', async () => {
    const mem = new MemoryFileIO();
    const io = new RemapFileIO([{ from: 's3a://bucket/t', to: 'memory://copy/t' }], mem);
    await mem.write('memory://copy/t/metadata/v1.metadata.json', new TextEncoder().encode('{}'));
    assert.equal(new TextDecoder().decode(await io.read('s3a://bucket/t/metadata/v1.metadata.json')), '{}');
    await io.write('s3a://bucket/t/data/f.parquet', new Uint8Array([1, 2]));
    assert.equal(await mem.exists('memory://copy/t/data/f.parquet'), true);
    const listed: string[] = [];
    for await (const f of io.list('s3a://bucket/t/')) listed.push(f.location);
    assert.deepEqual(listed.sort(), ['s3a://bucket/t/data/f.parquet', 's3a://bucket/t/metadata/v1.metadata.json']);
    assert.equal((await io.stat('s3a://bucket/t/data/f.parquet')).location, 's3a://bucket/t/data/f.parquet');
  });

  it('names both locations when a mapped file is missing', async () => {
    const io = new RemapFileIO([{ from: 's3://b', to: 'memory://m' }], new MemoryFileIO());
    await assert.rejects(io.read('s3://b/x.json'), (e: unknown) => {
      assert.ok(e instanceof NotFoundError);
      assert.equal(e.message, 'io: s3://b/x.json (mapped to memory://m/x.json): not found');
      return true;
    });
  });

  it('passes unmapped locations through unchanged', async () => {
    const mem = new MemoryFileIO();
    const io = new RemapFileIO([{ from: 's3://b', to: 'memory://m' }], mem);
    await io.write('memory://direct/x', new Uint8Array([7]));
    assert.deepEqual(await mem.read('memory://direct/x'), new Uint8Array([7]));
  });
});
