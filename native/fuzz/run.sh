#!/usr/bin/env bash
# Fuzzes native/record_scan.c under AddressSanitizer + UndefinedBehaviorSanitizer (gcc).
#   native/fuzz/run.sh [iterations]
set -euo pipefail
cd "$(dirname "$0")"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The N-API glue is compiled but never called here: its symbols stay unresolved.
gcc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -ffp-contract=off \
  -I"$(node -p "require('path').join(process.execPath, '../../include/node')")" \
  -no-pie -Wl,-z,lazy -Wl,--unresolved-symbols=ignore-all scan_fuzz.c -o "$out/scan_fuzz" -lm
# The harness keeps its one scanner to the end: leaks are not what it looks for.
ASAN_OPTIONS=detect_leaks=0 "$out/scan_fuzz" "${1:-2000000}"
