/**
 * FileIO conformance suite: the behaviour every FileIO (local, memory, remapped, later S3) must
 * share. An implementation's test file calls `fileIOConformance(name, makeIO)`; each test gets a
 * fresh, empty root location from `makeIO`, so tests never see each other's files.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../../src/errors.js';
import type { FileIO } from '../../src/io/file-io.js';

/** What `makeIO` returns: the FileIO, an empty root location under it, and optional cleanup. */
export interface FileIOUnderTest {
  io: FileIO;
  /** An empty "directory" location without a trailing slash, e.g. `/tmp/x`, `memory://b/p`. */
  root: string;
  cleanup?: () => Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(text: string): Uint8Array {
  return enc.encode(text);
}

async function collect(it: AsyncIterable<{ location: string; size: number }>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const f of it) out.set(f.location, f.size);
  return out;
}

/**
 * Registers the FileIO conformance tests.
 * @param name suite name, e.g. `LocalFileIO (plain paths)`
 * @param makeIO called once per test
 */
export function fileIOConformance(name: string, makeIO: () => FileIOUnderTest | Promise<FileIOUnderTest>): void {
  describe(`FileIO conformance: ${name}`, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups) await c();
    });
    const setup = async (): Promise<FileIOUnderTest> => {
      const t = await makeIO();
      if (t.cleanup) cleanups.push(t.cleanup);
      return t;
    };

    it('writes and reads back every byte value', async () => {
      const { io, root } = await setup();
      const data = new Uint8Array(512);
      for (let i = 0; i < data.length; i++) data[i] = i % 256;
      const loc = `${root}/bin/all-bytes.bin`;
      await io.write(loc, data);
      assert.deepEqual(await io.read(loc), data);
      assert.equal(await io.exists(loc), true);
      const st = await io.stat(loc);
      assert.equal(st.location, loc);
      assert.equal(st.size, 512);
      assert.ok(Math.abs(st.lastModified - Date.now()) < 60_000, `lastModified ${st.lastModified} is not recent`);
    });

    it('round-trips an empty file', async () => {
      const { io, root } = await setup();
      const loc = `${root}/empty`;
      await io.write(loc, new Uint8Array(0));
      assert.equal((await io.read(loc)).length, 0);
      assert.equal((await io.stat(loc)).size, 0);
      assert.equal(await io.exists(loc), true);
    });

    it('round-trips a multi-megabyte file', async () => {
      const { io, root } = await setup();
      const data = new Uint8Array(3 * 1024 * 1024 + 17);
      for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff;
      const loc = `${root}/big.bin`;
      await io.write(loc, data);
      const back = await io.read(loc);
      assert.equal(back.length, data.length);
      assert.ok(Buffer.from(back).equals(Buffer.from(data)), 'content differs');
      const mid = await io.readRange(loc, 1024 * 1024 - 3, 70_000);
      assert.ok(Buffer.from(mid).equals(Buffer.from(data.subarray(1024 * 1024 - 3, 1024 * 1024 - 3 + 70_000))));
    });

    it('keeps stored bytes independent of the caller buffers', async () => {
      const { io, root } = await setup();
      const data = bytes('original');
      const loc = `${root}/independent`;
      await io.write(loc, data);
      data[0] = 0x58;
      const first = await io.read(loc);
      assert.equal(dec.decode(first), 'original');
      first[0] = 0x59;
      assert.equal(dec.decode(await io.read(loc)), 'original');
    });

    it('reports a missing file as NotFoundError naming the location', async () => {
      const { io, root } = await setup();
      const loc = `${root}/nope/missing.json`;
      await assert.rejects(io.read(loc), (e: unknown) => {
        assert.ok(e instanceof NotFoundError, `expected NotFoundError, got ${String(e)}`);
        // Wrappers may add detail after the location (`… (mapped to …)`), never before it.
        assert.ok(e.message.startsWith(`io: ${loc}`) && e.message.endsWith(': not found'), e.message);
        return true;
      });
      await assert.rejects(io.stat(loc), NotFoundError);
      await assert.rejects(io.readRange(loc, 0, 1), NotFoundError);
      assert.equal(await io.exists(loc), false);
    });

    it('never overwrites an existing file unless asked to', async () => {
      const { io, root } = await setup();
      const loc = `${root}/metadata/00000-a.metadata.json`;
      await io.write(loc, bytes('first'));
      await assert.rejects(io.write(loc, bytes('second')), (e: unknown) => {
        assert.ok(e instanceof AlreadyExistsError, `expected AlreadyExistsError, got ${String(e)}`);
        assert.ok(e.message.includes(loc), e.message);
        return true;
      });
      assert.equal(dec.decode(await io.read(loc)), 'first');
      await io.write(loc, bytes('third, longer'), { overwrite: true });
      assert.equal(dec.decode(await io.read(loc)), 'third, longer');
      await io.write(loc, bytes('4'), { overwrite: true });
      assert.equal(dec.decode(await io.read(loc)), '4');
    });

    it('lets exactly one of several racing writers create a file', async () => {
      const { io, root } = await setup();
      const loc = `${root}/race/v1.metadata.json`;
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => io.write(loc, bytes(`writer-${i}`))),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `winners: ${won.join(',')}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof AlreadyExistsError, String(r.reason));
      }
      assert.equal(dec.decode(await io.read(loc)), `writer-${won[0]}`);
    });

    it('creates missing parent "directories" on write', async () => {
      const { io, root } = await setup();
      const loc = `${root}/a/b/c/d/file.txt`;
      await io.write(loc, bytes('deep'));
      assert.equal(dec.decode(await io.read(loc)), 'deep');
    });

    it('reads ranges, truncating at the end of the file', async () => {
      const { io, root } = await setup();
      const loc = `${root}/range.txt`;
      await io.write(loc, bytes('0123456789'));
      assert.equal(dec.decode(await io.readRange(loc, 0, 4)), '0123');
      assert.equal(dec.decode(await io.readRange(loc, 3, 4)), '3456');
      assert.equal(dec.decode(await io.readRange(loc, 6, 100)), '6789');
      assert.equal((await io.readRange(loc, 10, 5)).length, 0);
      assert.equal((await io.readRange(loc, 4, 0)).length, 0);
      await assert.rejects(io.readRange(loc, -1, 2), ValidationError);
      await assert.rejects(io.readRange(loc, 0, -2), ValidationError);
      await assert.rejects(io.readRange(loc, 0.5, 2), ValidationError);
    });

    it('deletes files, and deleting a missing file is not an error', async () => {
      const { io, root } = await setup();
      const loc = `${root}/del/x.bin`;
      await io.write(loc, bytes('x'));
      await io.delete(loc);
      assert.equal(await io.exists(loc), false);
      await assert.rejects(io.read(loc), NotFoundError);
      await io.delete(loc);
      await io.delete(`${root}/never/existed.bin`);
      await io.write(loc, bytes('again'));
      assert.equal(dec.decode(await io.read(loc)), 'again');
    });

    it('lists recursively by string prefix', async () => {
      const { io, root } = await setup();
      const files: Record<string, string> = {
        't/metadata/00000-a.metadata.json': 'm0',
        't/metadata/00001-b.metadata.json': 'm01',
        't/metadata/snap-1.avro': 'snap',
        't/data/p=1/f1.parquet': 'data-1',
        't/data/p=2/deeper/f2.parquet': 'data-22',
        't2/data/other.parquet': 'other!',
      };
      for (const [k, v] of Object.entries(files)) await io.write(`${root}/${k}`, bytes(v));

      const all = await collect(io.list(`${root}/t/`));
      assert.deepEqual(
        [...all.keys()].sort(),
        Object.keys(files).filter((k) => k.startsWith('t/')).map((k) => `${root}/${k}`).sort(),
      );
      for (const [loc, size] of all) assert.equal(size, files[loc.slice(root.length + 1)]!.length, loc);

      const versions = await collect(io.list(`${root}/t/metadata/0000`));
      assert.deepEqual([...versions.keys()].sort(), [
        `${root}/t/metadata/00000-a.metadata.json`,
        `${root}/t/metadata/00001-b.metadata.json`,
      ]);

      // A prefix without a trailing slash is a string prefix: `t` also matches `t2/…`.
      assert.equal((await collect(io.list(`${root}/t`))).size, 6);
      assert.equal((await collect(io.list(`${root}/nothing-here/`))).size, 0);

      await io.delete(`${root}/t/data/p=1/f1.parquet`);
      const after = await collect(io.list(`${root}/t/data/`));
      assert.deepEqual([...after.keys()], [`${root}/t/data/p=2/deeper/f2.parquet`]);
    });

    it('tolerates deleting files while listing them', async () => {
      const { io, root } = await setup();
      for (let i = 0; i < 5; i++) await io.write(`${root}/purge/f${i}`, bytes(`${i}`));
      let n = 0;
      for await (const f of io.list(`${root}/purge/`)) {
        await io.delete(f.location);
        n++;
      }
      assert.equal(n, 5);
      assert.equal((await collect(io.list(`${root}/purge/`))).size, 0);
    });

    it('gives a local path holding the current bytes', async () => {
      const { io, root } = await setup();
      const loc = `${root}/local/data.parquet`;
      await io.write(loc, bytes('PAR1 version one'));
      const p1 = await io.localPath(loc);
      assert.ok(p1.endsWith('.parquet'), `local path should keep the extension: ${p1}`);
      assert.equal(await readFile(p1, 'utf8'), 'PAR1 version one');
      await io.write(loc, bytes('PAR1 version two!'), { overwrite: true });
      const p2 = await io.localPath(loc);
      assert.equal(await readFile(p2, 'utf8'), 'PAR1 version two!');
      await assert.rejects(io.localPath(`${root}/local/missing.parquet`), NotFoundError);
    });
  });
}
