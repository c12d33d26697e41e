/** RemapFileIO passes the FileIO conformance suite when the caller sees only unmapped locations. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileIO } from '../../src/io/memory.js';
import { RemapFileIO } from '../../src/io/remap.js';
import { fileIOConformance } from './conformance.js';

fileIOConformance('RemapFileIO (s3a:// → memory://)', () => {
  const real = `memory://real/${randomUUID()}`;
  const io = new RemapFileIO([{ from: 's3a://bucket/warehouse/', to: `${real}/` }], new MemoryFileIO());
  return { io, root: `s3a://bucket/warehouse/${randomUUID()}` };
});

fileIOConformance('RemapFileIO (relative fixture prefix → local dir, via fileIOFor)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-remap-io-'));
  const io = new RemapFileIO([{ from: 'data/iceberg/generated_spec2_0_001', to: dir }]);
  return { io, root: 'data/iceberg/generated_spec2_0_001/tbl', cleanup: () => rm(dir, { recursive: true, force: true }) };
});
