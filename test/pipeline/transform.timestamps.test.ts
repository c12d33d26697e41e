/**
 * parseTimestampMicros: the allocation-free path for `YYYY-MM-DDTHH:MM:SS[.f]Z` must give exactly
 * what the general ISO-8601 parser gives, valid and invalid alike. Checked against an independent
 * oracle (Date.UTC plus the fraction) over many random times, and on the edges.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseTimestampMicros } from '../../src/iceberg/timestamp-text.js';
import { compileTransform, RecordError, schemaForTransform } from '../../src/pipeline/transform.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function oracle(y: number, mo: number, d: number, h: number, mi: number, s: number, frac: string): bigint | undefined {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, 0);
  if (date.getUTCDate() !== d || date.getUTCMonth() !== mo - 1 || h > 23 || mi > 59 || s > 59) return undefined;
  return BigInt(date.getTime()) * 1000n + BigInt((frac + '000000').slice(0, 6));
}

/** A small deterministic PRNG, so a failure names a reproducible input. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('parseTimestampMicros: the common shape', () => {
  it('agrees with the oracle on random times (all years, invalid days included)', () => {
    const r = rng(42);
    for (let k = 0; k < 20_000; k++) {
      const y = Math.floor(r() * 10_000);
      const mo = 1 + Math.floor(r() * 12);
      const d = 1 + Math.floor(r() * 31);
      const h = Math.floor(r() * 24);
      const mi = Math.floor(r() * 60);
      const s = Math.floor(r() * 60);
      const digits = Math.floor(r() * 10);
      const frac = digits === 0 ? '' : String(Math.floor(r() * 10 ** digits)).padStart(digits, '0');
      const sep = r() < 0.9 ? 'T' : ' ';
      const z = r() < 0.9 ? 'Z' : 'z';
      const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}${sep}${pad(h)}:${pad(mi)}:${pad(s)}${frac ? '.' + frac : ''}${z}`;
      assert.equal(parseTimestampMicros(text), oracle(y, mo, d, h, mi, s, frac), text);
    }
  });

  it('edges: leap days, the ends of the range, fractions', () => {
    assert.equal(parseTimestampMicros('2026-01-08T15:16:52Z'), 1_767_885_412_000_000n);
    assert.equal(parseTimestampMicros('1970-01-01T00:00:00Z'), 0n);
    assert.equal(parseTimestampMicros('1969-12-31T23:59:59.999999Z'), -1n);
    assert.equal(parseTimestampMicros('1969-12-31T23:59:59.9999999Z'), -1n); // truncated, not rounded
    assert.equal(parseTimestampMicros('2026-01-08T15:16:52,5Z'), 1_767_885_412_500_000n);
    assert.equal(parseTimestampMicros('2024-02-29T00:00:00Z'), oracle(2024, 2, 29, 0, 0, 0, ''));
    assert.equal(parseTimestampMicros('2000-02-29T00:00:00Z'), oracle(2000, 2, 29, 0, 0, 0, ''));
    assert.equal(parseTimestampMicros('1900-02-29T00:00:00Z'), undefined);
    assert.equal(parseTimestampMicros('2023-02-29T00:00:00Z'), undefined);
    assert.equal(parseTimestampMicros('2026-04-31T00:00:00Z'), undefined);
    assert.equal(parseTimestampMicros('0000-01-01T00:00:00Z'), -62_167_219_200_000_000n);
    assert.equal(parseTimestampMicros('0099-12-31T23:59:59Z'), oracle(99, 12, 31, 23, 59, 59, ''));
    assert.equal(parseTimestampMicros('9999-12-31T23:59:59.999999Z'), 253_402_300_799_999_999n);
  });

  it('refuses impossible times and malformed text of the same length', () => {
    for (const bad of [
      '2026-01-08T24:00:00Z',
      '2026-01-08T23:60:00Z',
      '2026-01-08T23:59:60Z',
      '2026-13-08T00:00:00Z',
      '2026-00-08T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-32T00:00:00Z',
      '2026-01-08T15:16:5xZ',
      '2026/01/08T15:16:52Z',
      '2026-01-08X15:16:52Z',
      '2026-01-08T15:16:52.Z',
      '2026-01-08T15:16:52.1234567890Z',
      '2026-01-08T15:16:52.12a4Z',
      '2026-01-08T15:16:52ZZ',
      '+026-01-08T15:16:52Z',
    ]) {
      assert.equal(parseTimestampMicros(bad), undefined, bad);
    }
  });

  it('other shapes still go through the general parser', () => {
    assert.equal(parseTimestampMicros(' 2026-01-08T15:16:52Z '), 1_767_885_412_000_000n);
    assert.equal(parseTimestampMicros('2026-01-08T17:16:52+02:00'), 1_767_885_412_000_000n);
    assert.equal(parseTimestampMicros('2026-01-08T15:16:52'), 1_767_885_412_000_000n);
    assert.equal(parseTimestampMicros('2026-01-08'), 1_767_830_400_000_000n);
    assert.equal(parseTimestampMicros('12026-01-08T15:16:52Z'), oracle(12026, 1, 8, 15, 16, 52, ''));
  });
});

describe('timestamps and the 64-bit column', () => {
  it('every text the parser reads fits 64-bit microseconds (Date ends at ±275760 years)', () => {
    const spec = { columns: [{ name: 'ts', type: 'timestamptz' }] };
    const t = compileTransform(spec, schemaForTransform(spec));
    const ctx = { record: { partitionId: 'p', position: '1', data: new Uint8Array(), partitionKey: 'k', arrivalTimeMs: 0, meta: {} }, streamName: 's', processingTimeUs: 0n };
    for (const text of ['275760-09-13T00:00:00-23:59', '-271821-04-20T00:00:00+23:59']) {
      const us = parseTimestampMicros(text);
      assert.ok(us !== undefined && us < 2n ** 63n && us >= -(2n ** 63n), text);
      assert.deepStrictEqual(t.apply({ ts: text }, ctx), [us]);
    }
    assert.equal(parseTimestampMicros('275760-09-14T00:00:00Z'), undefined);
    assert.throws(() => t.apply({ ts: '275760-09-14T00:00:00Z' }, ctx), RecordError);
  });
});
