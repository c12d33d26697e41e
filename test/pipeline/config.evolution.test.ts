/**
 * The config keys of tables that change (issue #17): `table.evolve`, `transform.unmapped`,
 * `transform.max_new_columns`, `transform.max_columns`: defaults, and errors naming the key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateConfig } from '../../src/pipeline/config.js';

const base = (table: Record<string, unknown> = {}, transform: Record<string, unknown> = {}) => ({
  source: { stream: 's' },
  table: { name: 'db.t', ...table },
  transform: { columns: { a: 'string' }, ...transform },
});

test('defaults: evolve true, unmapped ignore, no cap given', () => {
  const c = validateConfig(base());
  assert.equal(c.table.evolve, true);
  assert.equal(c.transform.unmapped, 'ignore');
  assert.equal(c.transform.maxNewColumns, undefined);
});

test('given values are kept', () => {
  const c = validateConfig(base({ evolve: false }, { unmapped: 'add_columns', max_new_columns: 7, max_columns: 300 }));
  assert.equal(c.transform.maxColumns, 300);
  assert.equal(c.table.evolve, false);
  assert.equal(c.transform.unmapped, 'add_columns');
  assert.equal(c.transform.maxNewColumns, 7);
  assert.equal(validateConfig(base({}, { unmapped: 'dead_letter' })).transform.unmapped, 'dead_letter');
});

test('bad values are errors naming the key', () => {
  assert.throws(() => validateConfig(base({ evolve: 'yes' })), { message: 'config: table.evolve: must be true or false' });
  assert.throws(() => validateConfig(base({}, { unmapped: 'add' })), {
    message: "config: transform.unmapped: must be ignore, add_columns, dead_letter, got 'add'",
  });
  assert.throws(() => validateConfig(base({}, { unmapped: 'add_columns', max_new_columns: 0 })), /^ValidationError: config: transform\.max_new_columns: must be a positive integer, got 0$/);
  assert.throws(() => validateConfig(base({}, { max_new_columns: 5 })), {
    message: 'config: transform.max_new_columns: only used with transform.unmapped: add_columns (unmapped is ignore)',
  });
  assert.throws(() => validateConfig(base({}, { unmapped: 'dead_letter', max_columns: 5 })), {
    message: 'config: transform.max_columns: only used with transform.unmapped: add_columns (unmapped is dead_letter)',
  });
  assert.throws(() => validateConfig(base({}, { unmapped: 'add_columns', max_columns: 1.5 })), /^ValidationError: config: transform\.max_columns: must be a positive integer, got 1\.5$/);
});
