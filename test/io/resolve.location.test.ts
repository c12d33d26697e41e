/** Location helpers and fileIOFor. */
import assert from 'node:assert/strict';
import { resolve as resolvePath } from 'node:path';
import { describe, it } from 'node:test';
import { UnsupportedError, ValidationError } from '../../src/errors.js';
import { LocalFileIO } from '../../src/io/local.js';
import { MemoryFileIO } from '../../src/io/memory.js';
import {
  fileIOFor,
  fileUriToPath,
  isLocalLocation,
  joinLocation,
  locationBaseName,
  locationScheme,
  normalizeLocation,
  parentLocation,
  pathToFileUri,
  registerFileIO,
  sharedMemoryFileIO,
  stripTrailingSlash,
} from '../../src/io/resolve.js';

describe('location helpers', () => {
  it('detects schemes', () => {
    assert.equal(locationScheme('/tmp/wh'), 'file');
    assert.equal(locationScheme('relative/dir'), 'file');
    assert.equal(locationScheme('file:///tmp/wh'), 'file');
    assert.equal(locationScheme('file:/tmp/wh'), 'file');
    assert.equal(locationScheme('memory://b/x'), 'memory');
    assert.equal(locationScheme('S3://Bucket/x'), 's3');
    assert.equal(locationScheme('s3a://bucket/x'), 's3a');
    assert.equal(isLocalLocation('/x'), true);
    assert.equal(isLocalLocation('gs://b/x'), false);
    assert.throws(() => locationScheme(''), ValidationError);
  });

  it('converts file URIs to paths without percent-decoding', () => {
    assert.equal(fileUriToPath('/tmp/a b'), '/tmp/a b');
    assert.equal(fileUriToPath('file:///tmp/wh/t'), '/tmp/wh/t');
    assert.equal(fileUriToPath('file:/tmp/wh/t'), '/tmp/wh/t');
    assert.equal(fileUriToPath('file://localhost/tmp/wh'), '/tmp/wh');
    assert.equal(fileUriToPath('file:///tmp/a%20b'), '/tmp/a%20b');
    assert.equal(fileUriToPath('rel/x'), resolvePath('rel/x'));
    assert.throws(() => fileUriToPath('file://host/tmp'), /remote host 'host'/);
    assert.throws(() => fileUriToPath('file:relative'), /absolute path/);
    assert.throws(() => fileUriToPath('s3://b/k'), /not a local location/);
    assert.equal(pathToFileUri('/tmp/wh'), 'file:///tmp/wh');
    assert.equal(fileUriToPath(pathToFileUri('/tmp/x/y.json')), '/tmp/x/y.json');
  });

  it('joins, trims and splits locations', () => {
    assert.equal(joinLocation('s3://b/wh/', 'db', 't'), 's3://b/wh/db/t');
    assert.equal(joinLocation('/wh', '/metadata/', 'v1.json'), '/wh/metadata/v1.json');
    assert.equal(joinLocation('/', 'x'), '/x');
    assert.equal(joinLocation('memory://b', '', 'x'), 'memory://b/x');
    assert.equal(stripTrailingSlash('s3://b/wh///'), 's3://b/wh');
    assert.equal(stripTrailingSlash('/'), '/');
    assert.equal(stripTrailingSlash('file:///'), 'file:///');
    assert.equal(locationBaseName('s3://b/t/metadata/v1.metadata.json'), 'v1.metadata.json');
    assert.equal(parentLocation('s3://b/t/metadata/v1.metadata.json'), 's3://b/t/metadata');
    assert.equal(parentLocation('/a'), '/');
    assert.throws(() => parentLocation('nofolder'), ValidationError);
    assert.equal(normalizeLocation('wh/'), resolvePath('wh'));
    assert.equal(normalizeLocation('s3://b/wh/'), 's3://b/wh');
  });
});

describe('fileIOFor', () => {
  it('picks the FileIO by scheme', () => {
    assert.ok(fileIOFor('/tmp/x') instanceof LocalFileIO);
    assert.ok(fileIOFor('file:///tmp/x') instanceof LocalFileIO);
    assert.ok(fileIOFor('memory://b/x') instanceof MemoryFileIO);
    assert.equal(fileIOFor('memory://b/x'), sharedMemoryFileIO());
    assert.equal(fileIOFor('memory://other/y'), fileIOFor('memory://b/x'), 'one process-wide memory store');
  });

  it('refuses unknown schemes until a factory is registered', () => {
    assert.throws(() => fileIOFor('floetest://b/k'), (e: unknown) => {
      assert.ok(e instanceof UnsupportedError);
      assert.match(e.message, /^io: no FileIO for scheme 'floetest'/);
      return true;
    });
    const io = new MemoryFileIO();
    registerFileIO('FloeTest', () => io);
    assert.equal(fileIOFor('floetest://b/k'), io);
  });
});
