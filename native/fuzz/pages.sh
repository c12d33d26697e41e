#!/usr/bin/env bash
# Fuzzes native/records_page.c (GetRecords bodies) under AddressSanitizer + UndefinedBehaviorSanitizer (gcc).
#   native/fuzz/pages.sh [iterations]
set -euo pipefail
cd "$(dirname "$0")"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The N-API glue is compiled but never called here: its symbols stay unresolved.
gcc -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -ffp-contract=off \
  -I"$(node -p "require('path').join(process.execPath, '../../include/node')")" \
  -no-pie -Wl,-z,lazy -Wl,--unresolved-symbols=ignore-all pages_fuzz.c -o "$out/pages_fuzz" -lm
ASAN_OPTIONS=detect_leaks=1 "$out/pages_fuzz" "${1:-200000}"
