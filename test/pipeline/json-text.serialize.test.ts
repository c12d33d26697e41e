/**
 * json-text.ts: the iterative serializer writes JSON.stringify's text (generated values, and
 * depths JSON.stringify cannot reach), stops at its limit with a prefix; findNumber finds the
 * number JSON.parse kept, by its place.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findNumber, mayBeInexact, mayOverflow, sameDecimal, serializeJson } from '../../src/pipeline/json-text.js';
import { rng } from '../helpers/rng.js';

/** A random JSON value as JSON.parse makes it (keys with escapes, numbers of every kind). */
function randomValue(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 4 || r < 0.5) {
    const scalars: unknown[] = [null, true, false, 0, -0, 1.5, -2e-7, 1e21, 123456789, 0.1, '', 'a"b\\c', 'é✓𝄞', '\ud800', '\u0000\u001f', '</script>'];
    return scalars[Math.floor(random() * scalars.length)];
  }
  if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  const o: Record<string, unknown> = {};
  for (let k = 0; k < Math.floor(random() * 4); k++) o[['a', '1', '__proto__', 'k"\\', '', '10'][Math.floor(random() * 6)]!] = randomValue(random, depth + 1);
  return JSON.parse(JSON.stringify(o)); // as JSON.parse makes it (`__proto__` an own key)
}

describe('serializeJson', () => {
  test('JSON.stringify\'s text for generated values', () => {
    const random = rng(12);
    for (let n = 0; n < 5_000; n++) {
      const v = randomValue(random, 0);
      const r = serializeJson(v);
      assert.equal(r.text, JSON.stringify(v));
      assert.equal(r.truncated, false);
      const cut = serializeJson(v, 10);
      assert.ok(JSON.stringify(v).startsWith(cut.text) && cut.text.length <= 10, `${cut.text} is a prefix`);
      assert.equal(cut.truncated, JSON.stringify(v).length > 10);
    }
  });
  test('1,000,000 levels, where JSON.stringify overflows the stack', () => {
    const n = 1_000_000;
    const text = '['.repeat(n) + ']'.repeat(n);
    const v = JSON.parse(text) as unknown;
    assert.throws(() => JSON.stringify(v), RangeError);
    assert.equal(serializeJson(v).text, text);
    assert.deepEqual(serializeJson(v, 5), { text: '[[[[[', truncated: true, nonFinite: false });
  });
  test('Infinity (a JSON number beyond a double) is reported, written null as JSON.stringify does', () => {
    assert.deepEqual(serializeJson(JSON.parse('{"a":[1e400]}')), { text: '{"a":[null]}', truncated: false, nonFinite: true });
  });
});

describe('findNumber', () => {
  const text = '{"a":1,"b":{"c":[10,20.50,{"d":-3e2}]},"a":2.0,"k\\"q":7,"m":{"x":1e400}}';
  test('the last number at a place (the one JSON.parse keeps); array indexes and map keys from slots', () => {
    assert.equal(findNumber(text, ['a'], [], 'last'), '2.0');
    assert.equal(findNumber(text, ['b', 'c', { slot: 0 }], [1], 'last'), '20.50');
    assert.equal(findNumber(text, ['b', 'c', { slot: 0 }, 'd'], [2], 'last'), '-3e2');
    assert.equal(findNumber(text, ['k"q'], [], 'last'), '7');
    assert.equal(findNumber(text, ['m', { slot: 0 }], ['x'], 'last'), '1e400');
    assert.equal(findNumber(text, ['b'], [], 'last'), undefined);
    assert.equal(findNumber(text, ['m'], [], 'overflow'), '1e400');
    assert.equal(findNumber(text, ['b'], [], 'overflow'), undefined);
  });
  test('strings that look like numbers or brackets are not numbers', () => {
    assert.equal(findNumber('{"a":"[1,2]","b":"{\\"a\\":5}","a":3}', ['a'], [], 'last'), '3');
  });
});

describe('the checks', () => {
  test('mayBeInexact: 16 digits in a row or a three-digit exponent', () => {
    for (const t of ['{"a":1234567890123456}', '{"a":0.1000000000000001}', '{"a":1e400}', '{"a":1E-300}']) assert.ok(mayBeInexact(t), t);
    for (const t of ['{"a":123456789012345}', '{"a":0.25,"b":1e22}', '{"a":"x"}']) assert.ok(!mayBeInexact(t), t);
  });
  test('mayOverflow: a positive three-digit exponent or 309 digits', () => {
    for (const t of ['{"a":1e400}', '{"a":1E+308}', `{"a":${'9'.repeat(309)}}`]) assert.ok(mayOverflow(t), t);
    for (const t of ['{"a":1e-400}', '{"a":1e99}', `{"a":${'9'.repeat(308)}}`]) assert.ok(!mayOverflow(t), t);
  });
  test('sameDecimal compares values by their digits', () => {
    assert.ok(sameDecimal('1.50', '15e-1'));
    assert.ok(sameDecimal('100', '1E2'));
    assert.ok(sameDecimal('-0', '0.000'));
    assert.ok(!sameDecimal('0.10000000000000000001', '0.1'));
    assert.ok(!sameDecimal('12345678901234567890', '12345678901234567000'));
  });
});
