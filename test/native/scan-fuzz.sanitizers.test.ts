/**
 * The native scanner (native/record_scan.c) under AddressSanitizer and UndefinedBehaviorSanitizer:
 * native/fuzz/run.sh builds a harness around the same C file and scans 300,000 random and mutated
 * records, each in a buffer of exactly its size, into row and stage arrays of exactly their sizes
 * (a read past a record, a write past a stage or a column's region, signed overflow… stop it).
 * Skipped, saying so, where gcc or its sanitizer runtimes are missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const script = fileURLToPath(new URL('../../../native/fuzz/run.sh', import.meta.url));

function sanitizersAvailable(): string | undefined {
  const probe = spawnSync('sh', ['-c', 'echo "int main(void){return 0;}" | gcc -x c -fsanitize=address,undefined -o /dev/null -'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `gcc with AddressSanitizer/UBSan is not available here (${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]})`;
}

const missing = sanitizersAvailable();

test('native scanner: 300,000 fuzzed records under ASan and UBSan touch no memory they do not own', { skip: missing, timeout: 120_000 }, () => {
  const run = spawnSync(script, ['300000'], { encoding: 'utf8' });
  assert.equal(run.status, 0, `native/fuzz/run.sh failed:\n${run.stdout}\n${run.stderr.slice(0, 4000)}`);
  const m = /scan_fuzz: (\d+) inputs, (\d+) read by the fast path, (\d+) staged, (\d+) full stages/.exec(run.stdout);
  assert.ok(m, `unexpected output: ${run.stdout}`);
  // Not vacuous: many records were read and staged, and the stage filled many times.
  assert.ok(Number(m[2]) > 20_000 && Number(m[3]) === Number(m[2]) && Number(m[4]) > 2_000, run.stdout);
});
