/** LocalFileIO specifics: temp files, link-based no-overwrite, URI styles, errors. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../src/errors.js';
import { LocalFileIO } from '../../src/io/local.js';

describe('LocalFileIO', () => {
  let dir = '';
  const io = new LocalFileIO();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'floe-local-fs-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no temporary file behind, on success or on refusal', async () => {
    const loc = join(dir, 'clean', 'v1.metadata.json');
    await io.write(loc, new TextEncoder().encode('{}'));
    await assert.rejects(io.write(loc, new TextEncoder().encode('{"x":1}')), AlreadyExistsError);
    await io.write(loc, new TextEncoder().encode('{"y":2}'), { overwrite: true });
    assert.deepEqual(await readdir(join(dir, 'clean')), ['v1.metadata.json']);
    assert.equal(await readFile(loc, 'utf8'), '{"y":2}');
  });

  it('refuses to replace a file created behind its back (link semantics)', async () => {
    const loc = join(dir, 'outside.json');
    await writeFile(loc, 'written by another process');
    await assert.rejects(io.write(loc, new Uint8Array([1])), AlreadyExistsError);
    assert.equal(await readFile(loc, 'utf8'), 'written by another process');
  });

  it('reads the same file through a plain path, file:///, file:/ and file://localhost/', async () => {
    const path = join(dir, 'styles.txt');
    await writeFile(path, 'same bytes');
    for (const loc of [path, `file://${path}`, `file:${path}`, `file://localhost${path}`]) {
      assert.equal(new TextDecoder().decode(await io.read(loc)), 'same bytes', loc);
    }
  });

  it('lists in the caller\'s location style', async () => {
    await mkdir(join(dir, 'style', 'sub'), { recursive: true });
    await writeFile(join(dir, 'style', 'sub', 'f.txt'), 'x');
    const plain: string[] = [];
    for await (const f of io.list(join(dir, 'style') + '/')) plain.push(f.location);
    assert.deepEqual(plain, [join(dir, 'style', 'sub', 'f.txt')]);
    const uri: string[] = [];
    for await (const f of io.list(`file:${dir}/style/`)) uri.push(f.location);
    assert.deepEqual(uri, [`file:${dir}/style/sub/f.txt`]);
    const rels: string[] = [];
    const rel = relative(process.cwd(), join(dir, 'style'));
    for await (const f of io.list(`${rel}/`)) rels.push(f.location);
    assert.deepEqual(rels, [`${rel}/sub/f.txt`]);
  });

  it('returns the path itself as localPath', async () => {
    const path = join(dir, 'lp.parquet');
    await writeFile(path, 'PAR1');
    assert.equal(await io.localPath(`file://${path}`), path);
    await assert.rejects(io.localPath(join(dir, 'none.parquet')), NotFoundError);
  });

  it('rejects remote file URIs and directories', async () => {
    await assert.rejects(io.read('file://otherhost/etc/hosts'), ValidationError);
    await assert.rejects(io.read(dir), (e: unknown) => e instanceof ValidationError && e.message.includes('directory'));
    await assert.rejects(io.stat(dir), ValidationError);
    assert.equal(await io.exists(dir), false);
  });

  it('treats a path below a regular file as missing', async () => {
    const file = join(dir, 'plainfile');
    await writeFile(file, 'x');
    assert.equal(await io.exists(join(file, 'child')), false);
    await io.delete(join(file, 'child'));
  });
});
