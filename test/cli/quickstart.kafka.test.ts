/**
 * `floe quickstart --source kafka` as a process: the local twin (Kafka mock cluster through kcat,
 * s3rver, floe's REST catalog server, the pipeline, 10 reference events, the reference query)
 * ends with exit 0 and the 10 rows, with no S3 credentials in its environment (only those the
 * REST catalog vends); without kcat it says so in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_KCAT } from '../source/kafka-mock.js';
import { childEnv, spawnCli } from './spawn.js';

test('floe quickstart --source kafka: Kafka → floe → REST catalog → S3, 10 events queried', { skip: SKIP_NO_KCAT, timeout: 90_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-qs-kafka-'));
  try {
    // No S3 credentials of the process's own: the pipeline and the query reach s3rver only with
    // the credentials the REST catalog vends with the table (commits and reloads included).
    const env = childEnv({ AWS_EC2_METADATA_DISABLED: 'true', AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_CONFIG_FILE: join(dir, 'none') });
    delete env.AWS_ACCESS_KEY_ID;
    delete env.AWS_SECRET_ACCESS_KEY;
    const p = spawnCli(['quickstart', '--source', 'kafka'], { env, cwd: dir });
    const end = await p.exited;
    assert.deepEqual(end, { code: 0, signal: null }, p.stderr());
    assert.doesNotMatch(p.stderr(), /Could not load credentials/);
    assert.match(p.stderr(), /Kafka mock cluster \(kcat\) on 127\.0\.0\.1:\d+/);
    assert.match(p.stderr(), /REST catalog \(floe catalog serve\) on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(p.stderr(), /s3rver\) on http:\/\/127\.0\.0\.1:\d+/);
    assert.match(p.stdout(), /\(10 rows\)/);
    assert.equal(p.stdout().match(/^evt_\d+_\d \|/gm)?.length, 10);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('floe quickstart --source kafka without kcat: one line naming kcat and how to install it', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'floe-qs-nokcat-'));
  try {
    // A PATH without kcat (node itself is started by its absolute path).
    const p = spawnCli(['quickstart', '--source', 'kafka'], { env: childEnv({ PATH: dir }), cwd: dir });
    const end = await p.exited;
    assert.notEqual(end.code, 0);
    const lines = p.stderr().trim().split('\n');
    assert.equal(lines.length, 1, p.stderr());
    assert.match(lines[0]!, /kcat/);
    assert.match(lines[0]!, /apt-get install kcat/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
