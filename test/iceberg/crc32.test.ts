/**
 * floe's CRC-32 (`iceberg/crc32.ts`, for Node 20 releases without `zlib.crc32`): the standard
 * check value, and zlib's own result on random inputs where this Node has it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { crc32 } from '../../src/iceberg/crc32.js';

test('CRC-32: the check value of "123456789" and the empty input', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('CRC-32: equal to zlib.crc32 on random inputs', { skip: typeof (zlib as { crc32?: unknown }).crc32 !== 'function' && 'this Node has no zlib.crc32' }, () => {
  const zcrc = (zlib as unknown as { crc32: (b: Uint8Array) => number }).crc32;
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0);
  for (let n = 0; n < 200; n++) {
    const bytes = new Uint8Array(next() % 3000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = next() >>> 24;
    assert.equal(crc32(bytes), zcrc(bytes) >>> 0, `input ${n} of ${bytes.length} bytes`);
  }
});
