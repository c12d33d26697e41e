/**
 * Directories the CLI creates from a user's path fail at once where they cannot exist: Node 20's
 * `mkdir(…, { recursive: true })` never returns under /proc (`/proc/x` is ENOENT, `/proc` EEXIST,
 * and libuv walks up and down forever), so `floe quickstart --warehouse /proc/x` and
 * `floe local --data /proc/x` hung silently. Each runs in a child process, killed after 30 s.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { killStrayCliProcesses, runCliProcess } from './spawn.js';

const cases: Array<{ argv: string[]; message: RegExp }> = [
  {
    argv: ['quickstart', '--warehouse', '/proc/floe-quickstart-x'],
    message: /quickstart: --warehouse: cannot create directory \/proc\/floe-quickstart-x\/\.kinesis \(at \/proc\/floe-quickstart-x\): ENOENT/,
  },
  {
    argv: ['local', '--data', '/proc/floe-local-x/data', '--port', '0'],
    message: /local: --data: cannot create directory \/proc\/floe-local-x\/data \(at \/proc\/floe-local-x\): ENOENT/,
  },
];

describe('directories under /proc fail fast', { skip: existsSync('/proc/self') ? false : 'no /proc on this system' }, () => {
  after(killStrayCliProcesses);
  for (const { argv, message } of cases) {
    test(`floe ${argv.join(' ')} exits 1 within seconds`, async () => {
      const t0 = Date.now();
      const r = await runCliProcess(argv, { timeoutMs: 30_000 });
      assert.equal(r.signal, null, `killed after 30 s: the command hung; stderr: ${r.stderr}`);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    });
  }
});
