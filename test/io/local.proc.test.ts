/**
 * LocalFileIO.write creates the missing directories of a location without Node 20's recursive
 * mkdir, which never returns under /proc (it blocked a libuv threadpool thread for good, so a
 * table writing there hung). The write runs in a child process, killed after 30 s, so a hang
 * fails this test instead of the whole run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

/** Runs `code` (an ES module) in a child Node with this tree's sources (tsx) or the compiled build. */
async function runModule(code: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; stdout: string }> {
  const compiled = fileURLToPath(import.meta.url).endsWith('.js');
  const loader = compiled ? [] : ['--import', import.meta.resolve('tsx')];
  const child = spawn(process.execPath, [...loader, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [exit, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  return { code: exit, signal, stderr, stdout };
}

describe('LocalFileIO under /proc', { skip: existsSync('/proc/self') ? false : 'no /proc on this system' }, () => {
  test('write to file:///proc/x/… fails within seconds naming the directory', async () => {
    const local = new URL('../../src/io/local.js', import.meta.url).href;
    const errors = new URL('../../src/errors.js', import.meta.url).href;
    const t0 = Date.now();
    const r = await runModule(`
      const { LocalFileIO } = await import(${JSON.stringify(local)});
      const { ValidationError } = await import(${JSON.stringify(errors)});
      try {
        await new LocalFileIO().write('file:///proc/floe-io-x/db/t/metadata/00001.metadata.json', new Uint8Array([123, 125]));
        console.log('written');
      } catch (e) {
        console.log(JSON.stringify({ validation: e instanceof ValidationError, message: e.message }));
      }
    `);
    assert.equal(r.signal, null, `killed after 30 s: the write hung; stderr: ${r.stderr}`);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { validation: boolean; message: string };
    assert.equal(out.validation, true);
    assert.match(
      out.message,
      /^io: file:\/\/\/proc\/floe-io-x\/db\/t\/metadata\/00001\.metadata\.json: cannot create directory \/proc\/floe-io-x\/db\/t\/metadata \(at \/proc\/floe-io-x\): ENOENT/,
    );
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
  });
});
