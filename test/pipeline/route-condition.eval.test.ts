/**
 * The `where` conditions of routed tables (`route-condition.ts`): the grammar (=, !=, <>, <, <=,
 * >, >=, [NOT] IN, IS [NOT] NULL, AND, OR, NOT, parentheses, dotted and quoted names, '' in
 * strings), SQL's three-valued logic on missing fields and mismatched types, and the messages
 * for bad conditions (naming the key and where the problem is).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesRoute, parseRouteCondition } from '../../src/pipeline/route-condition.js';

const match = (where: string, record: unknown) => matchesRoute(parseRouteCondition(where, 'tables[0].where'), record);

test('route conditions: comparisons, IN, IS NULL, AND/OR/NOT, precedence, nested and quoted names', () => {
  const r = { event_type: 'purchase', amount: 12.5, n: 3, ok: true, user: { id: 'u1', tier: null }, 'odd key': "it's" };
  const cases: [string, boolean][] = [
    ["event_type = 'purchase'", true],
    ["event_type != 'purchase'", false],
    ["event_type <> 'view'", true],
    ['amount > 12', true],
    ['amount >= 12.5 AND amount <= 12.5', true],
    ['n < 3', false],
    ['n = 3.0', true],
    ['n > -1e2', true],
    ["event_type IN ('view', 'purchase')", true],
    ["event_type NOT IN ('view', 'purchase')", false],
    ['n IN (1, 2, 3)', true],
    ["user.id = 'u1'", true],
    ['user.tier IS NULL', true],
    ['user.missing IS NULL', true],
    ['user.id IS NOT NULL', true],
    ["\"odd key\" = 'it''s'", true],
    ['ok = true', true],
    ['ok != false', true],
    ["NOT event_type = 'view'", true],
    ["event_type = 'view' OR n = 3 AND amount > 100", false], // AND binds tighter
    ["(event_type = 'view' OR n = 3) AND amount > 10", true],
    ["not (event_type = 'purchase' and n = 3)", false], // keywords in any case
  ];
  for (const [where, expected] of cases) assert.equal(match(where, r), expected, where);
});

test('route conditions: a missing field, null, or another type is unknown, and NOT unknown is unknown (no match)', () => {
  const r = { event_type: 'view', n: '3', user: 'not an object' };
  assert.equal(match("missing = 'x'", r), false);
  assert.equal(match("NOT missing = 'x'", r), false);
  assert.equal(match("missing != 'x'", r), false);
  assert.equal(match('n = 3', r), false, 'a string is not the number 3');
  assert.equal(match('NOT n = 3', r), false);
  assert.equal(match("user.id = 'u1'", r), false, 'a path through a string is missing');
  assert.equal(match("missing = 'x' OR event_type = 'view'", r), true, 'unknown OR true');
  assert.equal(match("missing = 'x' AND event_type = 'click'", r), false);
  assert.equal(match("NOT (missing = 'x' AND event_type = 'click')", r), true, 'unknown AND false is false');
  assert.equal(match("n NOT IN ('1', '2')", r), true);
  assert.equal(match('n NOT IN (1, 2)', r), false, 'NOT IN over mismatched types is unknown');
  assert.equal(match("event_type = 'view'", 'not an object'), false);
  assert.equal(match('ok < true', { ok: false }), false, 'booleans only with = and !=');
  assert.equal(match("k = 'v'", JSON.parse('{"__proto__": {"k": "v"}}')), false, 'only own keys');
});

test('route conditions: bad conditions are refused naming the key and the place', () => {
  const bad: [string, RegExp][] = [
    ['', /^config: tables\[0\]\.where: empty condition/],
    ["event_type = 'purchase", /^config: tables\[0\]\.where: unterminated string at character 23$/],
    ['event_type = NULL', /compare with NULL using IS NULL/],
    ["event_type == 'a'", /expected a string, a number, true or false \(at '='\)/],
    ['event_type', /expected a comparison/],
    ["event_type IN 'a'", /expected '\(' after IN/],
    ["event_type IN ('a'", /expected '\)' to close the IN list/],
    ['event_type IS 3', /expected NULL after IS/],
    ["(event_type = 'a'", /expected '\)'/],
    ["event_type = 'a' extra", /unexpected text after the condition/],
    ["event_type = 'a' AND", /expected a field name \(at the end\)/],
    ["and = 'a'", /expected a field name/],
    ['a ; b', /unexpected ';' at character 3/],
    [`${'('.repeat(100)}a = 1${')'.repeat(100)}`, /nested deeper than 64/],
    ['a = 1 AND '.repeat(500) + 'a = 1', /longer than 4096 characters/],
  ];
  for (const [where, pattern] of bad) {
    assert.throws(() => parseRouteCondition(where, 'tables[0].where'), (e: Error) => e.name === 'ValidationError' && pattern.test(e.message), where);
  }
});
