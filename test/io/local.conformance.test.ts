/** LocalFileIO passes the FileIO conformance suite, with plain paths and with file:// URIs. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalFileIO } from '../../src/io/local.js';
import { pathToFileUri } from '../../src/io/location.js';
import { fileIOConformance } from './conformance.js';

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'floe-local-io-'));
}

fileIOConformance('LocalFileIO (plain paths)', async () => {
  const dir = await tempRoot();
  return { io: new LocalFileIO(), root: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

fileIOConformance('LocalFileIO (file:// URIs)', async () => {
  const dir = await tempRoot();
  return { io: new LocalFileIO(), root: pathToFileUri(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

fileIOConformance('LocalFileIO (Hadoop-style file:/ URIs)', async () => {
  const dir = await tempRoot();
  return { io: new LocalFileIO(), root: `file:${dir}`, cleanup: () => rm(dir, { recursive: true, force: true }) };
});
