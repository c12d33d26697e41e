/**
 * The `metrics` section of a `floe run` config: off unless given, `port` required, `host`
 * defaulting to loopback, `ready_commit_age` defaulting to 10 × commit.interval (at least 30 s);
 * every error names the key.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateConfig } from '../../src/pipeline/config.js';
import { repoRoot } from '../helpers/shared.js';

const base = {
  source: { stream: 'events' },
  table: { name: 'db.events' },
  transform: { columns: { id: 'string' } },
};

test('metrics: absent or false is off; a mapping gets its defaults', () => {
  assert.equal(validateConfig(base).metrics, undefined);
  assert.equal(validateConfig({ ...base, metrics: false }).metrics, undefined);
  assert.deepEqual(validateConfig({ ...base, metrics: { port: 9464 } }).metrics, { port: 9464, host: '127.0.0.1', readyCommitAgeMs: 30_000 });
  assert.deepEqual(validateConfig({ ...base, commit: { interval: '10s' }, metrics: { port: '9464', host: '0.0.0.0' } }).metrics, {
    port: 9464,
    host: '0.0.0.0',
    readyCommitAgeMs: 100_000,
  });
  assert.equal(validateConfig({ ...base, metrics: { port: 0, ready_commit_age: '2m' } }).metrics?.readyCommitAgeMs, 120_000);
});

test('metrics: bad values name the key', () => {
  const cases: [unknown, RegExp][] = [
    [{}, /^config: metrics\.port: required/],
    [{ port: 65536 }, /^config: metrics\.port: must be a port number 0-65535, got 65536$/],
    [{ port: -1 }, /^config: metrics\.port: must be a port number/],
    [{ port: '80; rm -rf /' }, /^config: metrics\.port: must be a port number/],
    [{ port: 1.5 }, /^config: metrics\.port: must be a port number/],
    [{ port: 9464, host: '' }, /^config: metrics\.host: must be a host name or address/],
    [{ port: 9464, path: '/m' }, /^config: metrics\.path: unknown key \(allowed: port, host, ready_commit_age\)$/],
    [{ port: 9464, ready_commit_age: 'soon' }, /^config: metrics\.ready_commit_age: invalid duration "soon"/],
    [9464, /^config: metrics: must be a mapping/],
    [true, /^config: metrics: must be a mapping/],
  ];
  for (const [metrics, message] of cases) {
    assert.throws(() => validateConfig({ ...base, metrics }), { message }, JSON.stringify(metrics));
  }
});

test('metrics: the README documents each key with its default', () => {
  const readme = readFileSync(join(repoRoot(), 'README.md'), 'utf8');
  assert.match(readme, /^\| `metrics\.port` \| off \|/m);
  assert.match(readme, /^\| `metrics\.host` \| `127\.0\.0\.1` \|/m);
  assert.match(readme, /^\| `metrics\.ready_commit_age` \| 10 × `commit\.interval`, at least `30s` \|/m);
  assert.equal(validateConfig({ ...base, metrics: { port: 1 } }).metrics?.host, '127.0.0.1');
  assert.equal(validateConfig({ ...base, commit: { interval: '2s' }, metrics: { port: 1 } }).metrics?.readyCommitAgeMs, 30_000);
  assert.equal(validateConfig({ ...base, commit: { interval: '5s' }, metrics: { port: 1 } }).metrics?.readyCommitAgeMs, 50_000);
});
