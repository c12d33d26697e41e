/**
 * The GetRecords body reader (native/records_page.c) under AddressSanitizer and UBSan:
 * native/fuzz/pages.sh builds a harness around the same C file and reads 150,000 generated and
 * mutated bodies, each in a buffer of exactly its size, into arrays of exactly the sizes the
 * JavaScript side gives (a read past a body, a write past an array, signed overflow… stop it),
 * and, where the CPU has AVX2, reads every body with and without the vector base64 decoder and
 * requires the same result.
 * Skipped, saying so, where gcc or its sanitizer runtimes are missing.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const script = fileURLToPath(new URL('../../../native/fuzz/pages.sh', import.meta.url));

function sanitizersAvailable(): string | undefined {
  const probe = spawnSync('sh', ['-c', 'echo "int main(void){return 0;}" | gcc -x c -fsanitize=address,undefined -o /dev/null -'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `gcc with AddressSanitizer/UBSan is not available here (${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]})`;
}

const missing = sanitizersAvailable();

test('native GetRecords reader: 150,000 fuzzed bodies under ASan and UBSan touch no memory they do not own', { skip: missing, timeout: 120_000 }, () => {
  const run = spawnSync(script, ['150000'], { encoding: 'utf8' });
  assert.equal(run.status, 0, `native/fuzz/pages.sh failed:\n${run.stdout}\n${run.stderr.slice(0, 4000)}`);
  const m = /pages_fuzz: (\d+) inputs, (\d+) read, (\d+) records/.exec(run.stdout);
  assert.ok(m, `unexpected output: ${run.stdout}`);
  // Not vacuous: many bodies and records were read (the rest declined).
  assert.ok(Number(m[2]) > 20_000 && Number(m[3]) > 100_000, run.stdout);
  // Where the CPU has AVX2, every body read was read both ways (vector and scalar base64) alike.
  const both = /AVX2 base64 (on|not available), (\d+) read bodies compared both ways/.exec(run.stdout);
  assert.ok(both, `unexpected output: ${run.stdout}`);
  if (both[1] === 'on') assert.equal(Number(both[2]), Number(m[2]), run.stdout);
});
