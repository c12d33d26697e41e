/** S3FileIO passes the FileIO conformance suite against a real s3rver on 127.0.0.1. */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { S3FileIO } from '../../src/io/s3.js';
import { fileIOConformance } from './conformance.js';
import { startS3rver, testS3FileIO, type S3rver } from './s3rver.js';

let server: S3rver;
let cacheDir: string;
const ios: S3FileIO[] = [];

before(async () => {
  server = await startS3rver(['floe', 'other']);
  cacheDir = await mkdtemp(join(tmpdir(), 'floe-s3-cache-test-'));
});

after(async () => {
  for (const io of ios) io.close();
  await server.close();
  await rm(cacheDir, { recursive: true, force: true });
});

function io(options: Parameters<typeof testS3FileIO>[1] = {}): S3FileIO {
  const made = testS3FileIO(server.endpoint, { cacheDir, ...options });
  ios.push(made);
  return made;
}

fileIOConformance('S3FileIO (s3rver, s3://)', () => ({ io: io(), root: `s3://floe/${randomUUID()}` }));

// s3a:// names the same objects; listings come back as s3a://. Small list pages exercise
// ListObjectsV2 continuation on every listing test.
fileIOConformance('S3FileIO (s3rver, s3a://, 2 keys per list page)', () => ({ io: io({ listPageSize: 2 }), root: `s3a://other/${randomUUID()}` }));

// From 1 MiB on every write is a multipart upload (the 3 MiB test file goes up in one part).
fileIOConformance('S3FileIO (s3rver, multipart from 1 MiB)', () => ({ io: io({ multipartThresholdBytes: 1024 * 1024 }), root: `s3://floe/${randomUUID()}` }));
