#!/usr/bin/env bash
# Runs every test file on the embedded PGlite, then again on Postgres when
# DATABASE_URL is set (CI sets it), so each storage path is proven the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
run() { node --import tsx --test --test-concurrency=2 "${files[@]}"; }
echo "== ${#files[@]} test files on PGlite (embedded)"
env -u DATABASE_URL bash -c "$(declare -f run); declare -a files=($(printf '%q ' "${files[@]}")); run"
if [ -n "${DATABASE_URL:-}" ]; then
  echo "== the same files on Postgres (${DATABASE_URL%%\?*})"
  run
fi
