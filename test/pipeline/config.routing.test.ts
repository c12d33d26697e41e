/**
 * The `tables:` section (`config-routing.ts`): each entry validated as a single-table config
 * (its errors named `tables[i].…`), `where` parsed, templates needing `name_pattern`, what routing
 * does not support refused, and the single-table config unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../src/pipeline/config.js';
import { routeRecord } from '../../src/pipeline/route-hub.js';

const COLUMNS = { columns: { id: { type: 'string', required: true } } };
const base = (tables: unknown, extra: Record<string, unknown> = {}) => ({ source: { stream: 's' }, tables, ...extra });

test('config: tables: entries, where, templates; the first entry is the config\'s table; single-table configs have no routing', () => {
  const c = validateConfig(
    base([
      { table: { name: 'db.purchases', partition_by: 'bucket(4, id)' }, where: "event_type = 'purchase'", transform: COLUMNS },
      { table: { name: 'db.events_{event_type}', name_pattern: 'db\\.events_[a-z]{1,20}', max_tables: 5 }, transform: COLUMNS },
    ]),
  );
  assert.equal(c.table.name, 'db.purchases');
  assert.equal(c.routing!.unroutedTable, 'db.unrouted');
  const [p, t] = c.routing!.routes;
  assert.equal(p!.config.table.partitionBy, 'bucket(4, id)');
  assert.equal(p!.config.deadLetter.table, 'db.purchases_dead_letters');
  assert.equal(p!.whereText, "event_type = 'purchase'");
  assert.deepEqual(t!.template!.parts, ['events_', ['event_type']]);
  assert.equal(t!.template!.maxTables, 5);
  const decide = (r: unknown) => routeRecord(c.routing!.routes, r, true);
  assert.deepEqual(decide({ event_type: 'purchase' }), {
    tables: [
      { name: 'db.purchases', route: p },
      { name: 'db.events_purchase', route: t },
    ],
  });
  assert.deepEqual(decide({ event_type: 'Bad-Name' }), { reason: "routing: no table takes the record: table name 'db.events_Bad-Name' from template 'db.events_{event_type}' does not match table.name_pattern" });
  assert.deepEqual(decide({ event_type: 'x_dead_letters' }), {
    reason: "routing: no table takes the record: table name 'db.events_x_dead_letters' from template 'db.events_{event_type}' ends in _dead_letters, kept for dead-letter tables",
  });
  assert.deepEqual(decide({ event_type: { a: 1 } }), { reason: "routing: no table takes the record: field 'event_type' of table template 'db.events_{event_type}' is not a string or an integer" });
  assert.deepEqual(routeRecord(c.routing!.routes, undefined, false), {
    reason: "routing: no table takes the record: the record is not JSON; table template 'db.events_{event_type}' needs a JSON record",
  });
  assert.equal(validateConfig({ source: { stream: 's' }, table: { name: 'db.t' }, transform: COLUMNS }).routing, undefined);
});

test('config: tables: what is refused, naming the key', () => {
  const ok = { table: { name: 'db.a' }, transform: COLUMNS };
  const bad: [unknown, RegExp][] = [
    [{ ...base([ok]), table: { name: 'db.x' } }, /^config: table: not used with tables:/],
    [base([]), /^config: tables: must be a non-empty list/],
    [base([{ ...ok, route: 'x' }]), /^config: tables\[0\]\.route: unknown key \(allowed: table, transform, where\)$/],
    [base([ok, { table: { name: 'db.b' }, transform: { columns: { id: 'strin' } } }]), /^config: tables\[1\]\.transform\.columns/],
    [base([{ ...ok, where: "a = 'x" }]), /^config: tables\[0\]\.where: unterminated string/],
    [base([{ ...ok, where: 3 }]), /^config: tables\[0\]\.where: must be a condition as text/],
    [base([{ table: { name: 'db.e_{t}' }, transform: COLUMNS }]), /^config: tables\[0\]\.table\.name_pattern: required with a table-name template/],
    [base([{ table: { name: 'db_{t}.e', name_pattern: '.*' }, transform: COLUMNS }]), /placeholders are only allowed in the table's name/],
    [base([{ table: { name: 'db.e_{t}', name_pattern: '(' }, transform: COLUMNS }]), /name_pattern: not a regular expression/],
    [base([{ table: { name: 'db.e_{t}', name_pattern: '.*', max_tables: 0 }, transform: COLUMNS }]), /max_tables: must be an integer from 1 to 10000/],
    [base([{ table: { name: 'db.a', name_pattern: '.*' }, transform: COLUMNS }]), /^config: tables\[0\]\.table\.name_pattern: only used with a table-name template/],
    [base([ok, ok]), /^config: tables\[1\]\.table\.name: 'db\.a' is also tables\[0\]/],
    [base([ok, { table: { name: 'db.a_dead_letters' }, transform: COLUMNS }]), /is the dead-letter table of another entry/],
    [base([ok], { dead_letter: { table: 'db.a' } }), /^config: dead_letter\.table: 'db\.a' is also a table of tables:/],
    [{ source: { stream: 's', application: 'app' }, tables: [ok] }, /routing with source\.application \(leases\) is not supported yet/],
    [{ source: { type: 'kafka', kafka: { brokers: ['127.0.0.1:9092'], topics: ['t'], group_id: 'g' } }, tables: [ok] }, /routing with a Kafka source is not supported yet/],
  ];
  for (const [raw, pattern] of bad) {
    assert.throws(() => validateConfig(raw), (e: Error) => e.name === 'ValidationError' && pattern.test(e.message), `${JSON.stringify(raw)} → ${pattern}`);
  }
});
